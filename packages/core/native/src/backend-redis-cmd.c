/*
 * The Redis backend's commands (rcmd_t): a RESP body built argument by argument, the key that routes it,
 * and the "<ns>::<name>" tuple keys of the Data Broker's layout. Built in any thread, sent by the I/O thread
 * (rb_exec in backend-redis.c).
 */
#include <stdlib.h>
#include <string.h>
#include "redis-backend.h"

rcmd_t *rcmd_new(rbe_t *be, int script)
{
  rcmd_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->be = be;
  c->script = script;
  c->node = -1;
  c->master = -1;
  c->ask_node = -1;
  return c;
}

void rcmd_free(rcmd_t *c)
{
  if (!c) return;
  rbuf_free(&c->body);
  free(c->key);
  free(c);
}

void rcmd_arg(rcmd_t *c, const void *data, size_t len)
{
  resp_arg(&c->body, data, len);
  c->argc++;
}

void rcmd_arg_str(rcmd_t *c, const char *s)
{
  rcmd_arg(c, s, strlen(s));
}

void rcmd_arg_int(rcmd_t *c, long long v)
{
  resp_arg_int(&c->body, v);
  c->argc++;
}

int rcmd_key(rcmd_t *c, const void *key, size_t len, int also_arg)
{
  free(c->key);
  c->key = malloc(len + 1);
  if (!c->key) {
    c->body.oom = 1;
    return -1;
  }
  memcpy(c->key, key, len);
  c->key[len] = '\0';
  c->keylen = len;
  if (also_arg) rcmd_arg(c, key, len);
  return 0;
}

char *rb_join_key(const char *prefix, size_t plen, const char *name, size_t *len)
{
  size_t nl = strlen(name);
  char *k = malloc(plen + 2 + nl + 1);
  if (!k) return NULL;
  memcpy(k, prefix, plen);
  memcpy(k + plen, "::", 2);
  memcpy(k + plen + 2, name, nl + 1);
  *len = plen + 2 + nl;
  return k;
}

char *tuple_key(const dbr_ns_t *ns, const char *name, size_t *len)
{
  return rb_join_key(ns->name, ns->len, name, len);
}

/* Small commands are built with no reallocation: most requests are made in the application's thread and
 * freed in the I/O thread, so each allocation there takes malloc's slow path. */
#define RCMD_BODY_START 256

rcmd_t *rb_tuple_cmd(rbe_t *be, const char *verb, const dbr_ns_t *ns, const char *name)
{
  size_t kl;
  char *key = tuple_key(ns, name, &kl);
  rcmd_t *cmd = key ? rcmd_new(be, -1) : NULL;
  if (!cmd) {
    free(key);
    return NULL;
  }
  rbuf_reserve(&cmd->body, RCMD_BODY_START);
  rcmd_arg_str(cmd, verb);
  cmd->key = key; /* handed over, not copied */
  cmd->keylen = kl;
  rcmd_arg(cmd, key, kl);
  return cmd;
}
