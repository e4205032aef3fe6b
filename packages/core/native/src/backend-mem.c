/*
 * The memory backend: an in-process tuple space shared by every thread of the process. This file holds the
 * tuples, waiters and the data calls that do not wait; backend-mem-ns.c the namespaces (create, attach,
 * detach, delete); backend-mem-requests.c the requests that may wait (read, get, move-value, the batches);
 * and mem-backend.h what they share.
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
      tuple_clear(ns, (mem_tuple_t *)e);
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
    mem_tuple_t *existing = mem_tuple_find(ns, name, len, h);
    *stored = existing == NULL || existing->count == 0;
    if (!*stored) {
      pthread_mutex_unlock(&ns->mu);
      node_unref(node);
      return DBR_SUCCESS;
    }
  }
  mem_tuple_t *t = mem_tuple_get_or_create(ns, name, len, h);
  if (t == NULL) {
    pthread_mutex_unlock(&ns->mu);
    node_unref(node);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value under '%s'", name);
  }
  mem_deliver(ns, t, node, &done);
  if (done) mem_tuple_gc(ns, t, 1);
  pthread_mutex_unlock(&ns->mu);
  if (done) mem_finish(done);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t store(mem_ns_t *ns, const char *name, mem_node_t *node)
{
  return store_maybe(ns, name, node, NULL);
}

DBR_Errorcode_t mem_put(dbr_backend_t *be, dbr_ns_t *h, const char *name, const void *buf, int64_t size)
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

DBR_Errorcode_t mem_put_many(dbr_backend_t *be, dbr_ns_t *h, const void *packed, int64_t len)
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
    tuples[i] = mem_tuple_get_or_create(ns, names[i], nlens[i], dbr_hash(names[i], nlens[i]));
    if (tuples[i] == NULL) {
      for (size_t j = 0; j < i; j++) mem_tuple_gc(ns, tuples[j], 0);
      pthread_mutex_unlock(&ns->mu);
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a batch of %zu values", n);
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {
    mem_deliver(ns, tuples[i], nodes[i], &done);
    nodes[i] = NULL;
  }
  for (size_t i = 0; i < n; i++) {
    /* a tuple may appear several times: gc once, when it is really empty */
    mem_tuple_t *t = tuples[i];
    if (t == NULL || t->count > 0 || t->wh != NULL) continue;
    for (size_t j = i + 1; j < n; j++)
      if (tuples[j] == t) tuples[j] = NULL;
    mem_tuple_gc(ns, t, 0);
  }
  htab_maybe_shrink(&ns->tuples);
  pthread_mutex_unlock(&ns->mu);
  mem_finish(done);
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
  mem_tuple_t *t = mem_tuple_find(ns, name, len, hh);
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
    mem_tuple_t *t = mem_tuple_find(ns, lit, llen, dbr_hash(lit, llen));
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
  mem_tuple_t *dt = mem_tuple_get_or_create(dst, t->name, t->ent.klen, t->ent.hash);
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
      mem_deliver(dst, dt, n, done);
      n = next;
    }
    mem_tuple_gc(dst, dt, 0);
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
    mem_tuple_t *t = mem_tuple_find(src, name, len, dbr_hash(name, len));
    if (t && t->count > 0) {
      moved = 1;
      if (src != dst) {
        if (move_tuple(src, t, dst, &done) != 0) {
          rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory moving '%s'", name);
          goto out;
        }
        mem_tuple_gc(src, t, 1);
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
            mem_tuple_gc(src, t, 0);
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
  mem_finish(done);
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
    mem_tuple_t *t = mem_tuple_find(ns, name, len, dbr_hash(name, len));
    if (t && t->count > 0) {
      removed = 1;
      tuple_clear(ns, t);
      mem_tuple_gc(ns, t, 1);
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
          mem_tuple_gc(ns, t, 0);
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
