/*
 * The memory backend: an in-process tuple space shared by every thread of the process.
 *
 * Layout
 *   - a global table of namespaces (name -> mem_ns) under g_mu;
 *   - per namespace: one mutex, a hash table tuple name -> mem_tuple, and waiters;
 *   - per tuple: a FIFO of values and the list of requests waiting on that name;
 *   - per namespace: the list of requests waiting on a template, checked on every value that arrives.
 * A value is one allocation (mem_node: header + bytes) with a reference count: a reader receives a reference
 * instead of a copy, and the bytes never change after the put.
 *
 * Waiting: a read/get/move-value that finds nothing becomes a waiter (unless NOWAIT). A value that arrives is
 * offered to the waiters of its name, oldest first: every reader whose index it satisfies gets it, and the
 * first getter (or move-value) whose buffer it fits takes it; a getter whose buffer is too small completes
 * with UBUFFER and the value goes on. Only a value nobody took is appended. Completions run after the
 * namespace lock is released.
 *
 * Locks: g_mu before any namespace lock; two namespace locks are taken in the order of their ids. The request
 * machinery (timer, queues) is never called with a namespace lock held.
 *
 * Lifetime: a namespace's memory is reference counted (mrefs): one for the global table, one per attachment,
 * one per submitted request (until the request is freed) and one per iterator, so a waiter, a cancel or an
 * iterator stays valid when its handle detaches.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "batch.h"
#include "glob.h"
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

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static htab_t g_ns;
static uint64_t g_ns_seq;

#define NS(p) ((mem_ns_t *)(void *)(p))
#define DBR_NS(p) ((dbr_ns_t *)(void *)(p))

/* ---- values ---- */

/* No value can be larger than a 64-bit process's address space (2^47 bytes on x86-64 and arm64 Linux). */
#define MEM_MAX_VALUE ((int64_t)1 << 47)

static mem_node_t *node_new(const void *buf, int64_t len)
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

static void node_ref(mem_node_t *n)
{
  atomic_fetch_add_explicit(&n->refs, 1, memory_order_relaxed);
}

static void node_unref(void *p)
{
  mem_node_t *n = p;
  if (atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) == 1) free(n);
}

static dbr_value_t node_value(mem_node_t *n)
{
  dbr_value_t v = {.data = n->data, .len = n->len, .release = node_unref, .owner = n};
  return v;
}

/* ---- namespaces ---- */

static void ns_ref(mem_ns_t *ns)
{
  atomic_fetch_add_explicit(&ns->mrefs, 1, memory_order_relaxed);
}

static void ns_unref(mem_ns_t *ns)
{
  if (atomic_fetch_sub_explicit(&ns->mrefs, 1, memory_order_acq_rel) != 1) return;
  htab_destroy(&ns->tuples);
  pthread_mutex_destroy(&ns->mu);
  free(ns);
}

/* Locks one or two namespaces in id order. */
static void lock2(mem_ns_t *a, mem_ns_t *b)
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

static void unlock2(mem_ns_t *a, mem_ns_t *b)
{
  pthread_mutex_unlock(&a->mu);
  if (a != b) pthread_mutex_unlock(&b->mu);
}

/* ---- tuples (ns->mu held) ---- */

static mem_tuple_t *tuple_find(mem_ns_t *ns, const char *name, size_t len, uint64_t h)
{
  return (mem_tuple_t *)htab_find(&ns->tuples, name, len, h);
}

static mem_tuple_t *tuple_get_or_create(mem_ns_t *ns, const char *name, size_t len, uint64_t h)
{
  mem_tuple_t *t = tuple_find(ns, name, len, h);
  if (t) return t;
  t = malloc(sizeof *t + len + 1);
  if (t == NULL) return NULL;
  memset(t, 0, sizeof *t);
  memcpy(t->name, name, len);
  t->name[len] = '\0';
  t->ent.hash = h;
  t->ent.key = t->name;
  t->ent.klen = len;
  htab_insert(&ns->tuples, &t->ent);
  return t;
}

/* Frees a tuple that holds neither values nor waiters. */
static void tuple_gc(mem_ns_t *ns, mem_tuple_t *t, int shrink)
{
  if (t->count > 0 || t->wh != NULL) return;
  htab_remove(&ns->tuples, &t->ent, shrink);
  free(t);
}

static void tuple_append(mem_ns_t *ns, mem_tuple_t *t, mem_node_t *n)
{
  n->next = NULL;
  if (t->tail)
    t->tail->next = n;
  else
    t->head = n;
  t->tail = n;
  if (t->count++ == 0) ns->names++;
  t->bytes += n->len;
  ns->values++;
  ns->bytes += n->len;
}

/* Pops the head (the FIFO's reference moves to the caller). Leaves the tuple in the table. */
static mem_node_t *tuple_pop(mem_ns_t *ns, mem_tuple_t *t)
{
  mem_node_t *n = t->head;
  t->head = n->next;
  if (t->head == NULL) t->tail = NULL;
  n->next = NULL;
  if (--t->count == 0) ns->names--;
  t->bytes -= n->len;
  ns->values--;
  ns->bytes -= n->len;
  return n;
}

static mem_node_t *tuple_nth(mem_tuple_t *t, int64_t idx)
{
  mem_node_t *n = t->head;
  while (idx-- > 0 && n) n = n->next;
  return n;
}

/* Drops all values of a tuple. */
static void tuple_clear(mem_ns_t *ns, mem_tuple_t *t)
{
  mem_node_t *n = t->head;
  while (n) {
    mem_node_t *next = n->next;
    node_unref(n);
    n = next;
  }
  if (t->count > 0) ns->names--;
  ns->values -= t->count;
  ns->bytes -= t->bytes;
  t->head = t->tail = NULL;
  t->count = t->bytes = 0;
}

