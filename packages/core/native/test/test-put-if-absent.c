/*
 * dbrxPutIfAbsent: stores only when the name holds no value, atomically across threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static DBR_Handle_t g_h;
static atomic_int g_winners;

static void *race(void *arg)
{
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "key-%d", i);
    int stored = -1;
    if (dbrxPutIfAbsent(g_h, "x", 1, name, &stored) == DBR_SUCCESS && stored == 1) atomic_fetch_add(&g_winners, 1);
  }
  return NULL;
}

int main(void)
{
  g_h = dbrCreate("put-if-absent", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(g_h != NULL);
  int stored = -1;
  CHECK_EQ(dbrxPutIfAbsent(g_h, "first", 5, "k", &stored), DBR_SUCCESS);
  CHECK_EQ(stored, 1);
  CHECK_EQ(dbrxPutIfAbsent(g_h, "second", 6, "k", &stored), DBR_SUCCESS);
  CHECK_EQ(stored, 0);
  int64_t count = -1;
  CHECK_EQ(dbrxCount(g_h, "k", &count), DBR_SUCCESS);
  CHECK_EQ(count, 1);
  char buf[16];
  int64_t size = sizeof buf;
  CHECK_EQ(dbrGet(g_h, buf, &size, "k", NULL, DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK_MEM(buf, "first", 5);
  /* once the value is consumed the name is absent again */
  CHECK_EQ(dbrxPutIfAbsent(g_h, "third", 5, "k", &stored), DBR_SUCCESS);
  CHECK_EQ(stored, 1);
  /* invalid arguments */
  CHECK_EQ(dbrxPutIfAbsent(g_h, "x", 1, "k", NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutIfAbsent(g_h, NULL, 1, "k", &stored), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutIfAbsent(g_h, "x", -1, "k", &stored), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutIfAbsent(g_h, "x", 1, NULL, &stored), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutIfAbsent((DBR_Handle_t)(uintptr_t)12345, "x", 1, "k", &stored), DBR_ERR_HANDLE);
  /* four threads race for the same 1,000 names: exactly one wins each */
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, race, NULL);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  CHECK_EQ(atomic_load(&g_winners), 1000);
  CHECK_EQ(dbrDelete("put-if-absent"), DBR_SUCCESS);
  return CHECK_DONE();
}
