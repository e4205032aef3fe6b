/*
 * dbrxMoveManyAsync and dbrxPopPutManyAsync on every backend: the embedded one, a single redis-server and a
 * 3-master cluster (the names share a {hash tag}). Move-many fills destinations from the first non-empty
 * source in order; pop-put-many reports per step whether it happened.
 */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"
#include "redis-harness.h"

static dbrx_queue_t *g_q;

/* Waits for tag to complete and collects it into buf (*size: capacity in, length out). */
static DBR_Errorcode_t collect(DBR_Tag_t tag, void *buf, int64_t *size)
{
  DBR_Tag_t done[16];
  for (int i = 0; i < 1000; i++) {
    DBR_Errorcode_t rc = dbrxTake(tag, buf, size);
    if (rc != DBR_ERR_INPROGRESS) return rc;
    dbrxQueueDrain(g_q, done, 16);
    poll(NULL, 0, 2);
  }
  return DBR_ERR_TIMEOUT;
}

static int64_t count(DBR_Handle_t h, const char *name)
{
  int64_t n = -1;
  CHECK_EQ(dbrxCount(h, name, &n), DBR_SUCCESS);
  return n;
}

/* Appends a step with an `unless` name and flags to buf at *off. */
static void step_unless(unsigned char *buf, size_t *off, const char *pop, const char *put, const char *unless,
                        unsigned flags, const char *value)
{
  uint32_t pl = (uint32_t)strlen(pop), ql = (uint32_t)strlen(put), ul = (uint32_t)strlen(unless);
  uint64_t vl = strlen(value);
  unsigned char *p = buf + *off;
  for (int b = 0; b < 4; b++) p[b] = (unsigned char)(pl >> (8 * b));
  for (int b = 0; b < 4; b++) p[4 + b] = (unsigned char)(ql >> (8 * b));
  for (int b = 0; b < 4; b++) p[8 + b] = (unsigned char)(ul >> (8 * b));
  for (int b = 0; b < 4; b++) p[12 + b] = (unsigned char)(flags >> (8 * b));
  for (int b = 0; b < 8; b++) p[16 + b] = (unsigned char)(vl >> (8 * b));
  memcpy(p + 24, pop, pl);
  memcpy(p + 24 + pl, put, ql);
  memcpy(p + 24 + pl + ql, unless, ul);
  memcpy(p + 24 + pl + ql + ul, value, vl);
  *off += 24 + pl + ql + ul + vl;
}

static void step(unsigned char *buf, size_t *off, const char *pop, const char *put, const char *value)
{
  step_unless(buf, off, pop, put, "", 0, value);
}

