/*
 * The first waiters of a node block on the server (backend-redis-block.c): an asynchronous get or move-value
 * that must wait is served by BLPOP / BLMOVE on a pooled connection, a put wakes it without a notification,
 * and no value is ever lost or duplicated:
 *   - a cancel or timeout ends the wait within a slice, completing with CANCELLED / TIMEOUT or with the value
 *     that came first (never both: the value is then no longer in the list);
 *   - a closed queue's waiter gives back what its pop took;
 *   - CLIENT PAUSE (a failover) holding the pop does not make a cancel lose or duplicate a value, and does
 *     not crash the server (CLIENT UNBLOCK would on Redis 7.0);
 *   - a wait longer than BLOCK_MAX moves to notifications and frees its connection;
 *   - at most DBR_BLOCKING_POOL blocking connections per node; DBR_BLOCKING_POOL=0 turns the path off;
 *   - WRONGTYPE and a deleted namespace end the wait with their error.
 * Which path served a request is read from the server: CLIENT LIST (cmd=blpop / blmove) and INFO commandstats.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

static int g_port;
static redisContext *g_rc;

#define rq_int(...) rc_int(g_rc, __VA_ARGS__)

/* Our connections (CLIENT LIST names libdbr-<pid>-...) blocked in `cmd` ("" for all of them, blocked or not). */
static int our_connections(const char *cmd)
{
  redisReply *r = redisCommand(g_rc, "CLIENT LIST");
  char mine[64], want[32];
  snprintf(mine, sizeof mine, "name=libdbr-%d-", (int)getpid());
  snprintf(want, sizeof want, " cmd=%s ", cmd);
  int n = 0;
  if (r && r->type == REDIS_REPLY_STRING)
    for (char *line = strtok(r->str, "\n"); line; line = strtok(NULL, "\n"))
      n += strstr(line, mine) && (!cmd[0] || (strstr(line, want) && strstr(line, " flags=b ")));
  if (r) freeReplyObject(r);
  return n;
}

/* Waits (up to 2 s) until at least n of our connections block in cmd. */
static int blocked_in(const char *cmd, int n)
{
  for (int i = 0; i < 400; i++) {
    if (our_connections(cmd) >= n) return 1;
    sleep_ms(5);
  }
  return 0;
}

static long long calls(const char *cmd)
{
  redisReply *r = redisCommand(g_rc, "INFO commandstats");
  char key[64];
  snprintf(key, sizeof key, "cmdstat_%s:calls=", cmd);
  const char *at = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, key) : NULL;
  long long v = at ? strtoll(at + strlen(key), NULL, 10) : 0;
  if (r) freeReplyObject(r);
  return v;
}

static void test_served_by_a_blocking_pop(DBR_Handle_t h, dbrx_queue_t *q)
{
  DBR_Tag_t warm = dbrxGetAsync(q, h, "warm", NULL, 0, 400); /* the first waiter opens the pool */
  char out[64];
  int64_t size = sizeof out;
  CHECK_EQ(take(warm, out, &size), DBR_ERR_TIMEOUT);

  long long lpops = calls("lpop"), blpops = calls("blpop");
  DBR_Tag_t t = dbrxGetAsync(q, h, "a", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK(blocked_in("blpop", 1));
  double t0 = now_ms();
  CHECK_EQ(rq_int("RPUSH blk::a v1"), 1);
  size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_SUCCESS);
  printf("blocking get woken %.2f ms after a put from another client\n", now_ms() - t0);
  CHECK_MEM(out, "v1", 2);
  CHECK_EQ(calls("lpop"), lpops); /* no notification round: the BLPOP took it */
  CHECK(calls("blpop") > blpops);
  CHECK_EQ(rq_int("EXISTS blk::a"), 0);

  /* a value already there: the blocking pop returns it at once */
  CHECK_EQ(dbrPut(h, "v2", 2, "a", NULL), DBR_SUCCESS);
  t = dbrxGetAsync(q, h, "a", NULL, 0, DBRX_TIMEOUT_INFINITE);
  size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "v2", 2);

  /* move-value: BLMOVE, source head to destination tail */
  CHECK_EQ(dbrPut(h, "old", 3, "done{m}", NULL), DBR_SUCCESS);
  t = dbrxMoveValueAsync(q, h, "todo{m}", h, "done{m}", 0, DBRX_TIMEOUT_INFINITE);
  CHECK(blocked_in("blmove", 1));
  CHECK_EQ(rq_int("RPUSH blk::todo{m} task"), 1);
  size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "task", 4);
  CHECK_EQ(rq_int("LLEN blk::todo{m}"), 0);
  CHECK_EQ(rq_int("LLEN blk::done{m}"), 2);
  redisReply *r = redisCommand(g_rc, "LINDEX blk::done{m} -1");
  CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "task") == 0);
  if (r) freeReplyObject(r);
}

