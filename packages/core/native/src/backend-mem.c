/*
 * The memory backend: an in-process tuple space shared by every thread of the process. This file holds the
 * tuples and waiters; backend-mem-data.c the data calls that do not wait and the backend table;
 * backend-mem-ns.c the namespaces (create, attach, detach, delete); backend-mem-requests.c the requests that
 * may wait (read, get, move-value, the batches); and mem-backend.h what they share.
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
#include "glob.h"
#include "hashmap.h"
#include "request.h"
#include "mem-backend.h"
#include "util.h"


/* ---- tuples (ns->mu held) ---- */

mem_tuple_t *mem_tuple_find(mem_ns_t *ns, const char *name, size_t len, uint64_t h)
{
  return (mem_tuple_t *)htab_find(&ns->tuples, name, len, h);
}

mem_tuple_t *mem_tuple_get_or_create(mem_ns_t *ns, const char *name, size_t len, uint64_t h)
{
  mem_tuple_t *t = mem_tuple_find(ns, name, len, h);
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
void mem_tuple_gc(mem_ns_t *ns, mem_tuple_t *t, int shrink)
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
mem_node_t *mem_tuple_pop(mem_ns_t *ns, mem_tuple_t *t)
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

mem_node_t *mem_tuple_nth(mem_tuple_t *t, int64_t idx)
{
  mem_node_t *n = t->head;
  while (idx-- > 0 && n) n = n->next;
  return n;
}

/* Drops all values of a tuple. */
void mem_tuple_clear(mem_ns_t *ns, mem_tuple_t *t)
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
mem_tuple_t *mem_tuple_match(mem_ns_t *ns, const char *tmpl, int64_t idx)
{
  size_t plen = strlen(tmpl);
  char lit[DBR_MAX_KEY_LEN + 2];
  size_t llen;
  if (plen <= DBR_MAX_KEY_LEN && glob_literal(tmpl, plen, lit, &llen)) {
    mem_tuple_t *t = mem_tuple_find(ns, lit, llen, dbr_hash(lit, llen));
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

void mem_waiter_unlink(mem_ns_t *ns, mem_waiter_t *w)
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
  mem_waiter_unlink(ns, w);
  w->status = status;
  w->node = node;
  w->size = size;
  w->done_next = *done;
  *done = w;
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
void mem_deliver(mem_ns_t *ns, mem_tuple_t *t, mem_node_t *node, mem_waiter_t **done)
{
  if ((t->wh || ns->twh) && offer(ns, t, node, done)) return;
  tuple_append(ns, t, node);
}

static void forward(mem_ns_t *dst, const char *name, mem_node_t *node, mem_waiter_t **done);

/* Completes served waiters (no lock held). A move-value forwards its value to the destination first. */
void mem_finish(mem_waiter_t *done)
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
  mem_tuple_t *t = dst->deleted ? NULL : mem_tuple_get_or_create(dst, name, len, h);
  if (t) {
    mem_deliver(dst, t, node, done);
    mem_tuple_gc(dst, t, 1);
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
void mem_ns_destroy_contents(mem_ns_t *ns)
{
  mem_waiter_t *done = NULL;
  pthread_mutex_lock(&ns->mu);
  ns->deleted = 1;
  fail_all_waiters(ns, DBR_ERR_NSINVAL, &done);
  for (size_t i = 0; i <= ns->tuples.mask; i++) {
    htab_ent_t *e = ns->tuples.b[i];
    while (e) {
      htab_ent_t *next = e->hnext;
      mem_tuple_clear(ns, (mem_tuple_t *)e);
      free(e);
      e = next;
    }
    ns->tuples.b[i] = NULL;
  }
  ns->tuples.n = 0;
  htab_maybe_shrink(&ns->tuples);
  pthread_mutex_unlock(&ns->mu);
  mem_finish(done);
}