/* The first tuple with more than idx values whose name matches tmpl (NULL if none). */
static mem_tuple_t *tuple_match(mem_ns_t *ns, const char *tmpl, int64_t idx)
{
  size_t plen = strlen(tmpl);
  char lit[DBR_MAX_KEY_LEN + 2];
  size_t llen;
  if (plen <= DBR_MAX_KEY_LEN && glob_literal(tmpl, plen, lit, &llen)) {
    mem_tuple_t *t = tuple_find(ns, lit, llen, dbr_hash(lit, llen));
    return t && t->count > idx ? t : NULL;
  }
  for (size_t i = 0; i <= ns->tuples.mask; i++)
    for (htab_ent_t *e = ns->tuples.b[i]; e; e = e->hnext) {
      mem_tuple_t *t = (mem_tuple_t *)e;
      if (t->count > idx && glob_match(tmpl, plen, t->name, e->klen)) return t;
    }
  return NULL;
}

/* ---- waiters (ns->mu held) ---- */

static void waiter_unlink(mem_ns_t *ns, mem_waiter_t *w)
{
  mem_waiter_t **head = w->tuple ? &w->tuple->wh : &ns->twh;
  mem_waiter_t **tail = w->tuple ? &w->tuple->wt : &ns->twt;
  if (w->prev)
    w->prev->next = w->next;
  else
    *head = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    *tail = w->prev;
  w->prev = w->next = NULL;
  w->req->backend_data = NULL;
}

static void waiter_serve(mem_ns_t *ns, mem_waiter_t *w, DBR_Errorcode_t status, mem_node_t *node, int64_t size,
                         mem_waiter_t **done)
{
  waiter_unlink(ns, w);
  w->status = status;
  w->node = node;
  w->size = size;
  w->done_next = *done;
  *done = w;
}

static inline int fits(const dbr_req_t *req, int64_t len)
{
  return req->capacity < 0 || len <= req->capacity;
}

/* Next waiter, in arrival order, among the name waiters from *a and the matching template waiters from *b. */
static mem_waiter_t *next_waiter(mem_tuple_t *t, mem_waiter_t **a, mem_waiter_t **b)
{
  while (*b && !glob_match((*b)->req->tmpl, strlen((*b)->req->tmpl), t->name, t->ent.klen)) *b = (*b)->next;
  mem_waiter_t *w;
  if (*a && (!*b || (*a)->seq < (*b)->seq)) {
    w = *a;
    *a = w->next;
  } else {
    w = *b;
    if (w) *b = w->next;
  }
  return w;
}

/*
 * Offers a value arriving under t (it would become index t->count) to the waiters. Returns 1 if a taker
 * consumed it (the caller's reference went to the taker). Served waiters go on *done.
 */
static int offer(mem_ns_t *ns, mem_tuple_t *t, mem_node_t *node, mem_waiter_t **done)
{
  mem_waiter_t *a = t->wh, *b = ns->twh, *w, *taker = NULL;
  while ((w = next_waiter(t, &a, &b)) != NULL) {
    dbr_req_t *req = w->req;
    int partial = (req->flags & DBR_FLAGS_PARTIAL) != 0;
    if (req->op == DBR_OP_READ) {
      if ((int64_t)(req->flags >> DBR_FLAGS_INDEX_SHIFT) != t->count) continue;
      if (!fits(req, node->len) && !partial) {
        waiter_serve(ns, w, DBR_ERR_UBUFFER, NULL, node->len, done);
      } else {
        node_ref(node);
        waiter_serve(ns, w, fits(req, node->len) ? DBR_SUCCESS : DBR_ERR_UBUFFER, node, node->len, done);
      }
    } else if (taker == NULL && t->count == 0) { /* GET, MOVE_VALUE */
      if (!fits(req, node->len) && !partial)
        waiter_serve(ns, w, DBR_ERR_UBUFFER, NULL, node->len, done);
      else
        taker = w;
    }
  }
  if (taker == NULL) return 0;
  waiter_serve(ns, taker, fits(taker->req, node->len) ? DBR_SUCCESS : DBR_ERR_UBUFFER, node, node->len, done);
  return 1;
}

/* Stores a value under t, serving waiters first. Takes over the caller's reference. */
static void deliver(mem_ns_t *ns, mem_tuple_t *t, mem_node_t *node, mem_waiter_t **done)
{
  if ((t->wh || ns->twh) && offer(ns, t, node, done)) return;
  tuple_append(ns, t, node);
}

static void forward(mem_ns_t *dst, const char *name, mem_node_t *node, mem_waiter_t **done);

/* Completes served waiters (no lock held). A move-value forwards its value to the destination first. */
static void finish(mem_waiter_t *done)
{
  while (done) {
    mem_waiter_t *w = done;
    done = w->done_next;
    dbr_req_t *req = w->req;
    if (req->op == DBR_OP_MOVE_VALUE && w->node) {
      node_ref(w->node);
      mem_waiter_t *more = NULL;
      forward(NS(req->dst_ns), req->dst_name, w->node, &more);
      while (more) { /* splice: completions caused by the forward run next */
        mem_waiter_t *m = more;
        more = m->done_next;
        m->done_next = done;
        done = m;
      }
    }
    if (w->node) {
      dbr_value_t v = node_value(w->node);
      dbr_req_complete(req, w->status, &v, w->size);
    } else {
      dbr_req_complete(req, w->status, NULL, w->size);
    }
    dbr_req_unref(req);
    free(w);
  }
}

/* Appends a value to dst under name (lock taken here); served waiters are added to *done. */
static void forward(mem_ns_t *dst, const char *name, mem_node_t *node, mem_waiter_t **done)
{
  size_t len = strlen(name);
  uint64_t h = dbr_hash(name, len);
  pthread_mutex_lock(&dst->mu);
  mem_tuple_t *t = dst->deleted ? NULL : tuple_get_or_create(dst, name, len, h);
  if (t) {
    deliver(dst, t, node, done);
    tuple_gc(dst, t, 1);
  }
  pthread_mutex_unlock(&dst->mu);
  if (t == NULL) node_unref(node); /* destination deleted (or out of memory): the value is dropped */
}

/* Fails every waiter of a namespace (ns->mu held). */
static void fail_all_waiters(mem_ns_t *ns, DBR_Errorcode_t status, mem_waiter_t **done)
{
  while (ns->twh) waiter_serve(ns, ns->twh, status, NULL, 0, done);
  for (size_t i = 0; i <= ns->tuples.mask; i++)
    for (htab_ent_t *e = ns->tuples.b[i]; e; e = e->hnext) {
      mem_tuple_t *t = (mem_tuple_t *)e;
      while (t->wh) waiter_serve(ns, t->wh, status, NULL, 0, done);
    }
}

