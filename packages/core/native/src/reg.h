/*
 * Registries of ids: what the public API hands out instead of pointers (namespace handles, queues,
 * iterators). An id encodes a slot and the slot's generation, so a stale, forged or foreign id is rejected
 * without touching freed memory, and an id is never handed out twice.
 *
 * Lookups are lock-free: a slot's state (generation | live | in-flight count) is one atomic word, and
 * reg_acquire() takes an in-flight reference with a compare-and-swap. The object of a retired id is
 * destroyed by whoever drops the last in-flight reference (reg_retire or reg_release returns it).
 */
#ifndef LIBDBR_REG_H_
#define LIBDBR_REG_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define REG_IDX_BITS 20   /* at most 1M live objects of one kind */
#define REG_CHUNK_BITS 12
#define REG_NCHUNKS (1u << (REG_IDX_BITS - REG_CHUNK_BITS))
#define REG_BASE ((uintptr_t)0x10000)

enum { REG_KIND_HANDLE = 0, REG_KIND_QUEUE = 1, REG_KIND_ITERATOR = 2 };

typedef struct {
  _Atomic uint64_t word; /* generation << 24 | live << 23 | in-flight references */
  void *obj;
} reg_slot_t;

typedef struct {
  unsigned kind;
  pthread_mutex_t mu; /* guards allocation of slots and the free ring */
  reg_slot_t *_Atomic chunks[REG_NCHUNKS];
  uint32_t nslots;
  uint32_t *ring; /* FIFO of free slot indexes */
  uint32_t ring_head, ring_count, ring_cap;
} reg_t;

#define REG_INITIALIZER(k) {.kind = (k), .mu = PTHREAD_MUTEX_INITIALIZER}

/** Registers obj; returns its id, or 0 when out of memory or slots. */
uintptr_t reg_add(reg_t *r, void *obj);
/** The object of a live id with an in-flight reference, or NULL. */
void *reg_acquire(reg_t *r, uintptr_t id);
/** Drops an in-flight reference; returns the object if it must now be destroyed, else NULL. */
void *reg_release(reg_t *r, uintptr_t id);
/**
 * Retires a live id: later lookups fail. Returns -1 if the id is not live; otherwise sets *destroy to the
 * object when no in-flight reference remains (the caller destroys it), or to NULL (the last reg_release will
 * return it), and returns 0.
 */
int reg_retire(reg_t *r, uintptr_t id, void **destroy);

#endif /* LIBDBR_REG_H_ */
