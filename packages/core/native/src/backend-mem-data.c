/*
 * The memory backend's data calls that do not wait (put, put-if-absent, put-many, count, directory, iterate,
 * move, remove) and its backend table. The tuples and waiters they use are in backend-mem.c, the namespaces
 * in backend-mem-ns.c, the requests that may wait in backend-mem-requests.c; locks and lifetimes as described
 * in backend-mem.c.
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
      mem_tuple_clear(ns, t);
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
          mem_tuple_clear(ns, t);
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
