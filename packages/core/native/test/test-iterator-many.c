/*
 * dbrxIteratorNextMany: many names per call, on the memory backend, a Redis node and a 3-master cluster
 * (each in a process of its own, since libdbr serves one backend per process). Every name is walked once,
 * max and the buffer bound each call, a 1023-byte name fits the smallest buffer allowed, walks continue with
 * dbrIterator, and bad arguments are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

enum { N = 2500 };

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char g_long[DBR_MAX_KEY_LEN + 1];

/* The names put: "a<i>" and "b<i>", and one of DBR_MAX_KEY_LEN bytes. */
static void put_names(DBR_Handle_t h)
{
  char name[32];
  for (int i = 0; i < N; i++) {
    snprintf(name, sizeof name, "%c%d", i % 2 ? 'b' : 'a', i);
    CHECK_EQ(dbrPut(h, "v", 1, name, NULL), DBR_SUCCESS);
  }
  memset(g_long, 'L', DBR_MAX_KEY_LEN);
  g_long[DBR_MAX_KEY_LEN] = '\0';
  CHECK_EQ(dbrPut(h, "v", 1, g_long, NULL), DBR_SUCCESS);
}

/* Walks with NextMany; returns the number of distinct names, checking each call's bounds. */
static int walk(DBR_Handle_t h, const char *tmpl, unsigned max, size_t size, int *calls)
{
  char *buf = malloc(size);
  char **names = calloc(N + 16, sizeof *names);
  int n = 0;
  *calls = 0;
  DBR_Iterator_t it = DBR_ITERATOR_NEW;
  do {
    unsigned got = 99999;
    DBR_Errorcode_t rc = dbrxIteratorNextMany(h, &it, tmpl, max, buf, size, &got);
    CHECK_EQ(rc, DBR_SUCCESS);
    if (rc != DBR_SUCCESS) break;
    (*calls)++;
    CHECK(max == 0 || got <= max);
    unsigned seen = 0;
    for (char *p = buf, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
      *nl = '\0';
      if (n < N + 16) names[n++] = strdup(p);
      seen++;
    }
    CHECK_EQ(seen, got);
  } while (it != DBR_ITERATOR_DONE);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  int distinct = 0;
  for (int i = 0; i < n; i++)
    if (i == 0 || strcmp(names[i], names[i - 1]) != 0) distinct++;
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  free(buf);
  return distinct;
}

static int body(void)
{
  DBR_Handle_t h = dbrCreate("itm", 0, NULL);
  CHECK(h != NULL);
  DBR_Handle_t other = dbrCreate("itm-other", 0, NULL);
  CHECK(other != NULL);
  put_names(h);
  printf("backend %s\n", dbrxBackend());

  int calls;
  CHECK_EQ(walk(h, "*", 100, 64 * 1024, &calls), N + 1);
  CHECK(calls >= (N + 1) / 100);
  CHECK_EQ(walk(h, NULL, 0, 64 * 1024, &calls), N + 1); /* no max: the buffer bounds a call */
  CHECK_EQ(walk(h, "a*", 0, 64 * 1024, &calls), N / 2);
  CHECK_EQ(walk(h, "L*", 0, DBR_MAX_KEY_LEN + 2, &calls), 1); /* the longest name fits the smallest buffer */
  CHECK_EQ(walk(h, "b1*", 0, DBR_MAX_KEY_LEN + 2, &calls), 1 + 5 + 50 + 500);
  CHECK_EQ(walk(h, "nothing*", 0, 4096, &calls), 0);
  CHECK_EQ(calls, 1);

  /* a walk started here continues with dbrIterator, and an unfinished one is freed */
  char buf[4096], name[DBR_MAX_KEY_LEN + 1];
  unsigned got = 0;
  DBR_Iterator_t it = DBR_ITERATOR_NEW;
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "a*", 10, buf, sizeof buf, &got), DBR_SUCCESS);
  CHECK_EQ(got, 10);
  int rest = 0;
  while ((it = dbrIterator(h, it, NULL, NULL, name)) != DBR_ITERATOR_DONE) rest++;
  CHECK_EQ(10 + rest, N / 2);
  it = DBR_ITERATOR_NEW;
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 5, buf, sizeof buf, &got), DBR_SUCCESS);
  CHECK(it != DBR_ITERATOR_DONE);
  CHECK_EQ(dbrxIteratorFree(it), DBR_SUCCESS);
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 5, buf, sizeof buf, &got), DBR_ERR_ITERATOR); /* freed */
  CHECK(it == DBR_ITERATOR_DONE);

  /* bad arguments */
  it = DBR_ITERATOR_NEW;
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 0, buf, DBR_MAX_KEY_LEN + 1, &got), DBR_ERR_UBUFFER);
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 0, NULL, 4096, &got), DBR_ERR_UBUFFER);
  CHECK_EQ(dbrxIteratorNextMany(h, NULL, "*", 0, buf, sizeof buf, &got), DBR_ERR_INVALID);
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 0, buf, sizeof buf, NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrxIteratorNextMany(NULL, &it, "*", 0, buf, sizeof buf, &got), DBR_ERR_HANDLE);
  CHECK(it == DBR_ITERATOR_DONE);
  CHECK_EQ(dbrxIteratorNextMany(h, &it, "*", 3, buf, sizeof buf, &got), DBR_SUCCESS);
  CHECK_EQ(dbrxIteratorNextMany(other, &it, "*", 3, buf, sizeof buf, &got), DBR_ERR_ITERATOR); /* another handle */
  CHECK(it == DBR_ITERATOR_DONE);

  CHECK_EQ(dbrDetach(other), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("itm-other"), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("itm"), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  return CHECK_DONE();
}

/* Runs body in a child on the server(s) that `how` starts ("" for the memory backend). */
static int run_on(const char *how)
{
  g_dir[0] = '\0';
  unsetenv("DBR_SERVER");
  unsetenv("DBR_AUTHFILE");
  if (how[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-test-iterator-many.%d.%s", (int)getpid(), how);
    char ports[128];
    int port = 0;
    if (run_script(ports, sizeof ports, "%s 0 %s %s", how, strcmp(how, "single") == 0 ? "-" : "", g_dir) != 0 ||
        sscanf(ports, "%d", &port) != 1) {
      printf("0 passed, 1 failed (could not start redis %s)\n", how);
      run_script(NULL, 0, "stop %s", g_dir);
      return 1;
    }
    char server[64];
    snprintf(server, sizeof server, "sock://127.0.0.1:%d", port);
    setenv("DBR_SERVER", server, 1);
  }
  return supervise(body);
}

int main(void)
{
  int failed = run_on("");
  failed |= run_on("single");
  failed |= run_on("cluster");
  return failed;
}