/* Deletes a namespace's contents: fails its waiters with NSINVAL and frees every value. */
static void ns_destroy_contents(mem_ns_t *ns)
{
  mem_waiter_t *done = NULL;
  pthread_mutex_lock(&ns->mu);
  ns->deleted = 1;
  fail_all_waiters(ns, DBR_ERR_NSINVAL, &done);
  for (size_t i = 0; i <= ns->tuples.mask; i++) {
    htab_ent_t *e = ns->tuples.b[i];
    while (e) {
      htab_ent_t *next = e->hnext;
      tuple_clear(ns, (mem_tuple_t *)e);
      free(e);
      e = next;
    }
    ns->tuples.b[i] = NULL;
  }
  ns->tuples.n = 0;
  htab_maybe_shrink(&ns->tuples);
  pthread_mutex_unlock(&ns->mu);
  finish(done);
}

static DBR_Errorcode_t err_deleted(const mem_ns_t *ns)
{
  return dbr_err(DBR_ERR_NSINVAL, "namespace '%s' was deleted; attach to a live namespace", ns->name);
}

/* ---- backend: namespaces ---- */

static int g_init_done;

static int global_init_locked(void)
{
  if (g_init_done) return 0;
  if (htab_init(&g_ns, 16) != 0) return -1;
  g_init_done = 1;
  return 0;
}

static DBR_Errorcode_t mem_ns_create(dbr_backend_t *be, const char *name, dbr_ns_t **out)
{
  (void)be;
  size_t len = strlen(name);
  uint64_t h = dbr_hash(name, len);
  pthread_mutex_lock(&g_mu);
  if (global_init_locked() != 0) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory creating namespace '%s'", name);
  }
  mem_ns_t *ns = (mem_ns_t *)htab_find(&g_ns, name, len, h);
  if (ns) {
    int pending = ns->delete_pending;
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_EXISTS, "namespace '%s' already exists%s; attach to it with dbrAttach", name,
                   pending ? " (its deletion is pending until its last client detaches)" : "");
  }
  ns = calloc(1, sizeof *ns + len + 1);
  if (ns == NULL || htab_init(&ns->tuples, 8) != 0) {
    free(ns);
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory creating namespace '%s'", name);
  }
  memcpy(ns->name, name, len);
  ns->ent.hash = h;
  ns->ent.key = ns->name;
  ns->ent.klen = len;
  pthread_mutex_init(&ns->mu, NULL);
  atomic_init(&ns->mrefs, 2); /* the table's and the creator's */
  ns->id = ++g_ns_seq;
  ns->refcnt = 1;
  ns->in_table = 1;
  htab_insert(&g_ns, &ns->ent);
  pthread_mutex_unlock(&g_mu);
  *out = DBR_NS(ns);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_ns_attach(dbr_backend_t *be, const char *name, dbr_ns_t **out)
{
  (void)be;
  size_t len = strlen(name);
  pthread_mutex_lock(&g_mu);
  mem_ns_t *ns = g_init_done ? (mem_ns_t *)htab_find(&g_ns, name, len, dbr_hash(name, len)) : NULL;
  if (ns == NULL) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist; create it first with dbrCreate", name);
  }
  if (ns->delete_pending) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NSINVAL,
                   "namespace '%s' is being deleted (pending until its last client detaches); use another name",
                   name);
  }
  ns->refcnt++;
  ns_ref(ns);
  pthread_mutex_unlock(&g_mu);
  *out = DBR_NS(ns);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_ns_detach(dbr_backend_t *be, dbr_ns_t *h)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  int destroy = 0;
  pthread_mutex_lock(&g_mu);
  if (--ns->refcnt == 0 && ns->delete_pending && ns->in_table) {
    htab_remove(&g_ns, &ns->ent, 1);
    ns->in_table = 0;
    destroy = 1;
  }
  pthread_mutex_unlock(&g_mu);
  if (destroy) {
    ns_destroy_contents(ns);
    ns_unref(ns); /* the table's */
  }
  ns_unref(ns);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_ns_delete(dbr_backend_t *be, const char *name)
{
  (void)be;
  size_t len = strlen(name);
  pthread_mutex_lock(&g_mu);
  mem_ns_t *ns = g_init_done ? (mem_ns_t *)htab_find(&g_ns, name, len, dbr_hash(name, len)) : NULL;
  if (ns == NULL) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist (already deleted?)", name);
  }
  if (ns->refcnt > 1) {
    int n = ns->refcnt;
    ns->delete_pending = 1;
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NSBUSY,
                   "namespace '%s' has %d attached clients; it will be deleted when the last one detaches", name,
                   n);
  }
  htab_remove(&g_ns, &ns->ent, 1);
  ns->in_table = 0;
  ns->delete_pending = 1;
  pthread_mutex_unlock(&g_mu);
  ns_destroy_contents(ns);
  ns_unref(ns);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_ns_stat(dbr_backend_t *be, dbr_ns_t *h, dbrx_stat_t *st)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  pthread_mutex_lock(&g_mu);
  st->refcnt = ns->refcnt;
  st->flags = ns->delete_pending ? 1 : 0;
  pthread_mutex_unlock(&g_mu);
  pthread_mutex_lock(&ns->mu);
  int deleted = ns->deleted;
  st->names = ns->names;
  st->values = ns->values;
  st->bytes = ns->bytes;
  pthread_mutex_unlock(&ns->mu);
  if (deleted) return err_deleted(ns);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_ns_list(dbr_backend_t *be, const char *pattern, dbr_name_sink_fn sink, void *ctx)
{
  (void)be;
  size_t plen = strlen(pattern);
  pthread_mutex_lock(&g_mu);
  if (g_init_done) {
    for (size_t i = 0; i <= g_ns.mask; i++)
      for (htab_ent_t *e = g_ns.b[i]; e; e = e->hnext)
        if (glob_match(pattern, plen, e->key, e->klen) && sink(ctx, e->key, e->klen)) goto out;
  }
out:
  pthread_mutex_unlock(&g_mu);
  return DBR_SUCCESS;
}

