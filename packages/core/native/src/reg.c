/*
 * Registries of ids: see reg.h.
 *
 * id = REG_BASE + (((generation << REG_IDX_BITS) | slot) << 2 | kind). A slot starts at generation 0 and
 * each reuse increments it (40 bits: it never wraps in practice), and freed slots are reused in FIFO order.
 * Chunks of slots are allocated on demand and never freed, so a lookup of any id only reads memory that
 * stays valid.
 */
#include "reg.h"

#include <stdlib.h>

#define W_REFS_MASK ((UINT64_C(1) << 23) - 1)
#define W_LIVE (UINT64_C(1) << 23)
#define W_GEN_SHIFT 24
#define GEN_MASK ((UINT64_C(1) << 40) - 1)
#define CHUNK_SIZE (1u << REG_CHUNK_BITS)
#define IDX_MASK ((1u << REG_IDX_BITS) - 1)

static int decode(const reg_t *r, uintptr_t id, uint32_t *idx, uint64_t *gen)
{
  if (id < REG_BASE) return -1;
  uint64_t v = (uint64_t)(id - REG_BASE);
  if ((v & 3) != r->kind) return -1;
  v >>= 2;
  *idx = (uint32_t)(v & IDX_MASK);
  *gen = v >> REG_IDX_BITS;
  if (*gen > GEN_MASK) return -1;
  return 0;
}

static reg_slot_t *slot_of(reg_t *r, uint32_t idx)
{
  reg_slot_t *chunk = atomic_load_explicit(&r->chunks[idx >> REG_CHUNK_BITS], memory_order_acquire);
  return chunk ? &chunk[idx & (CHUNK_SIZE - 1)] : NULL;
}

uintptr_t reg_add(reg_t *r, void *obj)
{
  uint32_t idx;
  int reused = 0;
  pthread_mutex_lock(&r->mu);
  if (r->ring_count > 0) {
    idx = r->ring[r->ring_head];
    r->ring_head = (r->ring_head + 1) % r->ring_cap;
    r->ring_count--;
    reused = 1;
  } else {
    if (r->nslots > IDX_MASK) {
      pthread_mutex_unlock(&r->mu);
      return 0;
    }
    idx = r->nslots;
    unsigned c = idx >> REG_CHUNK_BITS;
    if (atomic_load_explicit(&r->chunks[c], memory_order_relaxed) == NULL) {
      reg_slot_t *chunk = calloc(CHUNK_SIZE, sizeof *chunk);
      if (chunk == NULL) {
        pthread_mutex_unlock(&r->mu);
        return 0;
      }
      atomic_store_explicit(&r->chunks[c], chunk, memory_order_release);
    }
    r->nslots++;
  }
  pthread_mutex_unlock(&r->mu);

  reg_slot_t *s = slot_of(r, idx);
  uint64_t gen = atomic_load_explicit(&s->word, memory_order_relaxed) >> W_GEN_SHIFT;
  if (reused) gen = (gen + 1) & GEN_MASK;
  s->obj = obj;
  atomic_store_explicit(&s->word, (gen << W_GEN_SHIFT) | W_LIVE, memory_order_release);
  uint64_t v = ((gen << REG_IDX_BITS) | idx) << 2 | r->kind;
  return REG_BASE + (uintptr_t)v;
}

static void free_slot(reg_t *r, uint32_t idx)
{
  pthread_mutex_lock(&r->mu);
  if (r->ring_count == r->ring_cap) {
    uint32_t ncap = r->ring_cap ? r->ring_cap * 2 : 64;
    uint32_t *nr = malloc(ncap * sizeof *nr);
    if (nr == NULL) { /* the slot is simply never reused */
      pthread_mutex_unlock(&r->mu);
      return;
    }
    for (uint32_t i = 0; i < r->ring_count; i++) nr[i] = r->ring[(r->ring_head + i) % r->ring_cap];
    free(r->ring);
    r->ring = nr;
    r->ring_head = 0;
    r->ring_cap = ncap;
  }
  r->ring[(r->ring_head + r->ring_count) % r->ring_cap] = idx;
  r->ring_count++;
  pthread_mutex_unlock(&r->mu);
}

void *reg_acquire(reg_t *r, uintptr_t id)
{
  uint32_t idx;
  uint64_t gen;
  if (decode(r, id, &idx, &gen) != 0) return NULL;
  reg_slot_t *s = slot_of(r, idx);
  if (s == NULL) return NULL;
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  for (;;) {
    if ((w >> W_GEN_SHIFT) != gen || !(w & W_LIVE) || (w & W_REFS_MASK) == W_REFS_MASK) return NULL;
    if (atomic_compare_exchange_weak_explicit(&s->word, &w, w + 1, memory_order_acquire, memory_order_acquire))
      return s->obj;
  }
}

void *reg_release(reg_t *r, uintptr_t id)
{
  uint32_t idx;
  uint64_t gen;
  if (decode(r, id, &idx, &gen) != 0) return NULL;
  reg_slot_t *s = slot_of(r, idx);
  void *obj = s->obj;
  uint64_t old = atomic_fetch_sub_explicit(&s->word, 1, memory_order_acq_rel);
  if ((old & (W_LIVE | W_REFS_MASK)) == 1) {
    free_slot(r, idx);
    return obj;
  }
  return NULL;
}

int reg_retire(reg_t *r, uintptr_t id, void **destroy)
{
  *destroy = NULL;
  uint32_t idx;
  uint64_t gen;
  if (decode(r, id, &idx, &gen) != 0) return -1;
  reg_slot_t *s = slot_of(r, idx);
  if (s == NULL) return -1;
  uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
  for (;;) {
    if ((w >> W_GEN_SHIFT) != gen || !(w & W_LIVE)) return -1;
    if (atomic_compare_exchange_weak_explicit(&s->word, &w, w & ~W_LIVE, memory_order_acq_rel,
                                              memory_order_acquire))
      break;
  }
  if ((w & W_REFS_MASK) == 0) {
    *destroy = s->obj;
    free_slot(r, idx);
  }
  return 0;
}
