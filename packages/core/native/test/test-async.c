/*
 * Waiting and asynchronous requests: blocking calls woken by puts from other threads, timeouts (DBR_TIMEOUT
 * and per call), the A-calls with dbrTest/dbrCancel, waiters woken by moves and batches or failed by a delete.
 * Completion queues with their pipe: test-queue.c.
 * Nothing here measures time tightly: waits have generous bounds, checks are about outcomes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "async-helpers.h"

static void test_blocking(void)
{
  char out[64];
  int64_t size = sizeof out;
  /* get blocks until another thread puts */
  delayed_put_t d = {50, "blk", "hello"};
  pthread_t t = put_later(&d);
  CHECK_EQ(dbrxGet(h, out, &size, "blk", NULL, 0, 10000), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK_MEM(out, "hello", 5);
  pthread_join(t, NULL);
  /* read too, and the value stays */
  delayed_put_t d2 = {50, "blk", "world"};
  t = put_later(&d2);
  size = sizeof out;
  CHECK_EQ(dbrxRead(h, out, &size, "blk", NULL, 0, DBRX_TIMEOUT_INFINITE), DBR_SUCCESS);
  CHECK_MEM(out, "world", 5);
  pthread_join(t, NULL);
  CHECK_EQ(dbrTestKey(h, "blk"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrGet(h, out, &size, "blk", NULL, NULL, 0), DBR_SUCCESS);
  /* a template waiter */
  delayed_put_t d3 = {50, "job:7", "seven"};
  t = put_later(&d3);
  size = sizeof out;
  CHECK_EQ(dbrxGet(h, out, &size, NULL, "job:*", 0, 10000), DBR_SUCCESS);
  CHECK_MEM(out, "seven", 5);
  pthread_join(t, NULL);
  CHECK_EQ(dbrTestKey(h, "job:7"), DBR_ERR_UNAVAIL);
  /* a waiting get whose buffer is too small completes with UBUFFER and leaves the value */
  delayed_put_t d4 = {50, "blk2", "a long value"};
  t = put_later(&d4);
  char small[4];
  size = sizeof small;
  CHECK_EQ(dbrxGet(h, small, &size, "blk2", NULL, 0, 10000), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 12);
  pthread_join(t, NULL);
  CHECK_EQ(dbrTestKey(h, "blk2"), DBR_SUCCESS);
  /* a waiting indexed read is served when the index exists */
  CHECK_EQ(dbrRemove(h, NULL, "blk2", NULL), DBR_SUCCESS);
  CHECK_EQ(put_s("idx", "v0"), DBR_SUCCESS);
  delayed_put_t d5 = {50, "idx", "v1"};
  t = put_later(&d5);
  size = sizeof out;
  CHECK_EQ(dbrxRead(h, out, &size, "idx", NULL, 1 << DBR_FLAGS_INDEX_SHIFT, 10000), DBR_SUCCESS);
  CHECK_MEM(out, "v1", 2);
  pthread_join(t, NULL);
  CHECK_EQ(dbrRemove(h, NULL, "idx", NULL), DBR_SUCCESS);
}

static void test_timeouts(void)
{
  char out[16];
  int64_t size = sizeof out;
  double t0 = now_s();
  CHECK_EQ(dbrGet(h, out, &size, "never", NULL, NULL, DBR_FLAGS_NONE), DBR_ERR_TIMEOUT); /* DBR_TIMEOUT=0.3 */
  double dt = now_s() - t0;
  CHECK(dt >= 0.25);
  CHECK(dt < 5.0);
  CHECK(strstr(dbrxLastError(), "timeout") != NULL);
  t0 = now_s();
  CHECK_EQ(dbrRead(h, out, &size, "never", NULL, NULL, DBR_FLAGS_NONE), DBR_ERR_TIMEOUT);
  CHECK(now_s() - t0 >= 0.25);
  t0 = now_s();
  CHECK_EQ(dbrxGet(h, out, &size, "never", NULL, 0, 50), DBR_ERR_TIMEOUT);
  dt = now_s() - t0;
  CHECK(dt >= 0.04);
  CHECK(dt < 5.0);
  CHECK_EQ(dbrxGet(h, out, &size, "never", NULL, 0, 0), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxGet(h, out, &size, "never", NULL, DBR_FLAGS_NOWAIT, DBRX_TIMEOUT_INFINITE), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxGet(h, out, &size, "never", NULL, 0, -3), DBR_ERR_INVALID);
  /* a timed-out waiter is gone: a later value stays for the next get */
  CHECK_EQ(put_s("never", "late"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrGet(h, out, &size, "never", NULL, NULL, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_MEM(out, "late", 4);
  /* move-value waits like get */
  t0 = now_s();
  CHECK_EQ(dbrxMoveValue(h, "never", h, "x", out, &size, 0, 50), DBR_ERR_TIMEOUT);
  CHECK(now_s() - t0 >= 0.04);
}

/* Polls a tag until it leaves INPROGRESS (bounded). */
static DBR_Errorcode_t wait_tag(DBR_Tag_t tag)
{
  DBR_Errorcode_t rc;
  for (int i = 0; i < 2000 && (rc = dbrTest(tag)) == DBR_ERR_INPROGRESS; i++) sleep_ms(5);
  return rc;
}

/* Times an asynchronous get of an absent name with a timeout of ms (the timer thread ends it). */
static double timed_out_after(int ms)
{
  double t0 = now_s();
  DBR_Tag_t t = dbrxGetAsync(NULL, h, "never", NULL, 0, ms);
  CHECK(t > 0);
  CHECK_EQ(wait_tag(t), DBR_ERR_TIMEOUT); /* collects it */
  return now_s() - t0;
}

/* The timer thread sleeps until the earliest deadline it knew of and is woken only for an earlier one: a
 * deadline before it, or after a stale one (its request completed), must still fire on time. */
static void test_timer_wakes(void)
{
  char out[16];
  int64_t size = sizeof out;
  DBR_Tag_t far = dbrxGetAsync(NULL, h, "far", NULL, 0, 5000);
  CHECK(far > 0);
  double dt = timed_out_after(50); /* earlier than the 5 s the timer sleeps for */
  CHECK(dt >= 0.04);
  CHECK(dt < 1.0);
  CHECK_EQ(put_s("far", "v"), DBR_SUCCESS);
  CHECK_EQ(wait_tag(far), DBR_SUCCESS);
  CHECK_EQ(dbrxTake(far, out, &size), DBR_SUCCESS);

  DBR_Tag_t soon = dbrxGetAsync(NULL, h, "soon", NULL, 0, 100);
  CHECK(soon > 0);
  CHECK_EQ(put_s("soon", "v"), DBR_SUCCESS); /* done: the timer may still sleep until its 100 ms */
  CHECK_EQ(wait_tag(soon), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxTake(soon, out, &size), DBR_SUCCESS);
  dt = timed_out_after(300); /* later than the stale deadline: found when the timer wakes for it */
  CHECK(dt >= 0.28);
  CHECK(dt < 1.5);
}

static void test_a_calls(void)
{
  char out[64];
  int64_t size = sizeof out;
  DBR_Tag_t tag = dbrGetA(h, out, &size, "ag", NULL, NULL);
  CHECK(tag != DB_TAG_ERROR);
  CHECK_EQ(dbrTest(tag), DBR_ERR_INPROGRESS);
  CHECK_EQ(put_s("ag", "value"), DBR_SUCCESS);
  CHECK_EQ(dbrTest(tag), DBR_SUCCESS); /* the put completed it synchronously */
  CHECK_EQ(size, 5);
  CHECK_MEM(out, "value", 5);
  CHECK_EQ(dbrTest(tag), DBR_ERR_TAGERROR); /* released */
  CHECK_EQ(dbrTestKey(h, "ag"), DBR_ERR_UNAVAIL);

  DBR_Tag_t ptag = dbrPutA(h, "abc", 3, "ap", NULL);
  CHECK(ptag != DB_TAG_ERROR);
  CHECK(ptag > tag); /* monotonic */
  CHECK_EQ(wait_tag(ptag), DBR_SUCCESS);
  size = sizeof out;
  DBR_Tag_t rtag = dbrReadA(h, out, &size, "ap", NULL, NULL);
  CHECK_EQ(wait_tag(rtag), DBR_SUCCESS);
  CHECK_EQ(size, 3);
  CHECK_MEM(out, "abc", 3);
  /* readA too small: UBUFFER, size set, value kept */
  char small[2];
  int64_t ssize = sizeof small;
  rtag = dbrReadA(h, small, &ssize, "ap", NULL, NULL);
  CHECK_EQ(wait_tag(rtag), DBR_ERR_UBUFFER);
  CHECK_EQ(ssize, 3);
  CHECK_EQ(dbrTest(rtag), DBR_ERR_TAGERROR);

  /* cancel a pending get: it never consumes the value that comes later */
  size = sizeof out;
  tag = dbrGetA(h, out, &size, "cg", NULL, NULL);
  CHECK_EQ(dbrTest(tag), DBR_ERR_INPROGRESS);
  CHECK_EQ(dbrCancel(tag), DBR_SUCCESS);
  CHECK_EQ(dbrTest(tag), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrCancel(tag), DBR_ERR_TAGERROR);
  CHECK_EQ(put_s("cg", "kept"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "cg"), DBR_SUCCESS);
  /* cancel after completion: INVALIDOP, and the result is still there */
  size = sizeof out;
  tag = dbrGetA(h, out, &size, "cg", NULL, NULL);
  CHECK_EQ(dbrCancel(tag), DBR_ERR_INVALIDOP);
  CHECK_EQ(dbrTest(tag), DBR_SUCCESS);
  CHECK_MEM(out, "kept", 4);
  CHECK_EQ(dbrCancel(tag), DBR_ERR_TAGERROR);
  /* an A-call times out after DBR_TIMEOUT */
  size = sizeof out;
  tag = dbrGetA(h, out, &size, "to", NULL, NULL);
  CHECK_EQ(wait_tag(tag), DBR_ERR_TIMEOUT);
  CHECK_EQ(dbrTest(tag), DBR_ERR_TAGERROR);
  /* bad tags */
  CHECK_EQ(dbrTest(0), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrTest(-1), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrTest(INT64_MAX), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrCancel(12345678), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrRemove(h, NULL, "ap", NULL), DBR_SUCCESS);
}

/* Racing cancels against puts: whatever wins, each value ends up exactly once with the getter or in place. */
typedef struct {
  int n;
} racer_t;

static void *race_puts(void *arg)
{
  racer_t *r = arg;
  for (int i = 0; i < r->n; i++) {
    put_s("race", "v");
    if (i % 7 == 0) sched_yield();
  }
  return NULL;
}

static void test_cancel_race(void)
{
  enum { N = 2000 };
  racer_t r = {N};
  pthread_t t;
  pthread_create(&t, NULL, race_puts, &r);
  int got = 0, cancelled = 0;
  for (int i = 0; i < N; i++) {
    char out[4];
    int64_t size = sizeof out;
    DBR_Tag_t tag = dbrGetA(h, out, &size, "race", NULL, NULL);
    if (i % 2) sched_yield();
    DBR_Errorcode_t rc = dbrCancel(tag);
    if (rc == DBR_SUCCESS) {
      cancelled++;
    } else {
      CHECK_EQ(rc, DBR_ERR_INVALIDOP);
      CHECK_EQ(wait_tag(tag), DBR_SUCCESS);
      got++;
    }
  }
  pthread_join(t, NULL);
  int64_t left = 0;
  CHECK_EQ(dbrxCount(h, "race", &left), DBR_SUCCESS);
  CHECK_EQ(got + left, N); /* no value lost, none duplicated */
  CHECK(cancelled + got == N);
  CHECK_EQ(dbrRemove(h, NULL, "race", NULL), got == N ? DBR_ERR_UNAVAIL : DBR_SUCCESS);
}

/* Values that arrive by move, move-value and put-many wake waiters too; readers all see a value, the oldest
 * getter takes it. */
static void test_wakeups(void)
{
  DBR_Handle_t h2 = dbrCreate("test-async-wake", 0, NULL);
  CHECK(h2 != NULL);
  char out[16];
  int64_t size;
  /* two readers and two getters wait; one value: both readers, one getter */
  DBR_Tag_t r1 = dbrxReadAsync(NULL, h2, "w", NULL, 0, 10000);
  DBR_Tag_t g1 = dbrxGetAsync(NULL, h2, "w", NULL, 0, 10000);
  DBR_Tag_t r2 = dbrxReadAsync(NULL, h2, NULL, "w*", 0, 10000);
  DBR_Tag_t g2 = dbrxGetAsync(NULL, h2, NULL, "w", 0, 10000);
  CHECK_EQ(dbrPut(h, "1", 1, "w", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, "w", NULL, h2, NULL), DBR_SUCCESS); /* arrives by move */
  CHECK_EQ(dbrTest(r1), DBR_SUCCESS);
  CHECK_EQ(dbrTest(r2), DBR_SUCCESS);
  CHECK_EQ(dbrTest(g1), DBR_SUCCESS); /* the older getter */
  CHECK_EQ(dbrTest(g2), DBR_ERR_INPROGRESS);
  size = sizeof out;
  CHECK_EQ(dbrxTake(r2, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "1", 1);
  size = sizeof out;
  CHECK_EQ(dbrxTake(r1, out, &size), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxTake(g1, out, &size), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h2, "w"), DBR_ERR_UNAVAIL);
  /* arrives by put-many */
  unsigned char pk[] = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'w', '2'};
  CHECK_EQ(dbrxPutMany(h2, pk, sizeof pk), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrTest(g2), DBR_SUCCESS);
  CHECK_EQ(dbrxTake(g2, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "2", 1);
  /* a chain: a move-value waits on h:a -> h2:b, a get waits on h2:b; one put on h:a serves both */
  DBR_Tag_t mv = dbrxMoveValueAsync(NULL, h, "a", h2, "b", 0, 10000);
  DBR_Tag_t gb = dbrxGetAsync(NULL, h2, "b", NULL, 0, 10000);
  CHECK_EQ(dbrPut(h, "3", 1, "a", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTest(mv), DBR_SUCCESS);
  CHECK_EQ(dbrTest(gb), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxTake(mv, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "3", 1);
  size = sizeof out;
  CHECK_EQ(dbrxTake(gb, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "3", 1);
  CHECK_EQ(dbrTestKey(h, "a"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrTestKey(h2, "b"), DBR_ERR_UNAVAIL);
  /* a waiting move-value whose destination namespace is deleted still completes; nothing leaks */
  DBR_Handle_t h3 = dbrCreate("test-async-wake3", 0, NULL);
  mv = dbrxMoveValueAsync(NULL, h, "c", h3, "d", 0, 10000);
  CHECK_EQ(dbrDetach(h3), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-async-wake3"), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "4", 1, "c", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTest(mv), DBR_SUCCESS);
  CHECK_EQ(dbrxTake(mv, out, &size), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-async-wake"), DBR_SUCCESS);
}

/* A namespace deleted under waiters fails them with NSINVAL. */
static void test_delete_wakes_waiters(void)
{
  DBR_Handle_t h2 = dbrCreate("test-async-del", 0, NULL);
  CHECK(h2 != NULL);
  DBR_Tag_t t = dbrxGetAsync(NULL, h2, "w", NULL, 0, DBRX_TIMEOUT_INFINITE);
  DBR_Tag_t t2 = dbrxGetAsync(NULL, h2, NULL, "w*", 0, DBRX_TIMEOUT_INFINITE);
  CHECK_EQ(dbrTest(t), DBR_ERR_INPROGRESS);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(dbrTest(t), DBR_ERR_INPROGRESS); /* detaching does not cancel */
  CHECK_EQ(dbrDelete("test-async-del"), DBR_SUCCESS);
  CHECK_EQ(dbrTest(t), DBR_ERR_NSINVAL);
  CHECK_EQ(dbrTest(t2), DBR_ERR_NSINVAL);
}

int main(void)
{
  unsetenv("DBR_SERVER");
  setenv("DBR_TIMEOUT", "0.3", 1);
  h = dbrCreate("test-async", 0, NULL);
  CHECK(h != NULL);
  if (h == NULL) return CHECK_DONE();
  test_blocking();
  test_timeouts();
  test_timer_wakes();
  test_a_calls();
  test_cancel_race();
  test_wakeups();
  test_delete_wakes_waiters();
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-async"), DBR_SUCCESS);
  return CHECK_DONE();
}
