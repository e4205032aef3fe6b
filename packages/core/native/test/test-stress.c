/*
 * Concurrency: producers put, consumers take by every means (blocking get by template, async gets through
 * per-thread completion queues, move-value claims), while readers read and a thread attaches and detaches.
 * Every value must be consumed exactly once and the namespace must end empty.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

enum { PRODUCERS = 3, PER_PRODUCER = 20000, TOTAL = PRODUCERS * PER_PRODUCER, NAMES = 4 };

static DBR_Handle_t h;
static atomic_int consumed, dup_or_bad, stop_readers;
static atomic_int by_kind[3]; /* sync, queue, claim: printed for information */
static atomic_uchar seen[TOTAL];

static void record(const unsigned char *v, int64_t len)
{
  uint64_t id;
  if (len < 8) {
    atomic_fetch_add(&dup_or_bad, 1);
    return;
  }
  memcpy(&id, v, 8);
  uint64_t p = id >> 32, s = id & 0xffffffff;
  if (p >= PRODUCERS || s >= PER_PRODUCER || atomic_exchange(&seen[p * PER_PRODUCER + s], 1) != 0)
    atomic_fetch_add(&dup_or_bad, 1);
  atomic_fetch_add(&consumed, 1);
}

static void *producer(void *arg)
{
  uint64_t p = (uint64_t)(uintptr_t)arg;
  unsigned char v[64];
  memset(v, (int)p, sizeof v);
  for (uint64_t s = 0; s < PER_PRODUCER; s++) {
    uint64_t id = p << 32 | s;
    memcpy(v, &id, 8);
    char name[8] = {'s', (char)('0' + (s + p) % NAMES), 0};
    if (dbrPut(h, v, 8 + (int64_t)(s % 57), name, NULL) != DBR_SUCCESS) atomic_fetch_add(&dup_or_bad, 1000000);
  }
  return NULL;
}

/* Blocking gets by template. */
static void *consumer_sync(void *arg)
{
  (void)arg;
  unsigned char v[64];
  while (atomic_load(&consumed) < TOTAL) {
    int64_t size = sizeof v;
    DBR_Errorcode_t rc = dbrxGet(h, v, &size, NULL, "s*", 0, 200);
    if (rc == DBR_SUCCESS) {
      record(v, size);
      atomic_fetch_add(&by_kind[0], 1);
    } else if (rc != DBR_ERR_TIMEOUT) {
      atomic_fetch_add(&dup_or_bad, 1000000);
    }
  }
  return NULL;
}

/* Async gets through its own completion queue, eight in flight. */
static void *consumer_queue(void *arg)
{
  (void)arg;
  dbrx_queue_t *q = dbrxQueueOpen();
  int fd = dbrxQueueFd(q);
  int inflight = 0;
  DBR_Tag_t tags[16];
  unsigned char v[64];
  while (atomic_load(&consumed) < TOTAL) {
    while (inflight < 8) {
      const char *name = inflight % 2 ? "s1" : NULL;
      if (dbrxGetAsync(q, h, name, "s[03]", 0, 200) == DB_TAG_ERROR) {
        atomic_fetch_add(&dup_or_bad, 1000000);
        break;
      }
      inflight++;
    }
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 100) <= 0) continue;
    int n;
    while ((n = dbrxQueueDrain(q, tags, 16)) > 0) {
      for (int i = 0; i < n; i++) {
        int64_t size = sizeof v;
        DBR_Errorcode_t rc = dbrxTake(tags[i], v, &size);
        inflight--;
        if (rc == DBR_SUCCESS) {
          record(v, size);
          atomic_fetch_add(&by_kind[1], 1);
        } else if (rc != DBR_ERR_TIMEOUT)
          atomic_fetch_add(&dup_or_bad, 1000000);
      }
      if (n < 16) break;
    }
  }
  /* Withdraws what is still pending: nothing may be consumed by a closed queue. */
  dbrxQueueClose(q);
  return NULL;
}