/* ---- backend: data ---- */

/* Stores node under name, waking waiters. With stored != NULL it stores only when the name holds no value
 * (put-if-absent) and reports whether it did. */
static DBR_Errorcode_t store_maybe(mem_ns_t *ns, const char *name, mem_node_t *node, int *stored)
{
  size_t len = strlen(name);
  uint64_t h = dbr_hash(name, len);
  mem_waiter_t *done = NULL;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    node_unref(node);
    return err_deleted(ns);
  }
  if (stored != NULL) {
    mem_tuple_t *existing = tuple_find(ns, name, len, h);
    *stored = existing == NULL || existing->count == 0;
    if (!*stored) {
      pthread_mutex_unlock(&ns->mu);
      node_unref(node);
      return DBR_SUCCESS;
    }
  }
  mem_tuple_t *t = tuple_get_or_create(ns, name, len, h);
  if (t == NULL) {
    pthread_mutex_unlock(&ns->mu);
    node_unref(node);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value under '%s'", name);
  }
  deliver(ns, t, node, &done);
  if (done) tuple_gc(ns, t, 1);
  pthread_mutex_unlock(&ns->mu);
  if (done) finish(done);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t store(mem_ns_t *ns, const char *name, mem_node_t *node)
{
  return store_maybe(ns, name, node, NULL);
}

static DBR_Errorcode_t mem_put(dbr_backend_t *be, dbr_ns_t *h, const char *name, const void *buf, int64_t size)
{
  (void)be;
  mem_node_t *node = node_new(buf, size);
  if (node == NULL)
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value of %lld bytes under '%s'", (long long)size,
                   name);
  return store(NS(h), name, node);
}

static DBR_Errorcode_t mem_put_if_absent(dbr_backend_t *be, dbr_ns_t *h, const char *name, const void *buf,
                                         int64_t size, int *stored)
{
  (void)be;
  mem_node_t *node = node_new(buf, size);
  if (node == NULL)
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value of %lld bytes under '%s'", (long long)size,
                   name);
  return store_maybe(NS(h), name, node, stored);
}

static DBR_Errorcode_t mem_put_many(dbr_backend_t *be, dbr_ns_t *h, const void *packed, int64_t len)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  const unsigned char *p = packed, *end = p + len;
  size_t n = 0;
  for (const unsigned char *q = p; q < end; n++) q += 12 + dbr_rd32(q) + dbr_rd64(q + 4);
  if (n == 0) return DBR_SUCCESS;

  mem_node_t **nodes = calloc(n, sizeof *nodes);
  mem_tuple_t **tuples = calloc(n, sizeof *tuples);
  const char **names = calloc(n, sizeof *names);
  size_t *nlens = calloc(n, sizeof *nlens);
  DBR_Errorcode_t rc = DBR_SUCCESS;
  if (!nodes || !tuples || !names || !nlens) {
    rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a batch of %zu values", n);
    goto out;
  }
  const unsigned char *q = p;
  for (size_t i = 0; i < n; i++) {
    uint32_t nl = dbr_rd32(q);
    uint64_t vl = dbr_rd64(q + 4);
    names[i] = (const char *)q + 12;
    nlens[i] = nl;
    nodes[i] = node_new(q + 12 + nl, (int64_t)vl);
    if (nodes[i] == NULL) {
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a batch of %zu values (value %zu: %llu bytes)", n, i,
                   (unsigned long long)vl);
      goto out;
    }
    q += 12 + nl + vl;
  }

  mem_waiter_t *done = NULL;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    rc = err_deleted(ns);
    goto out;
  }
  /* Create every tuple first, so that storing cannot fail half way. */
  for (size_t i = 0; i < n; i++) {
    tuples[i] = tuple_get_or_create(ns, names[i], nlens[i], dbr_hash(names[i], nlens[i]));
    if (tuples[i] == NULL) {
      for (size_t j = 0; j < i; j++) tuple_gc(ns, tuples[j], 0);
      pthread_mutex_unlock(&ns->mu);
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a batch of %zu values", n);
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    deliver(ns, tuples[i], nodes[i], &done);
    nodes[i] = NULL;
  }
  for (size_t i = 0; i < n; i++) {
    /* a tuple may appear several times: gc once, when it is really empty */
    mem_tuple_t *t = tuples[i];
    if (t == NULL || t->count > 0 || t->wh != NULL) continue;
    for (size_t j = i + 1; j < n; j++)
      if (tuples[j] == t) tuples[j] = NULL;
    tuple_gc(ns, t, 0);
  }
  htab_maybe_shrink(&ns->tuples);
  pthread_mutex_unlock(&ns->mu);
  finish(done);
out:
  if (nodes)
    for (size_t i = 0; i < n; i++)
      if (nodes[i]) node_unref(nodes[i]);
  free(nodes);
  free(tuples);
  free(names);
  free(nlens);
  return rc;
}

static DBR_Errorcode_t mem_count(dbr_backend_t *be, dbr_ns_t *h, const char *name, int64_t *count)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  size_t len = strlen(name);
  uint64_t hh = dbr_hash(name, len);
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    return err_deleted(ns);
  }
  mem_tuple_t *t = tuple_find(ns, name, len, hh);
  *count = t ? t->count : 0;
  pthread_mutex_unlock(&ns->mu);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t mem_directory(dbr_backend_t *be, dbr_ns_t *h, const char *pattern, dbr_name_sink_fn sink,
                                     void *ctx)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  size_t plen = strlen(pattern);
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    return err_deleted(ns);
  }
  char lit[DBR_MAX_KEY_LEN + 2];
  size_t llen;
  if (plen <= DBR_MAX_KEY_LEN && glob_literal(pattern, plen, lit, &llen)) {
    mem_tuple_t *t = tuple_find(ns, lit, llen, dbr_hash(lit, llen));
    if (t && t->count > 0) sink(ctx, t->name, t->ent.klen);
  } else {
    for (size_t i = 0; i <= ns->tuples.mask; i++)
      for (htab_ent_t *e = ns->tuples.b[i]; e; e = e->hnext)
        if (((mem_tuple_t *)e)->count > 0 && glob_match(pattern, plen, e->key, e->klen) &&
            sink(ctx, e->key, e->klen))
          goto out;
  }
