/*
 * dbrxQueueDrainTake: drains a queue and collects every tag in one call, values packed in tag order; a value
 * too large for what is left of the buffer keeps its tag for dbrxTake; bad arguments are refused.
 */
#include <poll.h>
#include <stdint.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

int main(void)
{
  DBR_Handle_t h = dbrCreate("drain-take", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(h != NULL);
  dbrx_queue_t *q = dbrxQueueOpen();
  CHECK_EQ(dbrPut(h, "aa", 2, "k", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "bbbbbb", 6, "k", DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, "", 0, "k", DBR_GROUP_EMPTY), DBR_SUCCESS);
  DBR_Tag_t want[5];
  want[0] = dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0);
  want[1] = dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0);
  want[2] = dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0);
  want[3] = dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0); /* nothing left: UNAVAIL */
  want[4] = dbrxPutAsync(q, h, "x", 1, "other");
  DBR_Tag_t tags[8];
  int32_t statuses[8], sizes[8];
  char buf[4]; /* fits "aa", not "bbbbbb" */
  int n = 0;
  for (int i = 0; i < 200 && n < 5; i++) {
    int got = dbrxQueueDrainTake(q, tags + n, statuses + n, sizes + n, buf, sizeof buf, 8 - n);
    CHECK(got >= 0);
    if (got > 0 && n == 0 && sizes[0] >= 0) CHECK(memcmp(buf, "aa", 2) == 0);
    n += got;
    if (n < 5) poll(NULL, 0, 2);
  }
  CHECK_EQ(n, 5);
  for (int i = 0; i < n; i++) {
    if (tags[i] == want[0]) {
      CHECK_EQ(statuses[i], DBR_SUCCESS);
      CHECK_EQ(sizes[i], 2);
    } else if (tags[i] == want[1]) {
      CHECK_EQ(sizes[i], DBRX_TAKE_LATER); /* kept: collected with dbrxTake */
      char big[16];
      int64_t size = sizeof big;
      CHECK_EQ(dbrxTake(tags[i], big, &size), DBR_SUCCESS);
      CHECK_EQ(size, 6);
      CHECK(memcmp(big, "bbbbbb", 6) == 0);
    } else if (tags[i] == want[2]) {
      CHECK_EQ(statuses[i], DBR_SUCCESS);
      CHECK_EQ(sizes[i], 0);
    } else if (tags[i] == want[3]) {
      CHECK_EQ(statuses[i], DBR_ERR_UNAVAIL);
      CHECK_EQ(sizes[i], DBRX_NO_VALUE);
    } else {
      CHECK_EQ(tags[i], want[4]);
      CHECK_EQ(statuses[i], DBR_SUCCESS);
      CHECK_EQ(sizes[i], DBRX_NO_VALUE);
    }
  }
  /* collected tags are released */
  int64_t size = sizeof buf;
  CHECK_EQ(dbrxTake(want[0], buf, &size), DBR_ERR_TAGERROR);
  /* bad arguments */
  CHECK_EQ(dbrxQueueDrainTake(q, NULL, statuses, sizes, buf, sizeof buf, 8), -1);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  CHECK_EQ(dbrxQueueDrainTake(q, tags, statuses, sizes, NULL, 4, 8), -1);
  CHECK_EQ(dbrxQueueDrainTake(q, tags, statuses, sizes, buf, -1, 8), -1);
  CHECK_EQ(dbrxQueueDrainTake((dbrx_queue_t *)(uintptr_t)77, tags, statuses, sizes, buf, sizeof buf, 8), -1);
  CHECK_EQ(dbrxQueueDrainTake(q, tags, statuses, sizes, NULL, 0, 8), 0);
  dbrxQueueClose(q);
  CHECK_EQ(dbrDelete("drain-take"), DBR_SUCCESS);
  return CHECK_DONE();
}