/* After a cancel the tag completes within a slice: CANCELLED with the value left in the list, or the value. */
static void test_cancel_conserves(DBR_Handle_t h, dbrx_queue_t *q)
{
  DBR_Tag_t t = dbrxGetAsync(q, h, "c", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK(blocked_in("blpop", 1));
  double t0 = now_ms();
  DBR_Errorcode_t rc = dbrCancel(t);
  CHECK(rc == DBR_SUCCESS || rc == DBR_ERR_INVALIDOP);
  char out[64];
  int64_t size = sizeof out;
  if (rc == DBR_ERR_INVALIDOP) CHECK_EQ(take(t, out, &size), DBR_ERR_CANCELLED);
  double ms = now_ms() - t0;
  printf("cancel of a blocked get completed in %.1f ms\n", ms);
  CHECK(ms < 1000);
  CHECK_EQ(dbrPut(h, "kept", 4, "c", NULL), DBR_SUCCESS);
  sleep_ms(250);
  CHECK_EQ(rq_int("LLEN blk::c"), 1);

  /* cancels racing puts: every value is delivered to exactly one place */
  enum { N = 200 };
  int delivered = 0;
  for (int i = 0; i < N; i++) {
    DBR_Tag_t tag = dbrxGetAsync(q, h, "race", NULL, 0, DBRX_TIMEOUT_INFINITE);
    if (i % 4 == 0) sleep_ms(1);
    CHECK_EQ(dbrPut(h, "v", 1, "race", NULL), DBR_SUCCESS);
    if (i % 3 == 0) usleep(100);
    if (dbrCancel(tag) != DBR_SUCCESS) {
      size = sizeof out;
      rc = take(tag, out, &size);
      CHECK(rc == DBR_SUCCESS || rc == DBR_ERR_CANCELLED);
      delivered += rc == DBR_SUCCESS;
    }
  }
  sleep_ms(300); /* give-backs in flight */
  long long left = rq_int("LLEN blk::race");
  printf("cancels racing puts: %d delivered, %lld left in the list, of %d\n", delivered, left, N);
  CHECK_EQ(delivered + left, N);
  rq_int("DEL blk::race");
}

static void test_timeout(DBR_Handle_t h, dbrx_queue_t *q)
{
  double t0 = now_ms();
  DBR_Tag_t t = dbrxGetAsync(q, h, "t", NULL, 0, 300);
  CHECK(blocked_in("blpop", 1));
  char out[64];
  int64_t size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_ERR_TIMEOUT);
  double ms = now_ms() - t0;
  printf("blocked get with a 300 ms timeout: TIMEOUT after %.1f ms\n", ms);
  CHECK(ms >= 290 && ms < 1500);
  CHECK_EQ(dbrPut(h, "after", 5, "t", NULL), DBR_SUCCESS);
  sleep_ms(150);
  CHECK_EQ(rq_int("LLEN blk::t"), 1);
}

/* Nobody will collect: the value the pop of a closed queue's waiter takes goes back. */
static void test_close_gives_back(DBR_Handle_t h)
{
  for (int i = 0; i < 20; i++) {
    dbrx_queue_t *q = dbrxQueueOpen();
    DBR_Tag_t t = dbrxGetAsync(q, h, "e", NULL, 0, DBRX_TIMEOUT_INFINITE);
    CHECK(t > 0);
    CHECK(blocked_in("blpop", 1));
    CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
    if (i % 2) usleep(200 * (useconds_t)i);
    CHECK_EQ(dbrPut(h, "v", 1, "e", NULL), DBR_SUCCESS); /* reaches the abandoned pop, or comes after it */
    long long n = 0;
    for (int k = 0; k < 400 && (n = rq_int("LLEN blk::e")) != 1; k++) sleep_ms(5);
    CHECK_EQ(n, 1);
    rq_int("DEL blk::e");
  }
}

/* CLIENT PAUSE holds the pop (as a failover does): a cancel meanwhile neither loses nor duplicates the value. */
static void test_pause(DBR_Handle_t h, dbrx_queue_t *q)
{
  CHECK_EQ(dbrPut(h, "p1", 2, "p", NULL), DBR_SUCCESS);
  freeReplyObject(redisCommand(g_rc, "CLIENT PAUSE 30000 WRITE"));
  DBR_Tag_t t = dbrxGetAsync(q, h, "p", NULL, 0, DBRX_TIMEOUT_INFINITE);
  sleep_ms(100);
  DBR_Errorcode_t rc = dbrCancel(t);
  sleep_ms(700); /* past the stop's grace: the request is withdrawn while the server still holds its pop */
  freeReplyObject(redisCommand(g_rc, "CLIENT UNPAUSE"));
  char out[64];
  int64_t size = sizeof out;
  DBR_Errorcode_t got = rc == DBR_SUCCESS ? DBR_ERR_CANCELLED : take(t, out, &size);
  CHECK(got == DBR_SUCCESS || got == DBR_ERR_CANCELLED);
  long long n = -1;
  for (int k = 0; k < 400; k++) {
    n = rq_int("LLEN blk::p");
    if (n == (got == DBR_SUCCESS ? 0 : 1)) break;
    sleep_ms(5);
  }
  printf("cancel under CLIENT PAUSE: %s, %lld left in the list\n", got == DBR_SUCCESS ? "value delivered" : "cancelled", n);
  CHECK_EQ(n + (got == DBR_SUCCESS), 1);
  CHECK_EQ(rq_int("DBSIZE") >= 0, 1); /* the server is alive */
  rq_int("DEL blk::p");
}

