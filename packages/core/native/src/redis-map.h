/*
 * A small string-keyed hash map (separate chaining, power-of-two buckets) used by the Redis backend's I/O
 * thread for waiter groups and subscriptions. Not thread-safe. Keys are copied; values are borrowed.
 */
#ifndef LIBDBR_REDIS_MAP_H_
#define LIBDBR_REDIS_MAP_H_

#include <stddef.h>
#include <stdint.h>

typedef struct rmap_ent {
  struct rmap_ent *next;
  uint64_t hash;
  void *val;
  size_t klen;
  char key[]; /* NUL-terminated copy */
} rmap_ent_t;

typedef struct {
  rmap_ent_t **b;
  size_t nb, n;
} rmap_t;

uint64_t rmap_hash(const char *k, size_t len);
void *rmap_get(const rmap_t *m, const char *k, size_t len);
/** Inserts or replaces. Returns 0, or -1 when out of memory. */
int rmap_put(rmap_t *m, const char *k, size_t len, void *val);
/** Removes the key; returns its value or NULL. */
void *rmap_del(rmap_t *m, const char *k, size_t len);
/** Frees the map's own memory (not the values). */
void rmap_free(rmap_t *m);
/** Calls fn on every entry; fn must not modify the map. */
void rmap_each(const rmap_t *m, void (*fn)(void *ctx, const char *k, size_t len, void *val), void *ctx);

#endif /* LIBDBR_REDIS_MAP_H_ */