static void test_move_many(DBR_Handle_t h)
{
  CHECK_EQ(dbrPut(h, "lo", 2, "p{q}:lo", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "n1", 2, "p{q}", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "n22", 3, "p{q}", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "hi", 2, "p{q}:hi", DBR_GROUP_EMPTY), DBR_SUCCESS);
  DBR_Tag_t t = dbrxMoveManyAsync(g_q, h, "p{q}:hi\np{q}\np{q}:lo", "s{q}:0\ns{q}:1\ns{q}:2\ns{q}:3\ns{q}:4\ns{q}:5");
  CHECK(t > 0);
  unsigned char buf[256];
  int64_t size = sizeof buf;
  CHECK_EQ(collect(t, buf, &size), DBR_SUCCESS);
  CHECK_EQ(size, 4 * 8 + 2 + 2 + 3 + 2);
  const char *want[] = {"hi", "n1", "n22", "lo"};
  int64_t off = 0;
  for (int i = 0; i < 4 && off + 8 <= size; i++) {
    uint64_t len = 0;
    for (int b = 0; b < 8; b++) len |= (uint64_t)buf[off + b] << (8 * b);
    CHECK_EQ(len, strlen(want[i]));
    CHECK(memcmp(buf + off + 8, want[i], strlen(want[i])) == 0);
    off += 8 + (int64_t)len;
  }
  CHECK_EQ(count(h, "s{q}:0"), 1);
  CHECK_EQ(count(h, "s{q}:3"), 1);
  CHECK_EQ(count(h, "s{q}:4"), 0);
  CHECK_EQ(count(h, "p{q}"), 0);
  char v[8];
  int64_t vs = sizeof v;
  CHECK_EQ(dbrRead(h, v, &vs, "s{q}:2", NULL, DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_EQ(vs, 3);
  CHECK(memcmp(v, "n22", 3) == 0);

  /* nothing to move: an empty result */
  t = dbrxMoveManyAsync(g_q, h, "p{q}", "s{q}:9");
  size = sizeof buf;
  CHECK_EQ(collect(t, buf, &size), DBR_SUCCESS);
  CHECK_EQ(size, 0);

  /* a get waiting on a destination receives the moved value */
  DBR_Tag_t waiter = dbrxGetAsync(g_q, h, "s{q}:w", NULL, DBR_FLAGS_NONE, 5000);
  poll(NULL, 0, 50);
  CHECK_EQ(dbrPut(h, "ww", 2, "p{q}", DBR_GROUP_EMPTY), DBR_SUCCESS);
  t = dbrxMoveManyAsync(g_q, h, "p{q}", "s{q}:w");
  size = sizeof buf;
  CHECK_EQ(collect(t, buf, &size), DBR_SUCCESS);
  CHECK_EQ(size, 10);
  vs = sizeof v;
  CHECK_EQ(collect(waiter, v, &vs), DBR_SUCCESS);
  CHECK_EQ(vs, 2);

  /* bad lists are refused before anything moves */
  CHECK_EQ(dbrxMoveManyAsync(g_q, h, "", "s{q}:0"), DB_TAG_ERROR);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  CHECK_EQ(dbrxMoveManyAsync(g_q, h, "p{q}", "a\n\nb"), DB_TAG_ERROR);
  CHECK_EQ(dbrxMoveManyAsync(g_q, h, NULL, "a"), DB_TAG_ERROR);
  CHECK_EQ(dbrxMoveManyAsync(g_q, h, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq", "x"), DB_TAG_ERROR);
  CHECK(strstr(dbrxLastError(), "more than 16") != NULL);
  CHECK_EQ(dbrxMoveManyAsync(g_q, (DBR_Handle_t)(uintptr_t)4242, "a", "b"), DB_TAG_ERROR);
  /* cannot be withdrawn: the caller always learns where values went */
  CHECK_EQ(dbrPut(h, "c", 1, "p{q}", DBR_GROUP_EMPTY), DBR_SUCCESS);
  t = dbrxMoveManyAsync(g_q, h, "p{q}", "s{q}:c");
  CHECK(dbrCancel(t) != DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(collect(t, buf, &size), DBR_SUCCESS);
  CHECK_EQ(size, 9);
  if (strcmp(dbrxBackend(), "redis-cluster") == 0) { /* names in different hash slots are refused */
    CHECK_EQ(dbrPut(h, "x", 1, "p{q}", DBR_GROUP_EMPTY), DBR_SUCCESS);
    t = dbrxMoveManyAsync(g_q, h, "p{q}", "s{other}:0");
    size = sizeof buf;
    CHECK_EQ(collect(t, buf, &size), DBR_ERR_INVALIDOP);
    CHECK_EQ(count(h, "p{q}"), 1);
    CHECK_EQ(dbrRemove(h, DBR_GROUP_EMPTY, "p{q}", NULL), DBR_SUCCESS);
  }
}

static void test_pop_put_many(DBR_Handle_t h)
{
  unsigned char batch[512];
  size_t off = 0;
  step(batch, &off, "s{q}:0", "r{q}:a", "R0");  /* slot holds "hi": done */
  step(batch, &off, "s{q}:9", "r{q}:b", "R9");  /* empty slot: nothing put */
  step(batch, &off, "", "e{q}", "expiry");      /* a plain put */
  step(batch, &off, "s{q}:1", "", "");          /* a plain pop */
  step(batch, &off, "s{q}:9", "", "");          /* nothing to pop */
  DBR_Tag_t t = dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off);
  CHECK(t > 0);
  unsigned char out[8];
  int64_t size = sizeof out;
  CHECK_EQ(collect(t, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 1 && out[4] == 0);
  CHECK_EQ(count(h, "s{q}:0"), 0);
  CHECK_EQ(count(h, "s{q}:1"), 0);
  CHECK_EQ(count(h, "r{q}:a"), 1);
  CHECK_EQ(count(h, "r{q}:b"), 0);
  CHECK_EQ(count(h, "e{q}"), 1);

  /* steps in different hash slots (one script per slot on a cluster) keep their per-step results */
  CHECK_EQ(dbrPut(h, "ta", 2, "s{a}:0", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "tb", 2, "s{b}:0", DBR_GROUP_EMPTY), DBR_SUCCESS);
  off = 0;
  step(batch, &off, "s{a}:0", "r{a}:0", "ra");
  step(batch, &off, "s{b}:9", "r{b}:9", "never");
  step(batch, &off, "s{b}:0", "r{b}:0", "rb");
  step(batch, &off, "", "e{a}", "x");
  step(batch, &off, "s{a}:9", "", "");
  t = dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off);
  size = sizeof out;
  CHECK_EQ(collect(t, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK(out[0] == 1 && out[1] == 0 && out[2] == 1 && out[3] == 1 && out[4] == 0);
  CHECK_EQ(count(h, "r{a}:0"), 1);
  CHECK_EQ(count(h, "r{b}:0"), 1);
  CHECK_EQ(count(h, "s{b}:0"), 0);
  if (strcmp(dbrxBackend(), "redis-cluster") == 0) { /* a pop-put across slots is refused */
    off = 0;
    step(batch, &off, "s{a}:0", "r{b}:1", "v");
    t = dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off);
    size = sizeof out;
    CHECK_EQ(collect(t, out, &size), DBR_ERR_INVALIDOP);
  }

  /* unless: a finish that a cancel marker stops (the marker is consumed), a peek that leaves it */
  CHECK_EQ(dbrPut(h, "t1", 2, "s{q}:u1", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "t2", 2, "s{q}:u2", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "x", 1, "c{q}:1", DBR_GROUP_EMPTY), DBR_SUCCESS);
  off = 0;
  step_unless(batch, &off, "", "", "c{q}:1", DBRX_STEP_PEEK_UNLESS, ""); /* a test: marker there */
  step_unless(batch, &off, "", "", "c{q}:2", DBRX_STEP_PEEK_UNLESS, ""); /* a test: no marker */
  step_unless(batch, &off, "s{q}:u1", "r{q}:u1", "c{q}:1", 0, "R1");   /* cancelled: skipped, marker popped */
  step_unless(batch, &off, "s{q}:u2", "r{q}:u2", "c{q}:2", 0, "R2");   /* not cancelled: done */
  step_unless(batch, &off, "s{q}:u9", "r{q}:u9", "c{q}:2", 0, "R9");   /* not cancelled, empty slot */
  t = dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off);
  size = sizeof out;
  CHECK_EQ(collect(t, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK(out[0] == DBRX_STEP_SKIPPED && out[1] == DBRX_STEP_DONE && out[2] == DBRX_STEP_SKIPPED && out[3] == DBRX_STEP_DONE &&
        out[4] == DBRX_STEP_EMPTY);
  CHECK_EQ(count(h, "c{q}:1"), 0);
  CHECK_EQ(count(h, "s{q}:u1"), 1); /* the skipped finish left the task */
  CHECK_EQ(count(h, "r{q}:u1"), 0);
  CHECK_EQ(count(h, "s{q}:u2"), 0);
  CHECK_EQ(count(h, "r{q}:u2"), 1);
  off = 0;
  step_unless(batch, &off, "a", "", "", 2, "");
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off), DB_TAG_ERROR); /* unknown flag */
  CHECK(strstr(dbrxLastError(), "flags") != NULL);

  /* an empty batch completes at once with an empty result */
  t = dbrxPopPutManyAsync(g_q, h, batch, 0);
  size = sizeof out;
  CHECK_EQ(collect(t, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 0);

  /* malformed batches are refused whole */
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, 20), DB_TAG_ERROR);
  CHECK(strstr(dbrxLastError(), "truncated") != NULL);
  off = 0;
  step(batch, &off, "", "", "");
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off), DB_TAG_ERROR);
  off = 0;
  step(batch, &off, "s{q}:0", "", "stray");
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off), DB_TAG_ERROR);
  off = 0;
  step(batch, &off, "bad\nname", "x", "v");
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off), DB_TAG_ERROR);
  off = 0;
  step(batch, &off, "a", "b", "v");
  batch[16] = 200; /* value length past the end */
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, (int64_t)off), DB_TAG_ERROR);
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, NULL, 5), DB_TAG_ERROR);
  CHECK_EQ(dbrxPopPutManyAsync(g_q, h, batch, -1), DB_TAG_ERROR);
}

static int body(void)
{
  g_q = dbrxQueueOpen();
  CHECK(g_q != NULL);
  DBR_Handle_t h = dbrCreate("batch", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(h != NULL);
  if (h == NULL) return CHECK_DONE();
  test_move_many(h);
  test_pop_put_many(h);
  CHECK_EQ(dbrRemove(h, DBR_GROUP_EMPTY, NULL, "*"), DBR_SUCCESS);
  dbrxQueueClose(g_q);
  CHECK_EQ(dbrDelete("batch"), DBR_SUCCESS);
  printf("[%s] ", dbrxBackend());
  return CHECK_DONE();
}

int main(void)
{
  unsetenv("DBR_SERVER");
  int failed = supervise(body) != 0;
  if (start_single("test-batch-single", "pw") < 0) return 1;
  failed |= supervise(body) != 0;
  int ports[3];
  if (start_cluster("test-batch-cluster", ports) < 0) return 1;
  failed |= supervise(body) != 0;
  return failed;
}
