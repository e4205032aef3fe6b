/*
 * libFuzzer harness over every entry point of libdbr (memory backend).
 *
 * The input is a little program: each op byte picks an API call, the bytes after it pick its arguments
 * (handles live, detached or forged; names from a pool or raw bytes, up to 1500 bytes, with newlines and
 * non-UTF-8; sizes small, negative or huge; tiny buffers; NULL pointers; flags with unknown bits; tags valid,
 * reused or forged; iterators; queues). Nothing may crash, hang, leak or trip ASan/UBSan. Each run ends by
 * releasing everything it made (fuzz-state.c), so leaks show up per input.
 *
 * Sync calls never block for long: DBR_TIMEOUT is 1 ms and per-call timeouts are at most a few ms.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-api.h"

typedef struct {
  const uint8_t *p;
  size_t n;
} in_t;

static uint8_t u8(in_t *in)
{
  if (in->n == 0) return 0;
  in->n--;
  return *in->p++;
}

static uint64_t u64(in_t *in)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | u8(in);
  return v;
}

static char namebuf[4][1600];
static unsigned char data[4096];
static unsigned char abuf[8][512]; /* buffers of A-calls: static, so a late completion never writes freed memory */
static int64_t asize[8];

static const char *name_pool[] = {"a", "b", "c*", "t:1", "t:2", "", "x\ny", NULL, "\xff\xfe", "[a]"};
static const char *tmpl_pool[] = {"*", "t:*", "?", "[ab]", "\\*", "", NULL, "*a*a*a*b", "[", "c\\*"};

static const char *name_of(in_t *in, int slot, const char **pool, size_t npool)
{
  uint8_t b = u8(in);
  if (b < 0xc0) return pool[b % npool];
  size_t len;
  if (b == 0xff)
    len = 1500;
  else if (b == 0xfe)
    len = 1023;
  else if (b == 0xfd)
    len = 1024;
  else
    len = u8(in) % 24;
  char *s = namebuf[slot];
  uint8_t fill = u8(in);
  for (size_t i = 0; i < len; i++) {
    uint8_t c = i < 8 ? u8(in) : fill;
    s[i] = c ? (char)c : 'z';
  }
  s[len] = '\0';
  return s;
}

#define NAME(slot) name_of(in, (slot), name_pool, sizeof name_pool / sizeof *name_pool)
#define TMPL(slot) name_of(in, (slot), tmpl_pool, sizeof tmpl_pool / sizeof *tmpl_pool)

static DBR_Handle_t handle_of(in_t *in)
{
  uint8_t b = u8(in);
  if (b < 0xe0) return handles[b % MAXH];
  switch (b & 7) {
  case 0: return NULL;
  case 1: return (DBR_Handle_t)(uintptr_t)1;
  case 2: return (DBR_Handle_t)(uintptr_t)0xdeadbeef;
  case 3: return (DBR_Handle_t)((uintptr_t)handles[0] + 4);
  case 4: return (DBR_Handle_t)(uintptr_t)u64(in);
  case 5: return (DBR_Handle_t)queues[0];
  case 6: return (DBR_Handle_t)iters[0];
  default: return (DBR_Handle_t)data; /* a real pointer, not a handle */
  }
}

static DBR_Tag_t tag_of(in_t *in)
{
  uint8_t b = u8(in);
  if (b < 0xf0 && ntags > 0) return tags[b % ntags];
  switch (b & 3) {
  case 0: return 0;
  case 1: return -1;
  case 2: return (DBR_Tag_t)u64(in);
  default: return ntags ? tags[ntags - 1] + 1 : 1;
  }
}

static dbrx_queue_t *queue_of(in_t *in)
{
  uint8_t b = u8(in);
  if (b < 0xf0) return queues[b % MAXQ];
  return b & 1 ? NULL : (dbrx_queue_t *)handles[0];
}

static int flags_of(in_t *in)
{
  uint8_t b = u8(in);
  if (b >= 0xf8) return (int)(int32_t)u64(in);
  return (b & 0x0f) | ((b >> 4) % 4) << DBR_FLAGS_INDEX_SHIFT;
}

/* Timeouts of sync calls: never long. INFINITE only with NOWAIT. */
static int64_t sync_timeout(in_t *in, int *flags)
{
  switch (u8(in) % 6) {
  case 0: return 0;
  case 1: return 1;
  case 2: return DBRX_TIMEOUT_DEFAULT;
  case 3: return -7;
  case 4:
    *flags |= DBR_FLAGS_NOWAIT;
    return DBRX_TIMEOUT_INFINITE;
  default: return 2;
  }
}