/* Claims values from s2 with move-value into a private name, then takes them from there. */
static void *consumer_claim(void *arg)
{
  char mine[16];
  snprintf(mine, sizeof mine, "claimed%d", (int)(uintptr_t)arg);
  unsigned char v[64], w[64];
  while (atomic_load(&consumed) < TOTAL) {
    int64_t size = sizeof v;
    DBR_Errorcode_t rc = dbrxMoveValue(h, "s2", h, mine, v, &size, 0, 100);
    if (rc == DBR_ERR_TIMEOUT) continue;
    if (rc != DBR_SUCCESS) {
      atomic_fetch_add(&dup_or_bad, 1000000);
      continue;
    }
    int64_t wsize = sizeof w;
    if (dbrGet(h, w, &wsize, mine, NULL, NULL, DBR_FLAGS_NOWAIT) != DBR_SUCCESS || wsize != size ||
        memcmp(v, w, (size_t)size) != 0)
      atomic_fetch_add(&dup_or_bad, 1000000);
    record(w, wsize);
    atomic_fetch_add(&by_kind[2], 1);
  }
  return NULL;
}

static void *reader(void *arg)
{
  (void)arg;
  unsigned char v[64];
  char name[DBR_MAX_KEY_LEN + 1];
  while (!atomic_load(&stop_readers)) {
    int64_t size = sizeof v;
    DBR_Errorcode_t rc = dbrRead(h, v, &size, NULL, "s?", NULL, DBR_FLAGS_NOWAIT);
    if (rc != DBR_SUCCESS && rc != DBR_ERR_UNAVAIL) atomic_fetch_add(&dup_or_bad, 1000000);
    DBR_Iterator_t it = dbrIterator(h, DBR_ITERATOR_NEW, NULL, "s*", name);
    if (it) dbrxIteratorFree(it);
    dbrx_stat_t st;
    dbrxStat(h, &st);
  }
  return NULL;
}

static void *churner(void *arg)
{
  (void)arg;
  while (!atomic_load(&stop_readers)) {
    DBR_Handle_t x = dbrAttach("test-stress");
    if (x == NULL) {
      atomic_fetch_add(&dup_or_bad, 1000000);
      break;
    }
    dbrPut(x, "c", 1, "churn", NULL);
    int64_t size = 1;
    char c;
    dbrGet(x, &c, &size, "churn", NULL, NULL, DBR_FLAGS_NOWAIT);
    dbrDetach(x);
  }
  return NULL;
}

int main(void)
{
  unsetenv("DBR_SERVER");
  h = dbrCreate("test-stress", 0, NULL);
  CHECK(h != NULL);
  if (h == NULL) return CHECK_DONE();
  pthread_t prod[PRODUCERS], cons[4], rd[2];
  pthread_create(&cons[0], NULL, consumer_sync, NULL);
  pthread_create(&cons[1], NULL, consumer_queue, NULL);
  pthread_create(&cons[2], NULL, consumer_queue, NULL);
  pthread_create(&cons[3], NULL, consumer_claim, (void *)(uintptr_t)3);
  pthread_create(&rd[0], NULL, reader, NULL);
  pthread_create(&rd[1], NULL, churner, NULL);
  for (int i = 0; i < PRODUCERS; i++) pthread_create(&prod[i], NULL, producer, (void *)(uintptr_t)i);
  for (int i = 0; i < PRODUCERS; i++) pthread_join(prod[i], NULL);
  for (int i = 0; i < 4; i++) pthread_join(cons[i], NULL);
  atomic_store(&stop_readers, 1);
  pthread_join(rd[0], NULL);
  pthread_join(rd[1], NULL);

  printf("consumed: %d by blocking get, %d through queues, %d by move-value claims\n", atomic_load(&by_kind[0]),
         atomic_load(&by_kind[1]), atomic_load(&by_kind[2]));
  CHECK_EQ(atomic_load(&dup_or_bad), 0);
  CHECK_EQ(atomic_load(&consumed), TOTAL);
  int missing = 0;
  for (int i = 0; i < TOTAL; i++) missing += !atomic_load(&seen[i]);
  CHECK_EQ(missing, 0);
  dbrx_stat_t st;
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.values, 0);
  CHECK_EQ(st.names, 0);
  CHECK_EQ(st.refcnt, 1);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-stress"), DBR_SUCCESS);
  return CHECK_DONE();
}
