/*
 * Completion queues (memory backend): tagged requests post to a queue whose pipe turns readable, drained one
 * at a time or many; dbrTest and dbrxTake collect results; NOWAIT and timeout outcomes are posted too;
 * move-value and put-many through a queue; closing withdraws what is pending; invalid queues are refused.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "async-helpers.h"

static int readable(int fd, int ms)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void test_queues(void)
{
  dbrx_queue_t *q = dbrxQueueOpen();
  CHECK(q != NULL);
  int fd = dbrxQueueFd(q);
  CHECK(fd >= 0);
  CHECK(!readable(fd, 0));
  DBR_Tag_t tags[8];
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 0);

  /* three waiting gets, satisfied by a put from another thread */
  DBR_Tag_t t1 = dbrxGetAsync(q, h, "qa", NULL, 0, DBRX_TIMEOUT_INFINITE);
  DBR_Tag_t t2 = dbrxGetAsync(q, h, "qb", NULL, 0, 10000);
  DBR_Tag_t t3 = dbrxReadAsync(q, h, NULL, "q?", 0, 10000);
  CHECK(t1 > 0 && t2 > t1 && t3 > t2);
  CHECK_EQ(dbrTest(t1), DBR_ERR_INPROGRESS);
  CHECK(!readable(fd, 20));
  delayed_put_t d = {30, "qa", "AAAA"};
  pthread_t th = put_later(&d);
  CHECK(readable(fd, 10000));
  pthread_join(th, NULL);
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 2);
  CHECK(!readable(fd, 0)); /* drained dry: the pipe is empty again */
  CHECK((tags[0] == t1 && tags[1] == t3) || (tags[0] == t3 && tags[1] == t1));
  /* dbrTest on a tag holding a value reports SUCCESS and keeps it */
  CHECK_EQ(dbrTest(t1), DBR_SUCCESS);
  char small[2], out[64];
  int64_t size = sizeof small;
  CHECK_EQ(dbrxTake(t1, small, &size), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 4);
  size = sizeof out;
  CHECK_EQ(dbrxTake(t1, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 4);
  CHECK_MEM(out, "AAAA", 4);
  CHECK_EQ(dbrxTake(t1, out, &size), DBR_ERR_TAGERROR);
  size = sizeof out;
  CHECK_EQ(dbrxTake(t3, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "AAAA", 4);
  CHECK_EQ(dbrTestKey(h, "qa"), DBR_ERR_UNAVAIL); /* the getter took it; the reader saw it */

  /* several completions, drained one at a time: the pipe stays readable until the queue is empty */
  CHECK_EQ(put_s("qb", "B"), DBR_SUCCESS); /* completes t2 */
  DBR_Tag_t p1 = dbrxPutAsync(q, h, "x", 1, "qput");
  DBR_Tag_t p2 = dbrxPutAsync(q, h, NULL, 0, "qput");
  CHECK(p1 > 0 && p2 > 0);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 1), 1);
  CHECK_EQ(tags[0], t2);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 1), 1);
  CHECK_EQ(tags[0], p1);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 1);
  CHECK_EQ(tags[0], p2);
  CHECK(!readable(fd, 0));
  size = sizeof out;
  CHECK_EQ(dbrxTake(t2, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 1);
  size = sizeof out;
  CHECK_EQ(dbrxTake(p1, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 0);
  CHECK_EQ(dbrTest(p2), DBR_SUCCESS); /* no value: dbrTest releases it */
  CHECK_EQ(dbrTest(p2), DBR_ERR_TAGERROR);
  int64_t n = 0;
  CHECK_EQ(dbrxCount(h, "qput", &n), DBR_SUCCESS);
  CHECK_EQ(n, 2);

  /* NOWAIT and timeout outcomes are posted too */
  DBR_Tag_t u = dbrxGetAsync(q, h, "qnone", NULL, DBR_FLAGS_NOWAIT, DBRX_TIMEOUT_DEFAULT);
  DBR_Tag_t z = dbrxGetAsync(q, h, "qnone", NULL, 0, 0);
  DBR_Tag_t to = dbrxGetAsync(q, h, "qnone", NULL, 0, 30);
  int got = 0;
  for (int i = 0; i < 100 && got < 3; i++)
    if (readable(fd, 100)) got += dbrxQueueDrain(q, tags + got, 8 - got);
  CHECK_EQ(got, 3);
  size = sizeof out;
  CHECK_EQ(dbrxTake(u, out, &size), DBR_ERR_UNAVAIL);
  CHECK_EQ(size, 0);
  CHECK_EQ(dbrxTake(z, out, &size), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxTake(to, out, &size), DBR_ERR_TIMEOUT);

  /* move-value through a queue: waits, then moves atomically and returns the value */
  DBR_Tag_t mv = dbrxMoveValueAsync(q, h, "qput", h, "qclaimed", 0, 10000);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 1);
  size = sizeof out;
  CHECK_EQ(dbrxTake(mv, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 1);
  CHECK_EQ(dbrxCount(h, "qclaimed", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "q*"), DBR_SUCCESS);
  mv = dbrxMoveValueAsync(q, h, "qsrc", h, "qdst", 0, 10000);
  CHECK_EQ(dbrTest(mv), DBR_ERR_INPROGRESS);
  CHECK_EQ(put_s("qsrc", "claim"), DBR_SUCCESS);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 1);
  size = sizeof out;
  CHECK_EQ(dbrxTake(mv, out, &size), DBR_SUCCESS);
  CHECK_MEM(out, "claim", 5);
  CHECK_EQ(dbrTestKey(h, "qsrc"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxCount(h, "qdst", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);

  /* put-many through a queue */
  unsigned char pk[32] = {3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 'p', 'm', 'q', 'h', 'i'};
  DBR_Tag_t pm = dbrxPutManyAsync(q, h, pk, 17);
  CHECK(pm > 0);
  CHECK(readable(fd, 1000));
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), 1);
  CHECK_EQ(dbrTest(pm), DBR_SUCCESS);
  CHECK_EQ(dbrxPutManyAsync(q, h, pk, 16), DB_TAG_ERROR);

  /* close: pending requests are withdrawn (a later value is not consumed), results are released */
  DBR_Tag_t pend = dbrxGetAsync(q, h, "qlate", NULL, 0, DBRX_TIMEOUT_INFINITE);
  DBR_Tag_t done = dbrxGetAsync(q, h, "qdst", NULL, 0, 1000);
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
  CHECK_EQ(dbrTest(pend), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrTest(done), DBR_ERR_TAGERROR);
  CHECK_EQ(put_s("qlate", "stays"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "qlate"), DBR_SUCCESS);
  CHECK_EQ(dbrxQueueClose(q), DBR_ERR_INVALID);
  CHECK_EQ(dbrxQueueDrain(q, tags, 8), -1);
  CHECK_EQ(dbrxQueueFd(q), -1);
  CHECK_EQ(dbrxGetAsync(q, h, "qlate", NULL, 0, 0), DB_TAG_ERROR);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "q*"), DBR_SUCCESS);

  /* no queue: poll with dbrTest, collect with dbrxTake */
  DBR_Tag_t nq = dbrxGetAsync(NULL, h, "nq", NULL, 0, 10000);
  CHECK_EQ(dbrxTake(nq, out, &size), DBR_ERR_INPROGRESS);
  CHECK_EQ(put_s("nq", "!"), DBR_SUCCESS);
  CHECK_EQ(dbrTest(nq), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxTake(nq, out, &size), DBR_SUCCESS);
  CHECK_EQ(size, 1);
  /* cancel a dbrx request */
  nq = dbrxGetAsync(NULL, h, "nq", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK_EQ(dbrCancel(nq), DBR_SUCCESS);
  CHECK_EQ(dbrxTake(nq, out, &size), DBR_ERR_TAGERROR);

  /* invalid queues */
  CHECK_EQ(dbrxQueueDrain(NULL, tags, 8), -1);
  CHECK_EQ(dbrxQueueFd((dbrx_queue_t *)(uintptr_t)0xdead0), -1);
  CHECK_EQ(dbrxQueueClose(NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrxGetAsync((dbrx_queue_t *)h, h, "x", NULL, 0, 0), DB_TAG_ERROR);
  /* an event loop that closes the fd it watched (net.Socket.destroy) before dbrxQueueClose: the fd number,
   * reused meanwhile by another file, is not closed by the queue */
  dbrx_queue_t *q3 = dbrxQueueOpen();
  int fd3 = dbrxQueueFd(q3);
  DBR_Tag_t t4 = dbrxGetAsync(q3, h, "q3", NULL, 0, DBRX_TIMEOUT_INFINITE);
  CHECK_EQ(close(fd3), 0);
  int other = open("/dev/null", O_RDONLY);
  CHECK_EQ(other, fd3);
  CHECK_EQ(put_s("q3", "x"), DBR_SUCCESS); /* posts to the queue; drain reads its own copy of the pipe */
  CHECK_EQ(dbrxQueueDrain(q3, tags, 8), 1);
  CHECK_EQ(tags[0], t4);
  CHECK_EQ(dbrxQueueClose(q3), DBR_SUCCESS);
  CHECK(fcntl(other, F_GETFD) != -1);
  close(other);

  dbrx_queue_t *q2 = dbrxQueueOpen();
  CHECK_EQ(dbrxQueueDrain(q2, NULL, 8), -1);
  CHECK_EQ(dbrxQueueDrain(q2, tags, -1), -1);
  CHECK_EQ(dbrxQueueDrain(q2, NULL, 0), 0);
  CHECK_EQ(dbrxQueueClose(q2), DBR_SUCCESS);
}
int main(void)
{
  unsetenv("DBR_SERVER");
  setenv("DBR_TIMEOUT", "0.3", 1);
  h = dbrCreate("test-queue", 0, NULL);
  if (h == NULL) {
    printf("0 passed, 1 failed (could not create the namespace: %s)\n", dbrxLastError());
    return 1;
  }
  test_queues();
  dbrDetach(h);
  dbrDelete("test-queue");
  return CHECK_DONE();
}
