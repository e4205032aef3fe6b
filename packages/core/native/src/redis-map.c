/*
 * String-keyed hash map. See redis-map.h.
 */
#include <stdlib.h>
#include <string.h>
#include "redis-map.h"
#include "util.h"

uint64_t rmap_hash(const char *k, size_t len)
{
  return dbr_hash(k, len); /* 16 bytes a step: keyspace channels are ~60 bytes, hashed several times a message */
}

static rmap_ent_t **find(const rmap_t *m, const char *k, size_t len, uint64_t h)
{
  if (!m->nb) return NULL;
  rmap_ent_t **pp = &m->b[h & (m->nb - 1)];
  while (*pp) {
    if ((*pp)->hash == h && (*pp)->klen == len && memcmp((*pp)->key, k, len) == 0) return pp;
    pp = &(*pp)->next;
  }
  return pp;
}

void *rmap_get(const rmap_t *m, const char *k, size_t len)
{
  rmap_ent_t **pp = find(m, k, len, rmap_hash(k, len));
  return (pp && *pp) ? (*pp)->val : NULL;
}

static int grow(rmap_t *m)
{
  size_t nb = m->nb ? m->nb * 2 : 16;
  rmap_ent_t **b = calloc(nb, sizeof *b);
  if (!b) return -1;
  for (size_t i = 0; i < m->nb; i++) {
    rmap_ent_t *e = m->b[i];
    while (e) {
      rmap_ent_t *n = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
      e = n;
    }
  }
  free(m->b);
  m->b = b;
  m->nb = nb;
  return 0;
}

int rmap_put(rmap_t *m, const char *k, size_t len, void *val)
{
  uint64_t h = rmap_hash(k, len);
  rmap_ent_t **pp = find(m, k, len, h);
  if (pp && *pp) {
    (*pp)->val = val;
    return 0;
  }
  if (m->n + 1 > m->nb * 3 / 4) {
    if (grow(m) != 0 && m->nb == 0) return -1;
  }
  rmap_ent_t *e = malloc(sizeof *e + len + 1);
  if (!e) return -1;
  e->hash = h;
  e->val = val;
  e->klen = len;
  memcpy(e->key, k, len);
  e->key[len] = '\0';
  size_t i = h & (m->nb - 1);
  e->next = m->b[i];
  m->b[i] = e;
  m->n++;
  return 0;
}

void *rmap_del(rmap_t *m, const char *k, size_t len)
{
  rmap_ent_t **pp = find(m, k, len, rmap_hash(k, len));
  if (!pp || !*pp) return NULL;
  rmap_ent_t *e = *pp;
  void *v = e->val;
  *pp = e->next;
  free(e);
  m->n--;
  return v;
}

void rmap_free(rmap_t *m)
{
  for (size_t i = 0; i < m->nb; i++) {
    rmap_ent_t *e = m->b[i];
    while (e) {
      rmap_ent_t *n = e->next;
      free(e);
      e = n;
    }
  }
  free(m->b);
  m->b = NULL;
  m->nb = m->n = 0;
}

void rmap_each(const rmap_t *m, void (*fn)(void *ctx, const char *k, size_t len, void *val), void *ctx)
{
  for (size_t i = 0; i < m->nb; i++)
    for (rmap_ent_t *e = m->b[i]; e; e = e->next) fn(ctx, e->key, e->klen, e->val);
}
