/*
 * Intrusive hash table: see hashmap.h. The scan is Redis's dictScan() for a single table.
 */
#include "hashmap.h"

#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 8

int htab_init(htab_t *t, size_t buckets)
{
  if (buckets < MIN_BUCKETS) buckets = MIN_BUCKETS;
  t->b = calloc(buckets, sizeof *t->b);
  t->mask = buckets - 1;
  t->n = 0;
  return t->b ? 0 : -1;
}

void htab_destroy(htab_t *t)
{
  free(t->b);
  t->b = NULL;
  t->mask = 0;
  t->n = 0;
}

htab_ent_t *htab_find(const htab_t *t, const char *key, size_t klen, uint64_t hash)
{
  for (htab_ent_t *e = t->b[hash & t->mask]; e; e = e->hnext)
    if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
  return NULL;
}

static void rehash(htab_t *t, size_t buckets)
{
  htab_ent_t **nb = calloc(buckets, sizeof *nb);
  if (nb == NULL) return; /* keep the old size: slower, still correct */
  size_t nmask = buckets - 1;
  for (size_t i = 0; i <= t->mask; i++) {
    htab_ent_t *e = t->b[i];
    while (e) {
      htab_ent_t *next = e->hnext;
      e->hnext = nb[e->hash & nmask];
      nb[e->hash & nmask] = e;
      e = next;
    }
  }
  free(t->b);
  t->b = nb;
  t->mask = nmask;
}

void htab_insert(htab_t *t, htab_ent_t *e)
{
  if (t->n >= t->mask + 1 && t->mask + 1 < (SIZE_MAX >> 4)) rehash(t, (t->mask + 1) * 2);
  htab_ent_t **head = &t->b[e->hash & t->mask];
  e->hnext = *head;
  *head = e;
  t->n++;
}

void htab_maybe_shrink(htab_t *t)
{
  size_t buckets = t->mask + 1;
  if (buckets > MIN_BUCKETS && t->n * 8 < buckets) {
    size_t nb = buckets;
    while (nb > MIN_BUCKETS && t->n * 8 < nb) nb /= 2;
    rehash(t, nb);
  }
}

void htab_remove(htab_t *t, htab_ent_t *e, int shrink)
{
  htab_ent_t **pp = &t->b[e->hash & t->mask];
  while (*pp && *pp != e) pp = &(*pp)->hnext;
  if (*pp == NULL) return;
  *pp = e->hnext;
  e->hnext = NULL;
  t->n--;
  if (shrink) htab_maybe_shrink(t);
}

static size_t rev(size_t v)
{
  size_t s = 8 * sizeof(v);
  size_t mask = ~(size_t)0;
  while ((s >>= 1) > 0) {
    mask ^= (mask << s);
    v = ((v >> s) & mask) | ((v << s) & ~mask);
  }
  return v;
}

size_t htab_scan(const htab_t *t, size_t v, void (*fn)(void *ctx, htab_ent_t *e), void *ctx)
{
  if (t->n == 0) return 0;
  size_t m0 = t->mask;
  for (htab_ent_t *e = t->b[v & m0]; e; e = e->hnext) fn(ctx, e);
  v |= ~m0;
  v = rev(v);
  v++;
  v = rev(v);
  return v;
}
