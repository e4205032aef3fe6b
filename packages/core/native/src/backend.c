/*
 * Backend selection from the environment:
 *   DBR_SERVER unset, empty or "mem://"      the in-process memory backend
 *   DBR_SERVER=sock://host:port | redis://..  Redis (single node or cluster), password from DBR_AUTHFILE
 * The Redis backend is optional: dbr_backend_redis_open is a weak reference, so libdbr builds and links without
 * it and then reports "built without Redis support".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "util.h"

#pragma weak dbr_backend_redis_open

/* Reads the password file named by DBR_AUTHFILE (trailing newlines trimmed). *out is NULL if unset. */
static DBR_Errorcode_t read_authfile(char **out)
{
  *out = NULL;
  const char *path = getenv("DBR_AUTHFILE");
  if (path == NULL || *path == '\0') return DBR_SUCCESS;
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return dbr_err(DBR_ERR_NOFILE, "cannot read the password file DBR_AUTHFILE=%s: %s; fix the path or unset it",
                   path, strerror(errno));
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad)
    return dbr_err(DBR_ERR_NOFILE, "cannot read the password file DBR_AUTHFILE=%s; check its permissions", path);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
  *out = strdup(buf);
  if (*out == NULL) return dbr_err(DBR_ERR_NOMEMORY, "out of memory reading DBR_AUTHFILE");
  return DBR_SUCCESS;
}

DBR_Errorcode_t dbr_backend_open(dbr_backend_t **out)
{
  *out = NULL;
  const char *server = getenv("DBR_SERVER");
  if (server == NULL || *server == '\0' || strcmp(server, "mem://") == 0) return dbr_backend_mem_open(out);

  const char *hostport = NULL;
  if (strncmp(server, "sock://", 7) == 0)
    hostport = server + 7;
  else if (strncmp(server, "redis://", 8) == 0)
    hostport = server + 8;
  if (hostport == NULL || *hostport == '\0')
    return dbr_err(DBR_ERR_INVALID,
                   "DBR_SERVER=%s is not understood; use mem:// (or leave it unset), sock://host:port or "
                   "redis://host:port",
                   server);
  if (dbr_backend_redis_open == NULL)
    return dbr_err(DBR_ERR_NOTIMPL,
                   "DBR_SERVER=%s asks for Redis, but libdbr was built without Redis support; install "
                   "libhiredis-dev and rebuild, or unset DBR_SERVER to use the in-process memory backend",
                   server);
  char *password = NULL;
  DBR_Errorcode_t rc = read_authfile(&password);
  if (rc != DBR_SUCCESS) return rc;
  rc = dbr_backend_redis_open(out, hostport, password);
  if (password) {
    memset(password, 0, strlen(password));
    free(password);
  }
  return rc;
}
