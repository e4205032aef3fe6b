/*
 * The tag table: the request each live tag names (dbrTest, dbrCancel, dbrxTake, a queue's close), holding a
 * reference on it. See request.h.
 */
#include "request.h"

#include <stdlib.h>

/* ---- the tag table: sharded open-addressing maps tag -> request ---- */

#define TAG_SHARDS 16

typedef struct {
  pthread_mutex_t mu;
  DBR_Tag_t *keys; /* 0 = empty */
  dbr_req_t **vals;
  size_t cap, n;   /* cap is a power of two */
} tag_shard_t;

static tag_shard_t g_tags[TAG_SHARDS];
static pthread_once_t g_tags_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t g_next_tag = 1;

static void tags_init(void)
{
  for (int i = 0; i < TAG_SHARDS; i++) pthread_mutex_init(&g_tags[i].mu, NULL);
}

static inline tag_shard_t *shard_of(DBR_Tag_t tag)
{
  return &g_tags[(uint64_t)tag % TAG_SHARDS];
}

static inline size_t slot_hash(DBR_Tag_t tag, size_t cap)
{
  return (size_t)(((uint64_t)tag / TAG_SHARDS) * UINT64_C(0x9E3779B97F4A7C15) >> 20) & (cap - 1);
}

static int shard_grow(tag_shard_t *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 64;
  DBR_Tag_t *nk = calloc(ncap, sizeof *nk);
  dbr_req_t **nv = calloc(ncap, sizeof *nv);
  if (nk == NULL || nv == NULL) {
    free(nk);
    free(nv);
    return -1;
  }
  for (size_t i = 0; i < s->cap; i++) {
    if (s->keys[i] == 0) continue;
    size_t j = slot_hash(s->keys[i], ncap);
    while (nk[j] != 0) j = (j + 1) & (ncap - 1);
    nk[j] = s->keys[i];
    nv[j] = s->vals[i];
  }
  free(s->keys);
  free(s->vals);
  s->keys = nk;
  s->vals = nv;
  s->cap = ncap;
  return 0;
}

static long shard_find(tag_shard_t *s, DBR_Tag_t tag)
{
  if (s->cap == 0) return -1;
  size_t i = slot_hash(tag, s->cap);
  while (s->keys[i] != 0) {
    if (s->keys[i] == tag) return (long)i;
    i = (i + 1) & (s->cap - 1);
  }
  return -1;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void shard_erase(tag_shard_t *s, size_t i)
{
  size_t mask = s->cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (s->keys[j] == 0) break;
    size_t home = slot_hash(s->keys[j], s->cap);
    /* move j into the hole at i if its home is not within (i, j] cyclically */
    if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
      s->keys[i] = s->keys[j];
      s->vals[i] = s->vals[j];
      i = j;
    }
  }
  s->keys[i] = 0;
  s->vals[i] = NULL;
  s->n--;
}

DBR_Tag_t dbr_tag_new(dbr_req_t *req)
{
  pthread_once(&g_tags_once, tags_init);
  DBR_Tag_t tag = atomic_fetch_add(&g_next_tag, 1);
  tag_shard_t *s = shard_of(tag);
  pthread_mutex_lock(&s->mu);
  if ((s->n + 1) * 4 > s->cap * 3 && shard_grow(s) != 0) {
    pthread_mutex_unlock(&s->mu);
    return DB_TAG_ERROR;
  }
  size_t i = slot_hash(tag, s->cap);
  while (s->keys[i] != 0) i = (i + 1) & (s->cap - 1);
  s->keys[i] = tag;
  s->vals[i] = req;
  s->n++;
  dbr_req_ref(req);
  req->tag = tag;
  pthread_mutex_unlock(&s->mu);
  return tag;
}

dbr_req_t *dbr_tag_get(DBR_Tag_t tag)
{
  if (tag <= 0) return NULL;
  pthread_once(&g_tags_once, tags_init);
  tag_shard_t *s = shard_of(tag);
  dbr_req_t *req = NULL;
  pthread_mutex_lock(&s->mu);
  long i = shard_find(s, tag);
  if (i >= 0) {
    req = s->vals[i];
    dbr_req_ref(req);
  }
  pthread_mutex_unlock(&s->mu);
  return req;
}

int dbr_tag_drop(DBR_Tag_t tag)
{
  if (tag <= 0) return 0;
  pthread_once(&g_tags_once, tags_init);
  tag_shard_t *s = shard_of(tag);
  dbr_req_t *req = NULL;
  pthread_mutex_lock(&s->mu);
  long i = shard_find(s, tag);
  if (i >= 0) {
    req = s->vals[i];
    shard_erase(s, (size_t)i);
  }
  pthread_mutex_unlock(&s->mu);
  if (req == NULL) return 0;
  dbr_req_unref(req);
  return 1;
}

long dbr_tag_collect_queue(struct dbr_queue *q, dbr_req_t ***out)
{
  pthread_once(&g_tags_once, tags_init);
  dbr_req_t **v = NULL;
  size_t n = 0, cap = 0;
  for (int k = 0; k < TAG_SHARDS; k++) {
    tag_shard_t *s = &g_tags[k];
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap; i++) {
      if (s->keys[i] == 0 || s->vals[i]->queue != q) continue;
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        dbr_req_t **nv = realloc(v, ncap * sizeof *nv);
        if (nv == NULL) {
          pthread_mutex_unlock(&s->mu);
          for (size_t j = 0; j < n; j++) dbr_req_unref(v[j]);
          free(v);
          return -1;
        }
        v = nv;
        cap = ncap;
      }
      dbr_req_ref(s->vals[i]);
      v[n++] = s->vals[i];
    }
    pthread_mutex_unlock(&s->mu);
  }
  *out = v;
  return (long)n;
}
