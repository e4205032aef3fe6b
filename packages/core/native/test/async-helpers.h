/*
 * Helpers shared by test-async.c and test-queue.c (memory backend): the namespace handle they work in, a clock,
 * and puts, now or from another thread a little later.
 */
#ifndef TEST_ASYNC_HELPERS_H_
#define TEST_ASYNC_HELPERS_H_

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "libdbr_ext.h"

#define ASYNC_FN static __attribute__((unused))

static DBR_Handle_t h; /* the namespace the checks work in */

ASYNC_FN double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

ASYNC_FN void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

ASYNC_FN DBR_Errorcode_t put_s(const char *name, const char *val)
{
  return dbrPut(h, (void *)val, (int64_t)strlen(val), (char *)name, NULL);
}

typedef struct {
  int delay_ms;
  const char *name;
  const char *val;
} delayed_put_t;

ASYNC_FN void *delayed_put(void *arg)
{
  delayed_put_t *d = arg;
  sleep_ms(d->delay_ms);
  put_s(d->name, d->val);
  return NULL;
}

ASYNC_FN pthread_t put_later(delayed_put_t *d)
{
  pthread_t t;
  pthread_create(&t, NULL, delayed_put, d);
  return t;
}

#endif /* TEST_ASYNC_HELPERS_H_ */
