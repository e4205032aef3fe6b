/*
 * A thread that ends without closing its completion queue: its pending requests are cancelled, so a get
 * among them never takes a value for nobody.
 */
#include <pthread.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static DBR_Handle_t g_h;
static DBR_Tag_t g_tag;

static void *abandon(void *arg)
{
  (void)arg;
  dbrx_queue_t *q = dbrxQueueOpen();
  g_tag = dbrxGetAsync(q, g_h, "work", NULL, DBR_FLAGS_NONE, DBRX_TIMEOUT_INFINITE);
  return NULL; /* exits without dbrxQueueClose */
}

int main(void)
{
  g_h = dbrCreate("thread-exit", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(g_h != NULL);
  pthread_t t;
  pthread_create(&t, NULL, abandon, NULL);
  pthread_join(t, NULL);
  CHECK(g_tag > 0);
  CHECK_EQ(dbrTest(g_tag), DBR_ERR_TAGERROR); /* the queue closed with its thread: the tag is gone */
  CHECK_EQ(dbrPut(g_h, "task", 4, "work", DBR_GROUP_EMPTY), DBR_SUCCESS);
  int64_t count = -1;
  CHECK_EQ(dbrxCount(g_h, "work", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1); /* nobody took it */
  /* a queue closed by its thread before exit is not closed twice */
  dbrx_queue_t *q = dbrxQueueOpen();
  CHECK_EQ(dbrxQueueClose(q), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("thread-exit"), DBR_SUCCESS);
  return CHECK_DONE();
}