out:
  pthread_mutex_unlock(&ns->mu);
  return DBR_SUCCESS;
}

/* Iteration: names are collected a bucket at a time into buf (NUL-separated) and handed out one per call. */
typedef struct {
  mem_ns_t *ns;
  size_t cursor;
  int done;
  char *pattern;
  size_t plen;
  char *buf;
  size_t len, cap, pos;
  int oom;
} mem_iter_t;

static void iter_collect(void *ctx, htab_ent_t *e)
{
  mem_iter_t *it = ctx;
  if (((mem_tuple_t *)e)->count == 0 || !glob_match(it->pattern, it->plen, e->key, e->klen)) return;
  if (it->len + e->klen + 1 > it->cap) {
    size_t ncap = it->cap ? it->cap : 256;
    while (it->len + e->klen + 1 > ncap) ncap *= 2;
    char *nb = realloc(it->buf, ncap);
    if (nb == NULL) {
      it->oom = 1;
      return;
    }
    it->buf = nb;
    it->cap = ncap;
  }
  memcpy(it->buf + it->len, e->key, e->klen);
  it->buf[it->len + e->klen] = '\0';
  it->len += e->klen + 1;
}

static void mem_iterate_free(dbr_backend_t *be, void *cursor)
{
  (void)be;
  mem_iter_t *it = cursor;
  if (it == NULL) return;
  ns_unref(it->ns);
  free(it->pattern);
  free(it->buf);
  free(it);
}

static DBR_Errorcode_t mem_iterate(dbr_backend_t *be, dbr_ns_t *h, void **cursor, const char *pattern,
                                   char *name_out)
{
  mem_iter_t *it = *cursor;
  if (it == NULL) {
    it = calloc(1, sizeof *it);
    if (it == NULL || (it->pattern = strdup(pattern)) == NULL) {
      free(it);
      return dbr_err(DBR_ERR_NOMEMORY, "out of memory starting an iterator");
    }
    it->plen = strlen(pattern);
    it->ns = NS(h);
    ns_ref(it->ns);
    *cursor = it;
  }
  for (;;) {
    if (it->pos < it->len) {
      size_t l = strlen(it->buf + it->pos);
      memcpy(name_out, it->buf + it->pos, l + 1);
      it->pos += l + 1;
      return DBR_SUCCESS;
    }
    if (it->done) break;
    it->len = it->pos = 0;
    pthread_mutex_lock(&it->ns->mu);
    if (it->ns->deleted) {
      pthread_mutex_unlock(&it->ns->mu);
      break;
    }
    /* Scan until a bucket yields names, a bounded number of buckets per lock hold. */
    for (int i = 0; i < 256 && it->len == 0 && !it->done && !it->oom; i++) {
      it->cursor = htab_scan(&it->ns->tuples, it->cursor, iter_collect, it);
      if (it->cursor == 0) it->done = 1;
    }
    pthread_mutex_unlock(&it->ns->mu);
    if (it->oom) {
      mem_iterate_free(be, it);
      *cursor = NULL;
      return dbr_err(DBR_ERR_NOMEMORY, "out of memory while iterating");
    }
  }
  mem_iterate_free(be, it);
  *cursor = NULL;
  return DBR_ERR_UNAVAIL;
}

/* Moves the values of src tuple t to dst (both locked, src != dst). -1 if dst is out of memory. */
static int move_tuple(mem_ns_t *src, mem_tuple_t *t, mem_ns_t *dst, mem_waiter_t **done)
{
  mem_tuple_t *dt = tuple_get_or_create(dst, t->name, t->ent.klen, t->ent.hash);
  if (dt == NULL) return -1;
  mem_node_t *n = t->head;
  int64_t count = t->count, bytes = t->bytes;
  t->head = t->tail = NULL;
  t->count = t->bytes = 0;
  src->names--;
  src->values -= count;
  src->bytes -= bytes;
  if (dt->wh == NULL && dst->twh == NULL) { /* nobody waits: splice the whole FIFO */
    if (dt->tail)
      dt->tail->next = n;
    else
      dt->head = n;
    mem_node_t *last = n;
    while (last->next) last = last->next;
    dt->tail = last;
    if (dt->count == 0) dst->names++;
    dt->count += count;
    dt->bytes += bytes;
    dst->values += count;
    dst->bytes += bytes;
  } else {
    while (n) {
      mem_node_t *next = n->next;
      deliver(dst, dt, n, done);
      n = next;
    }
    tuple_gc(dst, dt, 0);
  }
  return 0;
}

static DBR_Errorcode_t mem_move(dbr_backend_t *be, dbr_ns_t *hs, const char *name, const char *tmpl, dbr_ns_t *hd)
{
  (void)be;
  mem_ns_t *src = NS(hs), *dst = NS(hd);
  mem_waiter_t *done = NULL;
  DBR_Errorcode_t rc = DBR_SUCCESS;
  int moved = 0;
  lock2(src, dst);
  if (src->deleted || dst->deleted) {
    rc = err_deleted(src->deleted ? src : dst);
    goto out;
  }
  if (name) {
    size_t len = strlen(name);
    mem_tuple_t *t = tuple_find(src, name, len, dbr_hash(name, len));
    if (t && t->count > 0) {
      moved = 1;
      if (src != dst) {
        if (move_tuple(src, t, dst, &done) != 0) {
          rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory moving '%s'", name);
          goto out;
        }
        tuple_gc(src, t, 1);
      }
    }
  } else {
    size_t plen = strlen(tmpl);
    for (size_t i = 0; i <= src->tuples.mask; i++) {
      htab_ent_t *e = src->tuples.b[i];
      while (e) {
        htab_ent_t *next = e->hnext;
        mem_tuple_t *t = (mem_tuple_t *)e;
        if (t->count > 0 && glob_match(tmpl, plen, e->key, e->klen)) {
          moved = 1;
          if (src != dst) {
            if (move_tuple(src, t, dst, &done) != 0) {
              rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory moving '%s'", t->name);
              goto shrink;
            }
            tuple_gc(src, t, 0);
          }
        }
        e = next;
      }
    }
  shrink:
    htab_maybe_shrink(&src->tuples);
    htab_maybe_shrink(&dst->tuples);
  }
  if (rc == DBR_SUCCESS && !moved)
    rc = name ? dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to move", name)
              : dbr_err(DBR_ERR_UNAVAIL, "no tuple name matches '%s': nothing to move", tmpl);
out:
  unlock2(src, dst);
  finish(done);
  return rc;
}

