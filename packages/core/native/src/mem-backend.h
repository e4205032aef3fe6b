/*
 * The memory backend's internals, shared by backend-mem.c (tuples, waiters, the data calls), backend-mem-ns.c
 * (namespaces) and backend-mem-requests.c (requests that may wait). See backend-mem.c for the layout, the
 * locks and lifetimes.
 */
#ifndef LIBDBR_MEM_BACKEND_H_
#define LIBDBR_MEM_BACKEND_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "hashmap.h"
#include "request.h"
#include "util.h"

typedef struct mem_node {
  struct mem_node *next;
  atomic_int refs;
  int64_t len;
  unsigned char data[];
} mem_node_t;

struct mem_tuple;

typedef struct mem_waiter {
  struct mem_waiter *prev, *next;
  dbr_req_t *req;
  uint64_t seq;
  struct mem_tuple *tuple; /* NULL for a template waiter */
  /* outcome, set when served */
  DBR_Errorcode_t status;
  mem_node_t *node; /* a reference handed to the request, or NULL */
  int64_t size;
  struct mem_waiter *done_next;
} mem_waiter_t;

typedef struct mem_tuple {
  htab_ent_t ent;
  mem_node_t *head, *tail;
  int64_t count, bytes;
  mem_waiter_t *wh, *wt;
  char name[];
} mem_tuple_t;

typedef struct mem_ns {
  htab_ent_t ent;
  pthread_mutex_t mu;
  atomic_int mrefs;
  uint64_t id;
  int refcnt;         /* attached clients (g_mu) */
  int delete_pending; /* g_mu */
  int in_table;       /* g_mu */
  int deleted;        /* mu */
  htab_t tuples;      /* mu */
  int64_t names, values, bytes;
  mem_waiter_t *twh, *twt; /* template waiters */
  uint64_t wseq;
  char name[];
} mem_ns_t;


#define NS(p) ((mem_ns_t *)(void *)(p))
#define DBR_NS(p) ((dbr_ns_t *)(void *)(p))

/* ---- values ---- */

/* No value can be larger than a 64-bit process's address space (2^47 bytes on x86-64 and arm64 Linux). */
#define MEM_MAX_VALUE ((int64_t)1 << 47)

static inline mem_node_t *node_new(const void *buf, int64_t len)
{
  if (len < 0 || len > MEM_MAX_VALUE) return NULL;
  mem_node_t *n = malloc(sizeof *n + (size_t)len);
  if (n == NULL) return NULL;
  n->next = NULL;
  atomic_init(&n->refs, 1);
  n->len = len;
  if (len > 0) memcpy(n->data, buf, (size_t)len);
  return n;
}

static inline void node_ref(mem_node_t *n)
{
  atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

static inline void node_unref(void *p)
{
  mem_node_t *n = p;
  if (atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1) free(n);
}

static inline dbr_value_t node_value(mem_node_t *n)
{
  dbr_value_t v = {.data = n->data, .len = n->len, .release = node_unref, .owner = n};
  return v;
}

/* ---- namespaces ---- */

static inline void ns_ref(mem_ns_t *ns)
{
  atomic_fetch_add_explicit(&ns->mrefs, 1, memory_order_relaxed);
}

static inline void ns_unref(mem_ns_t *ns)
{
  if (atomic_fetch_sub_explicit(&ns->mrefs, 1, memory_order_acq_rel) != 1) return;
  htab_destroy(&ns->tuples);
  pthread_mutex_destroy(&ns->mu);
  free(ns);
}

/* Locks one or two namespaces in id order. */
static inline void lock2(mem_ns_t *a, mem_ns_t *b)
{
  if (a == b) {
    pthread_mutex_lock(&a->mu);
  } else if (a->id < b->id) {
    pthread_mutex_lock(&a->mu);
    pthread_mutex_lock(&b->mu);
  } else {
    pthread_mutex_lock(&b->mu);
    pthread_mutex_lock(&a->mu);
  }
}

static inline void unlock2(mem_ns_t *a, mem_ns_t *b)
{
  pthread_mutex_unlock(&a->mu);
  if (a != b) pthread_mutex_unlock(&b->mu);
}

static inline int fits(const dbr_req_t *req, int64_t len)
{
  return req->capacity < 0 || len <= req->capacity;
}

static inline DBR_Errorcode_t err_deleted(const mem_ns_t *ns)
{
  return dbr_err(DBR_ERR_NSINVAL, "namespace '%s' was deleted; attach to a live namespace", ns->name);
}

/* ---- backend-mem.c ---- */

mem_tuple_t *mem_tuple_find(mem_ns_t *ns, const char *name, size_t len, uint64_t h);
mem_tuple_t *mem_tuple_get_or_create(mem_ns_t *ns, const char *name, size_t len, uint64_t h);
void mem_tuple_gc(mem_ns_t *ns, mem_tuple_t *t, int shrink);
mem_node_t *mem_tuple_pop(mem_ns_t *ns, mem_tuple_t *t);
mem_node_t *mem_tuple_nth(mem_tuple_t *t, int64_t idx);
/** Drops every value of a tuple (the tuple itself stays until mem_tuple_gc). */
void mem_tuple_clear(mem_ns_t *ns, mem_tuple_t *t);
mem_tuple_t *mem_tuple_match(mem_ns_t *ns, const char *tmpl, int64_t idx);
void mem_waiter_unlink(mem_ns_t *ns, mem_waiter_t *w);
void mem_deliver(mem_ns_t *ns, mem_tuple_t *t, mem_node_t *node, mem_waiter_t **done);
void mem_finish(mem_waiter_t *done);
/** Deletes a namespace's contents: fails its waiters with NSINVAL and frees every value. */
void mem_ns_destroy_contents(mem_ns_t *ns);

/* backend-mem-ns.c */
DBR_Errorcode_t mem_ns_create(dbr_backend_t *be, const char *name, dbr_ns_t **out);
DBR_Errorcode_t mem_ns_attach(dbr_backend_t *be, const char *name, dbr_ns_t **out);
DBR_Errorcode_t mem_ns_detach(dbr_backend_t *be, dbr_ns_t *h);
DBR_Errorcode_t mem_ns_delete(dbr_backend_t *be, const char *name, int own);
DBR_Errorcode_t mem_ns_stat(dbr_backend_t *be, dbr_ns_t *h, dbrx_stat_t *st);
DBR_Errorcode_t mem_ns_list(dbr_backend_t *be, const char *pattern, dbr_name_sink_fn sink, void *ctx);
DBR_Errorcode_t mem_put(dbr_backend_t *be, dbr_ns_t *h, const char *name, const void *buf, int64_t size);
DBR_Errorcode_t mem_put_many(dbr_backend_t *be, dbr_ns_t *h, const void *packed, int64_t len);

/* ---- backend-mem-requests.c ---- */

void mem_submit(dbr_backend_t *be, dbr_req_t *req);
int mem_cancel(dbr_backend_t *be, dbr_req_t *req, dbr_cancel_why_t why);

#endif /* LIBDBR_MEM_BACKEND_H_ */
