/*
 * An intrusive hash table of named entries, with Redis's reverse-binary cursor scan.
 *
 * Entries embed htab_ent_t (usually as their first member) and own their key. The table doubles when it holds
 * more entries than buckets and halves when it is less than 1/8 full. htab_scan() walks it with a cursor that
 * stays valid across calls even when the table grows or shrinks in between (dictScan): every entry present
 * for the whole walk is visited at least once (some may be visited twice after a shrink).
 */
#ifndef LIBDBR_HASHMAP_H_
#define LIBDBR_HASHMAP_H_

#include <stddef.h>
#include <stdint.h>

typedef struct htab_ent {
  struct htab_ent *hnext;
  uint64_t hash;
  const char *key;
  size_t klen;
} htab_ent_t;

typedef struct {
  htab_ent_t **b;
  size_t mask; /* buckets - 1 */
  size_t n;
} htab_t;

/** Initialises an empty table with `buckets` buckets (a power of two). -1 on ENOMEM. */
int htab_init(htab_t *t, size_t buckets);
/** Frees the bucket array (not the entries). */
void htab_destroy(htab_t *t);
htab_ent_t *htab_find(const htab_t *t, const char *key, size_t klen, uint64_t hash);
/** Inserts e (e->hash, e->key, e->klen set; not already present). Grows when it can; never fails. */
void htab_insert(htab_t *t, htab_ent_t *e);
/** Removes e. With shrink set the table may halve: do not shrink while walking buckets by hand. */
void htab_remove(htab_t *t, htab_ent_t *e, int shrink);
/** Halves the table while it is less than 1/8 full. */
void htab_maybe_shrink(htab_t *t);
/**
 * Visits the entries of the bucket(s) at cursor v (fn may not remove entries) and returns the next cursor;
 * 0 when the walk is over. Start with 0.
 */
size_t htab_scan(const htab_t *t, size_t v, void (*fn)(void *ctx, htab_ent_t *e), void *ctx);

#endif /* LIBDBR_HASHMAP_H_ */