static DBR_Errorcode_t mem_remove(dbr_backend_t *be, dbr_ns_t *h, const char *name, const char *tmpl)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  int removed = 0;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    return err_deleted(ns);
  }
  if (name) {
    size_t len = strlen(name);
    mem_tuple_t *t = tuple_find(ns, name, len, dbr_hash(name, len));
    if (t && t->count > 0) {
      removed = 1;
      tuple_clear(ns, t);
      tuple_gc(ns, t, 1);
    }
  } else {
    size_t plen = strlen(tmpl);
    for (size_t i = 0; i <= ns->tuples.mask; i++) {
      htab_ent_t *e = ns->tuples.b[i];
      while (e) {
        htab_ent_t *next = e->hnext;
        mem_tuple_t *t = (mem_tuple_t *)e;
        if (t->count > 0 && glob_match(tmpl, plen, e->key, e->klen)) {
          removed = 1;
          tuple_clear(ns, t);
          tuple_gc(ns, t, 0);
        }
        e = next;
      }
    }
    htab_maybe_shrink(&ns->tuples);
  }
  pthread_mutex_unlock(&ns->mu);
  if (!removed)
    return name ? dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to remove", name)
                : dbr_err(DBR_ERR_UNAVAIL, "no tuple name matches '%s': nothing to remove", tmpl);
  return DBR_SUCCESS;
}

/* ---- backend: requests ---- */

static void complete_node(dbr_req_t *req, DBR_Errorcode_t status, mem_node_t *node)
{
  dbr_value_t v = node_value(node);
  dbr_req_complete(req, status, &v, node->len);
}

/* Makes req wait (ns->mu held; for MOVE_VALUE dst is locked too). Returns 0, or -1 on ENOMEM. */
static int add_waiter(mem_ns_t *ns, dbr_req_t *req)
{
  mem_waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL) return -1;
  if (req->name) {
    size_t len = strlen(req->name);
    w->tuple = tuple_get_or_create(ns, req->name, len, dbr_hash(req->name, len));
    if (w->tuple == NULL) {
      free(w);
      return -1;
    }
  }
  w->req = req;
  w->seq = ++ns->wseq;
  mem_waiter_t **head = w->tuple ? &w->tuple->wh : &ns->twh;
  mem_waiter_t **tail = w->tuple ? &w->tuple->wt : &ns->twt;
  w->prev = *tail;
  if (*tail)
    (*tail)->next = w;
  else
    *head = w;
  *tail = w;
  req->backend_data = w;
  dbr_req_ref(req);
  return 0;
}

static void submit_read_get(mem_ns_t *ns, dbr_req_t *req)
{
  int64_t idx = req->op == DBR_OP_READ ? (int64_t)(req->flags >> DBR_FLAGS_INDEX_SHIFT) : 0;
  int partial = (req->flags & DBR_FLAGS_PARTIAL) != 0;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    pthread_mutex_unlock(&ns->mu);
    dbr_req_complete(req, err_deleted(ns), NULL, 0);
    return;
  }
  mem_tuple_t *t;
  if (req->name) {
    size_t len = strlen(req->name);
    t = tuple_find(ns, req->name, len, dbr_hash(req->name, len));
    if (t && t->count <= idx) t = NULL;
  } else {
    t = tuple_match(ns, req->tmpl, idx);
  }
  if (t) {
    mem_node_t *node = req->op == DBR_OP_GET ? t->head : tuple_nth(t, idx);
    int64_t len = node->len;
    if (!fits(req, len) && !partial) {
      pthread_mutex_unlock(&ns->mu);
      dbr_req_complete(req, DBR_ERR_UBUFFER, NULL, len);
      return;
    }
    if (req->op == DBR_OP_GET) {
      tuple_pop(ns, t);
      tuple_gc(ns, t, 1);
    } else {
      node_ref(node);
    }
    pthread_mutex_unlock(&ns->mu);
    complete_node(req, fits(req, len) ? DBR_SUCCESS : DBR_ERR_UBUFFER, node);
    return;
  }
  if (req->flags & DBR_FLAGS_NOWAIT) {
    pthread_mutex_unlock(&ns->mu);
    dbr_req_complete(req, dbr_err_static(DBR_ERR_UNAVAIL, "no value available (NOWAIT)"), NULL, 0);
    return;
  }
  int rc = add_waiter(ns, req);
  pthread_mutex_unlock(&ns->mu);
  if (rc != 0) dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory queueing a wait"), NULL, 0);
}

static void submit_move_value(mem_ns_t *src, dbr_req_t *req)
{
  mem_ns_t *dst = NS(req->dst_ns);
  int partial = (req->flags & DBR_FLAGS_PARTIAL) != 0;
  mem_waiter_t *done = NULL;
  lock2(src, dst);
  if (src->deleted || dst->deleted) {
    DBR_Errorcode_t rc = err_deleted(src->deleted ? src : dst);
    unlock2(src, dst);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  }
  size_t len = strlen(req->name);
  mem_tuple_t *t = tuple_find(src, req->name, len, dbr_hash(req->name, len));
  if (t && t->count > 0) {
    mem_node_t *node = t->head;
    int64_t vlen = node->len;
    if (!fits(req, vlen) && !partial) {
      unlock2(src, dst);
      dbr_req_complete(req, DBR_ERR_UBUFFER, NULL, vlen);
      return;
    }
    size_t dlen = strlen(req->dst_name);
    mem_tuple_t *dt = tuple_get_or_create(dst, req->dst_name, dlen, dbr_hash(req->dst_name, dlen));
    if (dt == NULL) {
      tuple_gc(src, t, 1);
      unlock2(src, dst);
      dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory moving a value"), NULL, 0);
      return;
    }
    tuple_pop(src, t);
    node_ref(node); /* the request's; the FIFO's moves to dst */
    deliver(dst, dt, node, &done);
    if (t != dt) tuple_gc(src, t, 1);
    tuple_gc(dst, dt, 1);
    unlock2(src, dst);
    finish(done);
    complete_node(req, fits(req, vlen) ? DBR_SUCCESS : DBR_ERR_UBUFFER, node);
    return;
  }
  if (req->flags & DBR_FLAGS_NOWAIT) {
    unlock2(src, dst);
    dbr_req_complete(req, dbr_err_static(DBR_ERR_UNAVAIL, "no value available (NOWAIT)"), NULL, 0);
    return;
  }
  int rc = add_waiter(src, req);
  unlock2(src, dst);
  if (rc != 0) dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory queueing a wait"), NULL, 0);
}

