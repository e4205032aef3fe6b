/*
 * Backend selection from the environment (DBR_SERVER, DBR_AUTHFILE). The backend is chosen once per process,
 * so each case runs in a child process.
 */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

/* Runs fn in a child with DBR_SERVER / DBR_AUTHFILE set; returns its exit status (0 = all checks passed). */
static int in_child(const char *server, const char *authfile, void (*fn)(void))
{
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (server) setenv("DBR_SERVER", server, 1); else unsetenv("DBR_SERVER");
    if (authfile) setenv("DBR_AUTHFILE", authfile, 1); else unsetenv("DBR_AUTHFILE");
    check_passed_ = check_failed_ = 0;
    fn();
    fflush(stdout);
    fflush(stderr);
    _exit(check_failed_ ? 1 : 0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void expect_mem(void)
{
  CHECK_STR(dbrxBackend(), "mem");
  DBR_Handle_t h = dbrCreate("env", 0, NULL);
  CHECK(h != NULL);
  CHECK_EQ(dbrPut(h, "v", 1, "k", NULL), DBR_SUCCESS);
}

static void expect_invalid(void)
{
  CHECK_STR(dbrxBackend(), "error");
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  CHECK(strstr(dbrxLastError(), "DBR_SERVER") != NULL);
  /* every call reports it, and nothing crashes */
  CHECK(dbrCreate("env", 0, NULL) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  CHECK_EQ(dbrPut((DBR_Handle_t)(uintptr_t)0x10000, "v", 1, "k", NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrDelete("env"), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutAsync(NULL, NULL, "v", 1, "k"), DB_TAG_ERROR);
  char name[DBR_MAX_KEY_LEN + 1];
  CHECK(dbrIterator(NULL, NULL, NULL, "*", name) == NULL);
  CHECK_STR(dbrxBackend(), "error");
}

static void expect_nofile(void)
{
  CHECK_STR(dbrxBackend(), "error");
  DBR_Errorcode_t code = dbrxLastErrorCode();
  /* NOFILE when built with Redis support (the password file is read first), else NOTIMPL */
  CHECK(code == DBR_ERR_NOFILE || code == DBR_ERR_NOTIMPL);
  if (code == DBR_ERR_NOFILE) CHECK(strstr(dbrxLastError(), "DBR_AUTHFILE") != NULL);
  if (code == DBR_ERR_NOTIMPL) CHECK(strstr(dbrxLastError(), "without Redis support") != NULL);
}

static void expect_unreachable(void)
{
  const char *b = dbrxBackend();
  CHECK_STR(b, "error");
  DBR_Errorcode_t code = dbrxLastErrorCode();
  CHECK(code == DBR_ERR_NOCONNECT || code == DBR_ERR_NOTIMPL || code == DBR_ERR_TIMEOUT);
  CHECK(dbrAttach("env") == NULL);
}

int main(void)
{
  CHECK_EQ(in_child(NULL, NULL, expect_mem), 0);
  CHECK_EQ(in_child("", NULL, expect_mem), 0);
  CHECK_EQ(in_child("mem://", NULL, expect_mem), 0);
  CHECK_EQ(in_child("bogus://x", NULL, expect_invalid), 0);
  CHECK_EQ(in_child("sock://", NULL, expect_invalid), 0);
  CHECK_EQ(in_child("redis", NULL, expect_invalid), 0);
  CHECK_EQ(in_child("sock://127.0.0.1:1", "/nonexistent/dbr-auth", expect_nofile), 0);
  CHECK_EQ(in_child("redis://127.0.0.1:1", NULL, expect_unreachable), 0);
  return CHECK_DONE();
}
