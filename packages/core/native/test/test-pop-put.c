/*
 * dbrxPopPut: drops the head of one name and appends a value under another in one step; nothing happens
 * when the first name is empty. A get waiting on the destination is woken.
 */
#include <poll.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

int main(void)
{
  DBR_Handle_t h = dbrCreate("pop-put", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(h != NULL);
  int64_t n = -1;
  CHECK_EQ(dbrxPopPut(h, "slot", "result", "r0", 2), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxCount(h, "result", &n), DBR_SUCCESS);
  CHECK_EQ(n, 0);

  CHECK_EQ(dbrPut(h, "task-a", 6, "slot", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "task-b", 6, "slot", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrxPopPut(h, "slot", "result", "r1", 2), DBR_SUCCESS);
  CHECK_EQ(dbrxCount(h, "slot", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  char buf[16];
  int64_t size = sizeof buf;
  CHECK_EQ(dbrRead(h, buf, &size, "slot", NULL, DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_MEM(buf, "task-b", 6); /* the oldest was dropped */
  size = sizeof buf;
  CHECK_EQ(dbrGet(h, buf, &size, "result", NULL, DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_EQ(size, 2);
  CHECK_MEM(buf, "r1", 2);

  /* same name: the head goes, the value joins the tail */
  CHECK_EQ(dbrxPopPut(h, "slot", "slot", "again", 5), DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(dbrGet(h, buf, &size, "slot", NULL, DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_MEM(buf, "again", 5);

  /* a waiting get on the destination is woken; the async form through a queue */
  dbrx_queue_t *q = dbrxQueueOpen();
  DBR_Tag_t waiter = dbrxGetAsync(q, h, "done", NULL, DBR_FLAGS_NONE, 5000);
  CHECK_EQ(dbrPut(h, "t", 1, "work", DBR_GROUP_EMPTY), DBR_SUCCESS);
  DBR_Tag_t pp = dbrxPopPutAsync(q, h, "work", "done", "ok", 2);
  CHECK(pp > 0 && waiter > 0);
  DBR_Tag_t tags[2];
  int got = 0;
  for (int i = 0; i < 200 && got < 2; i++) {
    got += dbrxQueueDrain(q, tags + got, 2 - got);
    if (got < 2) poll(NULL, 0, 5);
  }
  CHECK_EQ(got, 2);
  size = 0;
  CHECK_EQ(dbrxTake(pp, NULL, &size), DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(dbrxTake(waiter, buf, &size), DBR_SUCCESS);
  CHECK_MEM(buf, "ok", 2);
  CHECK_EQ(dbrxPopPutAsync(q, h, "work", "done", "ok", 2) > 0, 1); /* empty now: completes with UNAVAIL */
  dbrxQueueClose(q);

  CHECK_EQ(dbrxPopPut(h, NULL, "x", "v", 1), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPopPut(h, "x", NULL, "v", 1), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPopPut(h, "x", "y", NULL, 1), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPopPut((DBR_Handle_t)(uintptr_t)4242, "x", "y", "v", 1), DBR_ERR_HANDLE);
  CHECK_EQ(dbrDelete("pop-put"), DBR_SUCCESS);
  return CHECK_DONE();
}