static void free_owned(void *p)
{
  free(p);
}

/* Completes req with a buffer it then owns (NULL: an empty value). */
static void complete_owned(dbr_req_t *req, DBR_Errorcode_t status, unsigned char *buf, int64_t len)
{
  static unsigned char empty;
  dbr_value_t v = {.data = buf ? buf : &empty, .len = len, .release = buf ? free_owned : NULL, .owner = buf};
  dbr_req_complete(req, status, &v, len);
}

/* Fills destinations from the first non-empty source, in one step under the namespace lock. */
static void submit_move_many(mem_ns_t *ns, dbr_req_t *req)
{
  dbr_name_ref_t src[DBRX_MOVE_MANY_MAX_SOURCES];
  dbr_name_ref_t *dst = malloc(DBRX_MOVE_MANY_MAX_DESTINATIONS * sizeof *dst);
  mem_node_t **moved = malloc(DBRX_MOVE_MANY_MAX_DESTINATIONS * sizeof *moved);
  if (dst == NULL || moved == NULL) {
    free(dst);
    free(moved);
    dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory for a move-many"), NULL, 0);
    return;
  }
  int nsrc = dbr_name_list("source", req->name, src, DBRX_MOVE_MANY_MAX_SOURCES);
  int ndst = dbr_name_list("destination", req->dst_name, dst, DBRX_MOVE_MANY_MAX_DESTINATIONS);
  DBR_Errorcode_t rc = DBR_SUCCESS;
  int n = 0;
  int64_t bytes = 0;
  mem_waiter_t *done = NULL;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) rc = err_deleted(ns);
  for (int s = 0; rc == DBR_SUCCESS && n < ndst && s < nsrc;) {
    uint64_t sh = dbr_hash(src[s].name, src[s].len);
    mem_tuple_t *t = tuple_find(ns, src[s].name, src[s].len, sh);
    if (t == NULL || t->count == 0) {
      s++;
      continue;
    }
    uint64_t dh = dbr_hash(dst[n].name, dst[n].len);
    mem_tuple_t *dt = tuple_get_or_create(ns, dst[n].name, dst[n].len, dh);
    if (dt == NULL) {
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory moving a value");
      break;
    }
    t = tuple_find(ns, src[s].name, src[s].len, sh); /* the table may have grown */
    mem_node_t *node = tuple_pop(ns, t);
    node_ref(node); /* the result's; the FIFO's moves to the destination */
    moved[n++] = node;
    bytes += 8 + node->len;
    deliver(ns, dt, node, &done);
    if (t != dt) tuple_gc(ns, t, 1);
    tuple_gc(ns, dt, 1);
  }
  pthread_mutex_unlock(&ns->mu);
  finish(done);
  unsigned char *out = n > 0 ? malloc((size_t)bytes) : NULL;
  if (n > 0 && out == NULL) rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory for the result of a move-many (%d values moved stay where they went)", n);
  unsigned char *p = out;
  for (int i = 0; i < n; i++) {
    if (p) {
      uint64_t len = (uint64_t)moved[i]->len;
      for (int b = 0; b < 8; b++) *p++ = (unsigned char)(len >> (8 * b));
      memcpy(p, moved[i]->data, len);
      p += len;
    }
    node_unref(moved[i]);
  }
  free(moved);
  free(dst);
  if (rc != DBR_SUCCESS) {
    free(out);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  }
  complete_owned(req, DBR_SUCCESS, out, n > 0 ? bytes : 0);
}

/*
 * One step of a pop-put batch under the namespace lock: unless (skip if it holds a value, popping it unless
 * peeking), then pop, then put. *result gets a DBRX_STEP_* code.
 */
static DBR_Errorcode_t mem_step(mem_ns_t *ns, const dbr_step_t *st, unsigned char *result)
{
  mem_node_t *node = NULL, *dropped[2] = {NULL, NULL};
  if (st->put_len && (node = node_new(st->value, st->value_len)) == NULL)
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value of %lld bytes", (long long)st->value_len);
  mem_waiter_t *done = NULL;
  DBR_Errorcode_t rc = DBR_SUCCESS;
  pthread_mutex_lock(&ns->mu);
  if (ns->deleted) {
    rc = err_deleted(ns);
    goto out;
  }
  if (st->unless_len) {
    mem_tuple_t *u = tuple_find(ns, st->unless, st->unless_len, dbr_hash(st->unless, st->unless_len));
    if (u && u->count > 0) {
      if (!(st->flags & DBRX_STEP_PEEK_UNLESS)) {
        dropped[0] = tuple_pop(ns, u);
        tuple_gc(ns, u, 1);
      }
      *result = DBRX_STEP_SKIPPED;
      goto out;
    }
  }
  uint64_t ph = st->pop_len ? dbr_hash(st->pop, st->pop_len) : 0;
  mem_tuple_t *src = st->pop_len ? tuple_find(ns, st->pop, st->pop_len, ph) : NULL;
  if (st->pop_len && (src == NULL || src->count == 0)) {
    *result = DBRX_STEP_EMPTY;
    goto out;
  }
  mem_tuple_t *dst = NULL;
  if (st->put_len) {
    dst = tuple_get_or_create(ns, st->put, st->put_len, dbr_hash(st->put, st->put_len)); /* first: ENOMEM changes nothing */
    if (dst == NULL) {
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value");
      goto out;
    }
    if (st->pop_len) src = tuple_find(ns, st->pop, st->pop_len, ph); /* the table may have grown */
  }
  if (src) {
    dropped[1] = tuple_pop(ns, src);
    if (src != dst) tuple_gc(ns, src, 1);
  }
  if (dst) {
    deliver(ns, dst, node, &done);
    node = NULL;
    tuple_gc(ns, dst, 1); /* a waiter took the value and nothing else is there */
  }
  *result = DBRX_STEP_DONE;
out:
  pthread_mutex_unlock(&ns->mu);
  if (node) node_unref(node);
  for (int i = 0; i < 2; i++)
    if (dropped[i]) node_unref(dropped[i]);
  finish(done);
  return rc;
}