static int64_t async_timeout(in_t *in)
{
  switch (u8(in) % 5) {
  case 0: return 0;
  case 1: return 1;
  case 2: return DBRX_TIMEOUT_DEFAULT;
  case 3: return DBRX_TIMEOUT_INFINITE;
  default: return -3;
  }
}

static int64_t size_of(in_t *in, int64_t cap)
{
  uint8_t b = u8(in);
  if (b == 0xff) return -1 - (int64_t)(u8(in));
  if (b == 0xfe) return INT64_MIN;
  return (int64_t)(u64(in) % (uint64_t)(cap + 1));
}

static void op(in_t *in)
{
  unsigned char buf[600];
  char tname[DBR_MAX_KEY_LEN + 1];
  uint8_t code = u8(in);
  switch (code % 28) {
  case 0: {
    const char *n = NAME(0);
    int level = u8(in) % 8 - 1;
    remember_ns(n);
    put_handle(dbrCreate((char *)n, (DBR_Tuple_persist_level_t)level, NULL));
    break;
  }
  case 1: {
    const char *n = NAME(0);
    put_handle(dbrAttach((char *)n));
    break;
  }
  case 2: {
    uint8_t b = u8(in);
    int i = b % MAXH;
    dbrDetach(b & 0x80 ? handle_of(in) : handles[i]); /* detached handles stay in the table: dangling */
    if (!(b & 0x80)) handle_live[i] = 0;
    break;
  }
  case 3:
    dbrDelete((char *)NAME(0));
    break;
  case 4: {
    DBR_Handle_t h = handle_of(in);
    int64_t size = size_of(in, sizeof data);
    const char *n = NAME(0);
    dbrPut(h, u8(in) == 0 ? NULL : data, size, (char *)n, NULL);
    break;
  }
  case 5:
  case 6: {
    DBR_Handle_t h = handle_of(in);
    int64_t cap = size_of(in, sizeof buf);
    const char *n = NAME(0), *t = TMPL(1);
    int flags = flags_of(in) | DBR_FLAGS_NOWAIT;
    if (u8(in) == 7) flags &= ~DBR_FLAGS_NOWAIT; /* waits DBR_TIMEOUT (1 ms) */
    int64_t *sp = u8(in) == 3 ? NULL : &cap;
    if (code % 28 == 5)
      dbrGet(h, cap == 0 ? NULL : buf, sp, (char *)n, (char *)t, NULL, flags);
    else
      dbrRead(h, buf, sp, (char *)n, (char *)t, NULL, flags);
    break;
  }
  case 7: {
    DBR_Handle_t h = handle_of(in);
    int64_t size = size_of(in, sizeof data);
    add_tag(dbrPutA(h, data, size, (char *)NAME(0), NULL));
    break;
  }
  case 8: {
    DBR_Handle_t h = handle_of(in);
    int slot = u8(in) % 8;
    asize[slot] = size_of(in, sizeof abuf[slot]);
    const char *n = NAME(0), *t = TMPL(1);
    if (u8(in) & 1)
      add_tag(dbrGetA(h, abuf[slot], &asize[slot], (char *)n, (char *)t, NULL));
    else
      add_tag(dbrReadA(h, abuf[slot], &asize[slot], (char *)n, (char *)t, NULL));
    break;
  }
  case 9:
    dbrTest(tag_of(in));
    break;
  case 10:
    dbrCancel(tag_of(in));
    break;
  case 11: {
    DBR_Tag_t t = tag_of(in);
    int64_t cap = size_of(in, sizeof buf);
    dbrxTake(t, u8(in) == 1 ? NULL : buf, u8(in) == 2 ? NULL : &cap);
    break;
  }
  case 12:
    dbrTestKey(handle_of(in), (char *)NAME(0));
    break;
  case 13: {
    DBR_Handle_t h = handle_of(in);
    const char *t = TMPL(0);
    unsigned count = u8(in) % 4;
    size_t size = (size_t)(u8(in) % (sizeof buf + 1));
    int64_t ret;
    dbrDirectory(h, (char *)t, NULL, count, size || u8(in) ? (char *)buf : NULL, size, u8(in) ? &ret : NULL);
    break;
  }
  case 14: {
    DBR_Handle_t h = handle_of(in);
    uint8_t b = u8(in);
    DBR_Iterator_t it = b < 0x80 ? iters[b % MAXI] : b < 0xf0 ? DBR_ITERATOR_NEW : (DBR_Iterator_t)(uintptr_t)u64(in);
    DBR_Iterator_t next;
    uint8_t how = u8(in);
    if (how & 0x80) { /* many per call */
      char many[2 * DBR_MAX_KEY_LEN];
      unsigned got;
      size_t size = (size_t)u8(in) * 16 % (sizeof many + 1);
      next = it;
      dbrxIteratorNextMany(h, how == 0xff ? NULL : &next, (char *)TMPL(0), how % 8, how == 0xfe ? NULL : many, size,
                           how == 0xfd ? NULL : &got);
    } else {
      next = dbrIterator(h, it, NULL, (char *)TMPL(0), how == 5 ? NULL : tname);
    }
    for (int i = 0; i < MAXI; i++)
      if (iters[i] == it && it != NULL) iters[i] = NULL; /* NULL result: it is gone */
    if (next) {
      int i = b % MAXI;
      if (iters[i] && iters[i] != next) dbrxIteratorFree(iters[i]);
      iters[i] = next;
    }
    break;
  }
  case 15: {
    uint8_t b = u8(in);
    if (b < 0xf0) {
      dbrxIteratorFree(iters[b % MAXI]);
      iters[b % MAXI] = NULL;
    } else {
      dbrxIteratorFree((DBR_Iterator_t)(uintptr_t)u64(in));
    }
    break;
  }
  case 16: {
    DBR_Handle_t a = handle_of(in), b = handle_of(in);
    dbrMove(a, NULL, (char *)NAME(0), (char *)TMPL(1), b, NULL);
    break;
  }
  case 17: {
    DBR_Handle_t h = handle_of(in);
    dbrRemove(h, NULL, (char *)NAME(0), (char *)TMPL(1));
    break;
  }
  case 18: {
    DBR_Handle_t h = handle_of(in);
    DBR_State_t st;
    dbrx_stat_t xs;
    int64_t c;
    uint8_t b = u8(in);
    dbrQuery(h, b & 1 ? NULL : &st, DBR_STATE_MASK_ALL);
    dbrxStat(h, b & 2 ? NULL : &xs);
    dbrxCount(h, (char *)NAME(0), b & 4 ? NULL : &c);
    dbrxNamespaceName(h, b & 8 ? NULL : tname, (size_t)(u8(in) * 5));
    dbrAddUnits(h, NULL);
    dbrRemoveUnits(h, NULL);
    dbrEval(h, buf, 1, "x", NULL, NULL);
    break;
  }
  case 19: {
    int i = u8(in) % MAXQ;
    if (queues[i]) {
      dbrxQueueClose(queues[i]);
      if (u8(in) & 1) dbrxQueueClose(queues[i]); /* twice */
      queues[i] = NULL;
    } else {
      queues[i] = dbrxQueueOpen();
    }
    break;
  }
  case 20: {
    dbrx_queue_t *q = queue_of(in);
    /* corked, later requests on q are held (and start 16 at a time) until an uncork or the queue's close */
    if (u8(in) % 4 == 0) dbrxQueueCork(q, u8(in) & 1);
    int fd = dbrxQueueFd(q);
    if (fd >= 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, 0);
    }
    DBR_Tag_t drained[8];
    int max = (int)(u8(in) % 10) - 1;
    if (u8(in) & 1) {
      dbrxQueueDrain(q, u8(in) == 9 ? NULL : drained, max > 8 ? 8 : max);
    } else { /* collects too: the tags it drains are gone from the fuzzer's list's point of view */
      int32_t st[8], sz[8];
      dbrxQueueDrainTake(q, drained, st, sz, buf, (int64_t)(u8(in) % 32), max > 8 ? 8 : max);
    }
    break;
  }
  case 21: {
    dbrx_queue_t *q = queue_of(in);
    DBR_Handle_t h = handle_of(in);
    int flags = flags_of(in);
    int64_t to = async_timeout(in);
    const char *n = NAME(0), *t = TMPL(1);
    switch (u8(in) % 7) {
    case 0: add_tag(dbrxGetAsync(q, h, n, t, flags, to)); break;
    case 1: add_tag(dbrxReadAsync(q, h, n, t, flags, to)); break;
    case 2: add_tag(dbrxPutAsync(q, h, data, size_of(in, sizeof data), n)); break;
    case 3: add_tag(dbrxMoveValueAsync(q, h, n, handle_of(in), NAME(2), flags, to)); break;
    case 4: { /* name lists joined from fuzzed names (NULL names leave empty entries) */
      char src[160], dst[160];
      const char *a = NAME(0), *b = NAME(1), *c = NAME(2);
      snprintf(src, sizeof src, "%s%s%s", a ? a : "", u8(in) & 1 ? "\n" : "", b ? b : "");
      snprintf(dst, sizeof dst, "%s", c ? c : "");
      add_tag(dbrxMoveManyAsync(q, h, u8(in) == 7 ? NULL : src, dst));
      break;
    }
    case 5: { /* a pop-put batch from raw input bytes (its buffer stays valid: data is static) */
      int64_t len = size_of(in, 64);
      memcpy(data, in->p, in->n < 64 ? in->n : 64);
      add_tag(dbrxPopPutManyAsync(q, h, data, len));
      break;
    }
    default: {
      int64_t len = size_of(in, 64);
      memcpy(data, in->p, in->n < 64 ? in->n : 64);
      add_tag(dbrxPutManyAsync(q, h, data, len));
    }
    }
    break;
  }
  case 22: {
    DBR_Handle_t a = handle_of(in), b = handle_of(in);
    int flags = flags_of(in);
    int64_t to = sync_timeout(in, &flags);
    int64_t cap = size_of(in, sizeof buf);
    uint8_t m = u8(in);
    dbrxMoveValue(a, NAME(0), b, NAME(1), m & 1 ? NULL : buf, m & 2 ? NULL : &cap, flags, to);
    break;
  }
  case 23: {
    /* a packed batch: either well formed from the input, or raw input bytes */
    DBR_Handle_t h = handle_of(in);
    unsigned char pk[512];
    size_t len = 0;
    if (u8(in) & 1) {
      int recs = u8(in) % 4;
      for (int r = 0; r < recs; r++) {
        const char *n = NAME(0);
        size_t nl = n ? strlen(n) : 0;
        size_t vl = u8(in) % 16;
        if (len + 12 + nl + vl > sizeof pk) break;
        for (int k = 0; k < 4; k++) pk[len + k] = (unsigned char)(nl >> (8 * k));
        for (int k = 0; k < 8; k++) pk[len + 4 + k] = (unsigned char)(vl >> (8 * k));
        memcpy(pk + len + 12, n ? n : "", nl);
        memset(pk + len + 12 + nl, 'v', vl);
        len += 12 + nl + vl;
      }
    } else {
      len = u8(in) % 64;
      for (size_t k = 0; k < len; k++) pk[k] = u8(in);
    }
    int64_t l = (int64_t)len;
    uint8_t b = u8(in);
    if (b == 1) l = -1;
    if (b == 2) l = (int64_t)len + 1; /* claims more than is there: must not read past it */
    dbrxPutMany(h, b == 3 ? NULL : pk, b == 2 ? (int64_t)len : l);
    break;
  }
  case 24: {
    int64_t ret;
    size_t size = (size_t)(u8(in) % (sizeof buf + 1));
    dbrxNamespaces(TMPL(0), u8(in) % 3, size || u8(in) ? (char *)buf : NULL, size, &ret);
    break;
  }
  case 25: {
    /* huge sizes: NOMEMORY, never a crash (malloc fails before anything is read) */
    DBR_Handle_t h = handle_of(in);
    int64_t size = (int64_t)(((uint64_t)1 << 48) + u64(in) % ((uint64_t)1 << 60));
    dbrPut(h, data, size, (char *)NAME(0), NULL);
    break;
  }
  case 26: {
    DBR_Handle_t h = handle_of(in);
    int flags = flags_of(in);
    int64_t to = sync_timeout(in, &flags);
    int64_t cap = size_of(in, sizeof buf);
    const char *n = NAME(0), *t = TMPL(1);
    if (u8(in) & 1)
      dbrxGet(h, buf, &cap, n, t, flags, to);
    else
      dbrxRead(h, buf, &cap, n, t, flags, to);
    break;
  }
  default:
    dbrxBackend();
    dbrxLastError();
    dbrxLastErrorCode();
    break;
  }
}
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  unsetenv("DBR_SERVER");
  setenv("DBR_TIMEOUT", "0.001", 1);
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
  in_t in = {p, n};
  int ops = 0;
  while (in.n > 0 && ops++ < 200) op(&in);
  cleanup();
  return 0;
}
