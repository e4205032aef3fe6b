/*
 * Waiting on Redis under a cover: many waiters on keys with one prefix share one pattern subscription, a new
 * covered waiter costs one try, values racing new covered waiters are found without waiting for the safety
 * tick, and the cover goes once its waiters are done.
 *
 * The server comes from test/redis-servers.sh and is stopped even if the test crashes (the checks run in a
 * child process). Timings are printed, and asserted only loosely: targets belong to the benchmarks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

/* ---- this test ---- */

static int g_port;
static redisContext *g_rc;

#define rq_int(...) rc_int(g_rc, __VA_ARGS__)

static long long lpop_calls(void)
{
  redisReply *r = redisCommand(g_rc, "INFO commandstats");
  long long calls = -1;
  const char *at = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_lpop:calls=") : NULL; /* RESP2 */
  if (at) calls = strtoll(at + strlen("cmdstat_lpop:calls="), NULL, 10);
  if (r) freeReplyObject(r);
  return calls < 0 ? 0 : calls;
}

/* While a cover is confirmed, a new covered waiter whose first try found nothing joins without trying again
 * (unless a message for its key came meanwhile): one LPOP before its value, not two. The safety tick may
 * add one try per waiter in one trial, so the best of three counts. */
static void test_covered_join_costs_one_try(DBR_Handle_t h, dbrx_queue_t *q)
{
  enum { K = 40 };
  double best = 1e9;
  for (int trial = 0; trial < 3; trial++) {
    DBR_Tag_t tags[K];
    long long before = lpop_calls();
    for (int i = 0; i < K; i++) {
      char name[32];
      snprintf(name, sizeof name, "res:t%d-%d", trial, i);
      tags[i] = dbrxGetAsync(q, h, name, NULL, 0, DBRX_TIMEOUT_INFINITE);
      CHECK(tags[i] != DB_TAG_ERROR);
    }
    sleep_ms(60);
    double per = (double)(lpop_calls() - before) / K;
    if (per < best) best = per;
    for (int i = 0; i < K; i++) {
      char name[32], v[16];
      snprintf(name, sizeof name, "res:t%d-%d", trial, i);
      snprintf(v, sizeof v, "v%d", i);
      CHECK_EQ(dbrPut(h, v, (int64_t)strlen(v), name, DBR_GROUP_EMPTY), DBR_SUCCESS);
    }
    int ok;
    CHECK_EQ(collect_values(q, tags, K, 5000, &ok), K);
    CHECK_EQ(ok, K);
  }
  printf("covered waiters under a confirmed cover: %.2f LPOPs each before their value\n", best);
  CHECK(best < 1.5);
  /* values racing the first tries (pushed by another client at once): none waits for the 1 s safety tick
   * (the exact race, a message handled before the group exists, is unit-tested in test-internals) */
  double worst = 0;
  for (int trial = 0; trial < 5; trial++) {
    DBR_Tag_t tags[K];
    double t0 = now_ms();
    for (int i = 0; i < K; i++) {
      char name[32];
      snprintf(name, sizeof name, "res:r%d-%d", trial, i);
      tags[i] = dbrxGetAsync(q, h, name, NULL, 0, DBRX_TIMEOUT_INFINITE);
      CHECK(tags[i] != DB_TAG_ERROR);
      redisAppendCommand(g_rc, "RPUSH wait::res:r%d-%d v%d", trial, i, i);
    }
    for (int i = 0; i < K; i++) {
      redisReply *r = NULL;
      redisGetReply(g_rc, (void **)&r);
      if (r) freeReplyObject(r);
    }
    int ok;
    CHECK_EQ(collect_values(q, tags, K, 5000, &ok), K);
    CHECK_EQ(ok, K);
    if (now_ms() - t0 > worst) worst = now_ms() - t0;
  }
  printf("values racing new covered waiters: all found within %.1f ms\n", worst);
  CHECK(worst < 400);
}

/* Many waiters on keys with one prefix share one pattern subscription (a cover), dropped when they are done. */
static void test_covered_waiters(DBR_Handle_t h)
{
  enum { N = 200 };
  dbrx_queue_t *q = dbrxQueueOpen();
  static DBR_Tag_t tags[N];
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "res:%d", i);
    tags[i] = dbrxGetAsync(q, h, name, NULL, 0, DBRX_TIMEOUT_INFINITE);
    CHECK(tags[i] != DB_TAG_ERROR);
  }
  sleep_ms(300);
  redisReply *ch = redisCommand(g_rc, "PUBSUB CHANNELS __keyspace@0__:wait::res:*");
  long long channels = ch && ch->type == REDIS_REPLY_ARRAY ? (long long)ch->elements : -1;
  if (ch) freeReplyObject(ch);
  printf("%d waiters under one prefix: %lld channel subscriptions, %lld pattern subscriptions\n", N, channels,
         rq_int("PUBSUB NUMPAT"));
  CHECK(channels >= 0 && channels < 10); /* the first few subscribe on their own, the rest share the cover */
  CHECK(rq_int("PUBSUB NUMPAT") >= 1);
  /* half the values from another client, half through the library */
  for (int i = 0; i < N; i += 2) redisAppendCommand(g_rc, "RPUSH wait::res:%d v%d", i, i);
  for (int i = 0; i < N; i += 2) {
    redisReply *r = NULL;
    redisGetReply(g_rc, (void **)&r);
    if (r) freeReplyObject(r);
  }
  for (int i = 1; i < N; i += 2) {
    char name[32], v[16];
    snprintf(name, sizeof name, "res:%d", i);
    snprintf(v, sizeof v, "v%d", i);
    CHECK_EQ(dbrPut(h, v, (int64_t)strlen(v), name, DBR_GROUP_EMPTY), DBR_SUCCESS);
  }
  double t0 = now_ms();
  int ok;
  int got = collect_values(q, tags, N, 10000, &ok);
  printf("%d covered waiters woken in %.1f ms\n", N, now_ms() - t0);
  CHECK_EQ(got, N);
  CHECK_EQ(ok, N);
  /* a new waiter under the prefix while the cover lives, its value already there: found at once */
  CHECK_EQ(dbrPut(h, "late", 4, "res:late", DBR_GROUP_EMPTY), DBR_SUCCESS);
  char buf[16];
  int64_t size = sizeof buf;
  CHECK_EQ(dbrxGet(h, buf, &size, "res:late", NULL, 0, 2000), DBR_SUCCESS);
  test_covered_join_costs_one_try(h, q);
  /* idle covered groups go at once, the other groups after 2 s, and the cover 2 s after its last group */
  long long numpat = -1;
  for (int i = 0; i < 90 && (numpat = rq_int("PUBSUB NUMPAT")) != 0; i++) sleep_ms(100);
  CHECK_EQ(numpat, 0);
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
}

static int body(void)
{
  g_rc = rc_open(g_port, NULL);
  freeReplyObject(redisCommand(g_rc, "FLUSHALL"));
  DBR_Handle_t h = dbrCreate("wait", 0, NULL);
  if (h == NULL) {
    printf("0 passed, 1 failed (could not create the namespace: %s)\n", dbrxLastError());
    return 1;
  }
  test_covered_waiters(h);
  dbrDetach(h);
  redisFree(g_rc);
  return CHECK_DONE();
}

int main(void)
{
  if ((g_port = start_single("test-redis-covers", "-")) < 0) return 1;
  setenv("DBR_TIMEOUT", "2", 1);
  setenv("DBR_BLOCKING_POOL", "0", 1); /* notifications only, as in test-redis-wait */
  return supervise(body);
}
