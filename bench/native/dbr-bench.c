/*
 * dbr-bench: drives libdbr from C, the peer of the TypeScript side in `pnpm bench`.
 *
 *   dbr-bench OP SIZE DEPTH SECONDS
 *     OP     putget | put | read | get
 *     SIZE   value size in bytes
 *     DEPTH  requests in flight: 1 uses the blocking calls; >1 uses dbrx async requests on a completion queue
 *   prints one JSON object: {"op":..., "ops_per_sec":..., "ops":..., "seconds":...}
 *
 * put+get pairs count as one operation for OP=putget.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "libdatabroker.h"
#include "libdbr_ext.h"

/* Operations per timed batch: 20,000 for small values, fewer for large ones (one 64 MiB pair per batch), so a
 * batch never outlasts the requested seconds by much. */
#define MAX_BATCH 20000
#define BATCH_BYTES (64LL << 20)
static int BATCH = MAX_BATCH;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "dbr-bench: %s failed: %d (%s)\n", what, rc, dbrxLastError());
  exit(1);
}

/* Waits until n tags of the queue completed and collects them. */
static void collect(dbrx_queue_t *q, int qfd, int n, char *buf, int64_t cap)
{
  DBR_Tag_t tags[256];
  char sink[64];
  while (n > 0) {
    int got = dbrxQueueDrain(q, tags, 256);
    if (got == 0) {
      struct pollfd p = { .fd = qfd, .events = POLLIN };
      poll(&p, 1, 1000);
      while (read(qfd, sink, sizeof sink) > 0) {
      }
      continue;
    }
    for (int i = 0; i < got; i++) {
      int64_t size = cap;
      int rc = dbrxTake(tags[i], buf, &size);
      if (rc != DBR_SUCCESS) die("dbrxTake", rc);
    }
    n -= got;
  }
}

int main(int argc, char **argv)
{
  if (argc != 5) {
    fprintf(stderr, "usage: dbr-bench putget|put|read|get SIZE DEPTH SECONDS\n");
    return 2;
  }
  const char *op = argv[1];
  int64_t size = atoll(argv[2]);
  int depth = atoi(argv[3]);
  double seconds = atof(argv[4]);
  if (size > 0 && BATCH_BYTES / size < MAX_BATCH) BATCH = BATCH_BYTES / size > 0 ? (int)(BATCH_BYTES / size) : 1;
  if (depth > BATCH) depth = BATCH;
  char nsname[64];
  snprintf(nsname, sizeof nsname, "bench-c-%d", (int)getpid());
  DBR_Handle_t h = dbrCreate(nsname, DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  if (h == NULL) die("dbrCreate", dbrxLastErrorCode());
  char *value = malloc((size_t)size + 1);
  char *out = malloc((size_t)size + 1);
  memset(value, 'v', (size_t)size);
  dbrx_queue_t *q = NULL;
  int qfd = -1;
  if (depth > 1) {
    q = dbrxQueueOpen();
    qfd = dbrxQueueFd(q);
  }
  int is_read = strcmp(op, "read") == 0, is_get = strcmp(op, "get") == 0, is_put = strcmp(op, "put") == 0;
  if (is_read) dbrPut(h, value, size, "k", DBR_GROUP_EMPTY);
  /* get prefills a batch in one dbrxPutMany call, as the TS side does with putMany: BATCH synchronous puts
   * would take seconds on Redis, leaving the timed gets short bursts between idle stretches. */
  char *packed = NULL;
  int64_t packed_len = 0;
  if (is_get) {
    int64_t rec = 12 + 1 + size;
    packed_len = rec * BATCH;
    packed = malloc((size_t)packed_len);
    for (int i = 0; i < BATCH; i++) {
      unsigned char *p = (unsigned char *)packed + rec * i;
      uint32_t nl = 1;
      uint64_t vl = (uint64_t)size;
      for (int b = 0; b < 4; b++) p[b] = (unsigned char)(nl >> (8 * b));
      for (int b = 0; b < 8; b++) p[4 + b] = (unsigned char)(vl >> (8 * b));
      p[12] = 'k';
      memcpy(p + 13, value, (size_t)size);
    }
  }

  long ops = 0;
  double timed = 0;
  double deadline = now() + seconds;
  while (now() < deadline) {
    if (is_get) { /* prefill, untimed */
      int rc = dbrxPutMany(h, packed, packed_len);
      if (rc != DBR_SUCCESS) die("dbrxPutMany", rc);
    }
    double t0 = now();
    for (int i = 0; i < BATCH; i += depth) {
      int n = depth;
      if (depth == 1) {
        int64_t cap = size;
        int rc = DBR_SUCCESS;
        if (is_put || !strcmp(op, "putget")) rc = dbrPut(h, value, size, "k", DBR_GROUP_EMPTY);
        if (rc != DBR_SUCCESS) die("dbrPut", rc);
        if (is_read) rc = dbrRead(h, out, &cap, "k", "", DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT);
        else if (!is_put) rc = dbrGet(h, out, &cap, "k", "", DBR_GROUP_EMPTY, DBR_FLAGS_NOWAIT);
        if (rc != DBR_SUCCESS) die(op, rc);
        continue;
      }
      for (int j = 0; j < n; j++) {
        if (is_put || !strcmp(op, "putget")) {
          if (dbrxPutAsync(q, h, value, size, "k") < 0) die("dbrxPutAsync", dbrxLastErrorCode());
        }
      }
      if (is_put || !strcmp(op, "putget")) collect(q, qfd, n, out, size);
      if (!is_put) {
        for (int j = 0; j < n; j++) {
          DBR_Tag_t t = is_read ? dbrxReadAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0) : dbrxGetAsync(q, h, "k", NULL, DBR_FLAGS_NOWAIT, 0);
          if (t < 0) die("async take", dbrxLastErrorCode());
        }
        collect(q, qfd, n, out, size);
      }
    }
    timed += now() - t0;
    ops += BATCH;
    if (is_put) dbrRemove(h, DBR_GROUP_EMPTY, "k", NULL); /* keep memory flat, untimed */
  }
  if (q) dbrxQueueClose(q);
  dbrDetach(h);
  dbrDelete(nsname);
  printf("{\"op\":\"%s\",\"size\":%lld,\"depth\":%d,\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n", op, (long long)size, depth, ops,
         timed, (double)ops / timed);
  free(value);
  free(out);
  free(packed);
  return 0;
}