/* A wait longer than BLOCK_MAX (2 s) frees its connection and waits on notifications. */
static void test_long_wait_moves_to_notifications(DBR_Handle_t h, dbrx_queue_t *q)
{
  DBR_Tag_t t = dbrxGetAsync(q, h, "long", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK(blocked_in("blpop", 1));
  sleep_ms(2600);
  CHECK_EQ(our_connections("blpop"), 0);
  CHECK_EQ(rq_int("RPUSH blk::long late"), 1);
  char out[64];
  int64_t size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "late", 4);
}

/* Many waiters: at most DBR_BLOCKING_POOL (3 here) block on the server; every one is served. */
static void test_pool_is_bounded(DBR_Handle_t h, dbrx_queue_t *q)
{
  enum { N = 12 };
  DBR_Tag_t tags[N];
  for (int round = 0; round < 2; round++) { /* the second round finds the pool open */
    for (int i = 0; i < N; i++) {
      char name[16];
      snprintf(name, sizeof name, "w%d", i);
      tags[i] = dbrxGetAsync(q, h, name, NULL, 0, DBRX_TIMEOUT_INFINITE);
      CHECK(tags[i] > 0);
    }
    sleep_ms(300);
    int blocking = our_connections("blpop");
    CHECK(blocking <= 3);
    if (round == 1) CHECK(blocking >= 1);
    for (int i = 0; i < N; i++) CHECK_EQ(rq_int("RPUSH blk::w%d x%d", i, i), 1);
    for (int i = 0; i < N; i++) {
      char out[16], want[16];
      int64_t size = sizeof out;
      CHECK_EQ(take(tags[i], out, &size), DBR_SUCCESS);
      snprintf(want, sizeof want, "x%d", i);
      CHECK(size == (int64_t)strlen(want) && memcmp(out, want, (size_t)size) == 0);
    }
  }
  CHECK(our_connections("") <= 2 + 3);
}

static void test_errors(DBR_Handle_t h, dbrx_queue_t *q)
{
  /* a blocking pop on a key of another type */
  rq_int("SADD blk::set x");
  DBR_Tag_t t = dbrxGetAsync(q, h, "set", NULL, 0, DBRX_TIMEOUT_INFINITE);
  char out[64];
  int64_t size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_ERR_INVALIDOP);

  /* its namespace deleted by this process while it blocks */
  DBR_Handle_t g = dbrCreate("blk-gone", 0, NULL);
  CHECK(g != NULL);
  t = dbrxGetAsync(q, g, "x", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK(blocked_in("blpop", 1));
  CHECK_EQ(dbrDelete("blk-gone"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(take(t, out, &size), DBR_ERR_NSINVAL);
  dbrDetach(g);
}

static int body(void)
{
  g_rc = rc_open(g_port, NULL);
  freeReplyObject(redisCommand(g_rc, "FLUSHALL"));
  DBR_Handle_t h = dbrCreate("blk", 0, NULL);
  CHECK(h != NULL);
  dbrx_queue_t *q = dbrxQueueOpen();
  test_served_by_a_blocking_pop(h, q);
  test_cancel_conserves(h, q);
  test_timeout(h, q);
  test_close_gives_back(h);
  test_pause(h, q);
  test_long_wait_moves_to_notifications(h, q);
  test_pool_is_bounded(h, q);
  test_errors(h, q);
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
  dbrDetach(h);
  redisFree(g_rc);
  return CHECK_DONE();
}

/* With DBR_BLOCKING_POOL=0 waiters never block on the server. */
static int body_off(void)
{
  g_rc = rc_open(g_port, NULL);
  DBR_Handle_t h = dbrCreate("blk-off", 0, NULL);
  CHECK(h != NULL);
  dbrx_queue_t *q = dbrxQueueOpen();
  long long blpops = calls("blpop");
  for (int i = 0; i < 3; i++) {
    DBR_Tag_t t = dbrxGetAsync(q, h, "k", NULL, 0, DBRX_TIMEOUT_INFINITE);
    sleep_ms(100);
    CHECK_EQ(rq_int("RPUSH blk-off::k v"), 1);
    char out[16];
    int64_t size = sizeof out;
    CHECK_EQ(take(t, out, &size), DBR_SUCCESS);
  }
  CHECK_EQ(calls("blpop"), blpops);
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
  dbrDetach(h);
  dbrDelete("blk-off");
  redisFree(g_rc);
  return CHECK_DONE();
}

int main(void)
{
  if ((g_port = start_single("test-redis-block", "-")) < 0) return 1;
  setenv("DBR_TIMEOUT", "10", 1);
  setenv("DBR_BLOCKING_POOL", "3", 1);
  fflush(NULL);
  pid_t pid = fork(); /* the pool is read when the backend opens: a process per setting */
  if (pid == 0) {
    setenv("DBR_BLOCKING_POOL", "0", 1);
    exit(body_off());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  int off_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  int rc = supervise(body);
  return rc ? rc : off_rc;
}
