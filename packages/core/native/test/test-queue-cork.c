/*
 * dbrxQueueCork: requests of a corked queue wait until it is uncorked (or until a chunk of 16 is held, which
 * starts them), can be cancelled meanwhile, and are cancelled when the queue closes.
 */
#include <poll.h>
#include <stdio.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static int drain_all(dbrx_queue_t *q, DBR_Tag_t *tags, int max)
{
  int n = 0;
  for (int spins = 0; spins < 200 && n < max; spins++) {
    n += dbrxQueueDrain(q, tags + n, max - n);
    if (n < max) poll(NULL, 0, 5);
  }
  return n;
}

int main(void)
{
  DBR_Handle_t h = dbrCreate("cork", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(h != NULL);
  dbrx_queue_t *q = dbrxQueueOpen();
  CHECK(q != NULL);

  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t put = dbrxPutAsync(q, h, "v1", 2, "k");
  DBR_Tag_t get = dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NONE, 5000);
  DBR_Tag_t cancelled = dbrxGetAsync(q, h, "other", NULL, DBR_FLAGS_NONE, 5000);
  CHECK(put > 0 && get > 0 && cancelled > 0);
  int64_t count = -1;
  CHECK_EQ(dbrxCount(h, "k", &count), DBR_SUCCESS);
  CHECK_EQ(count, 0); /* held: not applied yet */
  CHECK_EQ(dbrTest(put), DBR_ERR_INPROGRESS);
  CHECK_EQ(dbrCancel(cancelled), DBR_SUCCESS); /* a held request can be withdrawn */
  CHECK_EQ(dbrTest(cancelled), DBR_ERR_TAGERROR);

  CHECK_EQ(dbrxQueueCork(q, 0), DBR_SUCCESS);
  DBR_Tag_t tags[4];
  CHECK_EQ(drain_all(q, tags, 2), 2);
  char buf[8];
  int64_t size = sizeof buf;
  CHECK_EQ(dbrxTake(put, buf, &size), DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(dbrxTake(get, buf, &size), DBR_SUCCESS);
  CHECK_EQ(size, 2);
  CHECK_MEM(buf, "v1", 2);

  /* the cancelled request never ran: a later value under its name is still there */
  CHECK_EQ(dbrPut(h, "x", 1, "other", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrxCount(h, "other", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1);

  /* a cork holds at most a chunk of 16: the 16th request starts the chunk, the 17th waits for the uncork */
  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t burst[17];
  for (int i = 0; i < 17; i++) {
    burst[i] = dbrxPutAsync(q, h, "b", 1, "chunk");
    CHECK(burst[i] > 0);
  }
  DBR_Tag_t done[17];
  CHECK_EQ(drain_all(q, done, 16), 16);
  CHECK_EQ(dbrxCount(h, "chunk", &count), DBR_SUCCESS);
  CHECK_EQ(count, 16);
  CHECK_EQ(dbrTest(burst[16]), DBR_ERR_INPROGRESS);
  CHECK_EQ(dbrxQueueCork(q, 0), DBR_SUCCESS);
  CHECK_EQ(drain_all(q, done + 16, 1), 1);
  CHECK_EQ(done[16], burst[16]);
  for (int i = 0; i < 17; i++) {
    size = sizeof buf;
    CHECK_EQ(dbrxTake(burst[i], buf, &size), DBR_SUCCESS);
  }
  CHECK_EQ(dbrxCount(h, "chunk", &count), DBR_SUCCESS);
  CHECK_EQ(count, 17);

  /* the last handle of a namespace detached while its requests are held: the namespace state stays until
   * they start (ASan would catch a use after free), and they run on it */
  DBR_Handle_t solo = dbrCreate("cork-solo", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  DBR_Handle_t dst = dbrCreate("cork-dst", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(solo != NULL && dst != NULL);
  CHECK_EQ(dbrPut(solo, "m", 1, "src", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t late_put = dbrxPutAsync(q, solo, "d", 1, "detached");
  DBR_Tag_t late_move = dbrxMoveValueAsync(q, solo, "src", dst, "moved", DBR_FLAGS_NONE, 1000);
  CHECK(late_put > 0 && late_move > 0);
  CHECK_EQ(dbrDetach(solo), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(dst), DBR_SUCCESS);
  CHECK_EQ(dbrxQueueCork(q, 0), DBR_SUCCESS);
  CHECK_EQ(drain_all(q, done, 2), 2);
  size = sizeof buf;
  CHECK_EQ(dbrxTake(late_put, buf, &size), DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(dbrxTake(late_move, buf, &size), DBR_SUCCESS);
  solo = dbrAttach("cork-solo");
  dst = dbrAttach("cork-dst");
  CHECK(solo != NULL && dst != NULL);
  CHECK_EQ(dbrxCount(solo, "detached", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1);
  CHECK_EQ(dbrxCount(dst, "moved", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1);
  /* deleted and detached while a request is held: the namespace goes only after the request ran on it */
  DBR_Handle_t gone = dbrCreate("cork-gone", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(gone != NULL);
  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t last_put = dbrxPutAsync(q, gone, "x", 1, "last");
  CHECK(last_put > 0);
  CHECK_EQ(dbrDelete("cork-gone"), DBR_SUCCESS); /* pending: this process is attached */
  CHECK_EQ(dbrDetach(gone), DBR_SUCCESS);
  CHECK_EQ(dbrxQueueCork(q, 0), DBR_SUCCESS);
  CHECK_EQ(drain_all(q, done, 1), 1);
  size = sizeof buf;
  DBR_Errorcode_t last_rc = dbrxTake(last_put, buf, &size);
  CHECK(last_rc == DBR_SUCCESS || last_rc == DBR_ERR_NSINVAL);
  CHECK(dbrAttach("cork-gone") == NULL); /* removed with the request's release */
  /* ... and a held request dropped unstarted lets its handle go */
  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t dropped = dbrxGetAsync(q, solo, "nothing", NULL, DBR_FLAGS_NONE, 1000);
  CHECK(dropped > 0);
  CHECK_EQ(dbrDetach(solo), DBR_SUCCESS);
  CHECK_EQ(dbrCancel(dropped), DBR_SUCCESS);
  CHECK_EQ(dbrxQueueCork(q, 0), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("cork-solo"), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(dst), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("cork-dst"), DBR_SUCCESS);

  /* closing a corked queue cancels what it holds, and nothing runs */
  CHECK_EQ(dbrxQueueCork(q, 1), DBR_SUCCESS);
  DBR_Tag_t lost = dbrxGetAsync(q, h, "other", NULL, DBR_FLAGS_NONE, 5000);
  CHECK(lost > 0);
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
  CHECK_EQ(dbrTest(lost), DBR_ERR_TAGERROR);
  CHECK_EQ(dbrxCount(h, "other", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1);
  CHECK_EQ(dbrxQueueCork(q, 0), DBR_ERR_INVALID); /* closed */

  CHECK_EQ(dbrDelete("cork"), DBR_SUCCESS);
  return CHECK_DONE();
}