/* Drops the head of pop_name and appends a value under put_name in one step (finishing a claimed task: its
 * claim slot is emptied exactly when its result appears); UNAVAIL, and nothing put, if pop_name is empty. */
static DBR_Errorcode_t mem_pop_put(mem_ns_t *ns, const char *pop_name, const char *put_name, const void *buf,
                                   int64_t size)
{
  dbr_step_t st = {.pop = pop_name, .put = put_name, .unless = "", .pop_len = strlen(pop_name),
                   .put_len = strlen(put_name), .value = buf, .value_len = size};
  unsigned char result = DBRX_STEP_EMPTY;
  DBR_Errorcode_t rc = mem_step(ns, &st, &result);
  if (rc == DBR_SUCCESS && result == DBRX_STEP_EMPTY)
    return dbr_err(DBR_ERR_UNAVAIL, "nothing under '%s' to pop, so nothing was put under '%s'", pop_name, put_name);
  return rc;
}

/* Runs each step of a pop-put batch in order; the result has one DBRX_STEP_* byte per step. */
static void submit_pop_put_many(mem_ns_t *ns, dbr_req_t *req)
{
  int64_t count;
  DBR_Errorcode_t rc = dbr_steps_check(req->in, req->in_len, &count); /* again: the caller may have changed it */
  if (rc != DBR_SUCCESS) {
    dbr_req_complete(req, rc, NULL, 0);
    return;
  }
  unsigned char *out = calloc((size_t)count + 1, 1);
  if (out == NULL) {
    dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory for a pop-put batch"), NULL, 0);
    return;
  }
  int64_t off = 0;
  for (int64_t i = 0; i < count && rc == DBR_SUCCESS; i++) {
    dbr_step_t st;
    dbr_step_next(req->in, &off, &st);
    rc = mem_step(ns, &st, &out[i]);
  }
  if (rc != DBR_SUCCESS) {
    free(out);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  }
  complete_owned(req, DBR_SUCCESS, out, count);
}

/* A request keeps its namespaces' memory alive until it is freed, so cancel() can always lock req->ns. */
static void mem_req_free(dbr_req_t *req)
{
  if (req->op == DBR_OP_MOVE_VALUE) ns_unref(NS(req->dst_ns));
  ns_unref(NS(req->ns));
}

static void mem_submit(dbr_backend_t *be, dbr_req_t *req)
{
  mem_ns_t *ns = NS(req->ns);
  DBR_Errorcode_t rc;
  ns_ref(ns);
  if (req->op == DBR_OP_MOVE_VALUE) ns_ref(NS(req->dst_ns));
  req->backend_free = mem_req_free;
  switch (req->op) {
  case DBR_OP_READ:
  case DBR_OP_GET:
    submit_read_get(ns, req);
    return;
  case DBR_OP_MOVE_VALUE:
    submit_move_value(ns, req);
    return;
  case DBR_OP_PUT:
    rc = mem_put(be, req->ns, req->name, req->in, req->in_len);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  case DBR_OP_PUT_MANY:
    rc = mem_put_many(be, req->ns, req->in, req->in_len);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  case DBR_OP_POP_PUT:
    rc = mem_pop_put(ns, req->name, req->dst_name, req->in, req->in_len);
    dbr_req_complete(req, rc, NULL, 0);
    return;
  case DBR_OP_MOVE_MANY:
    submit_move_many(ns, req);
    return;
  case DBR_OP_POP_PUT_MANY:
    submit_pop_put_many(ns, req);
    return;
  default:
    break;
  }
  dbr_req_complete(req, DBR_ERR_INVALID, NULL, 0);
}

/* Nothing here is ever on a wire: a waiter either holds no value yet, or has completed under ns->mu. */
static int mem_cancel(dbr_backend_t *be, dbr_req_t *req, dbr_cancel_why_t why)
{
  (void)be;
  (void)why;
  mem_ns_t *ns = NS(req->ns);
  pthread_mutex_lock(&ns->mu);
  mem_waiter_t *w = req->backend_data;
  if (w == NULL) {
    pthread_mutex_unlock(&ns->mu);
    return 0;
  }
  mem_tuple_t *t = w->tuple;
  waiter_unlink(ns, w);
  if (t) tuple_gc(ns, t, 1);
  pthread_mutex_unlock(&ns->mu);
  free(w);
  dbr_req_unref(req); /* the backend's reference; the caller holds its own */
  return 1;
}

static void mem_destroy(dbr_backend_t *be)
{
  (void)be; /* the tuple space lives as long as the process */
}

static dbr_backend_t g_mem_backend = {
    .name = "mem",
    .destroy = mem_destroy,
    .ns_create = mem_ns_create,
    .ns_attach = mem_ns_attach,
    .ns_detach = mem_ns_detach,
    .ns_delete = mem_ns_delete,
    .ns_stat = mem_ns_stat,
    .ns_list = mem_ns_list,
    .put = mem_put,
    .put_if_absent = mem_put_if_absent,
    .put_many = mem_put_many,
    .count = mem_count,
    .directory = mem_directory,
    .iterate = mem_iterate,
    .iterate_free = mem_iterate_free,
    .move = mem_move,
    .remove = mem_remove,
    .submit = mem_submit,
    .cancel = mem_cancel,
};

DBR_Errorcode_t dbr_backend_mem_open(dbr_backend_t **out)
{
  *out = &g_mem_backend;
  return DBR_SUCCESS;
}
