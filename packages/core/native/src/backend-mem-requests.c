/*
 * The memory backend: requests that may wait (read, get, move-value), the batches (move-many, pop-put-many),
 * and cancel. The tuple space itself is in backend-mem.c.
 */
#include "batch.h"
#include "mem-backend.h"

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
    w->tuple = mem_tuple_get_or_create(ns, req->name, len, dbr_hash(req->name, len));
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
    t = mem_tuple_find(ns, req->name, len, dbr_hash(req->name, len));
    if (t && t->count <= idx) t = NULL;
  } else {
    t = mem_tuple_match(ns, req->tmpl, idx);
  }
  if (t) {
    mem_node_t *node = req->op == DBR_OP_GET ? t->head : mem_tuple_nth(t, idx);
    int64_t len = node->len;
    if (!fits(req, len) && !partial) {
      pthread_mutex_unlock(&ns->mu);
      dbr_req_complete(req, DBR_ERR_UBUFFER, NULL, len);
      return;
    }
    if (req->op == DBR_OP_GET) {
      mem_tuple_pop(ns, t);
      mem_tuple_gc(ns, t, 1);
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
  mem_tuple_t *t = mem_tuple_find(src, req->name, len, dbr_hash(req->name, len));
  if (t && t->count > 0) {
    mem_node_t *node = t->head;
    int64_t vlen = node->len;
    if (!fits(req, vlen) && !partial) {
      unlock2(src, dst);
      dbr_req_complete(req, DBR_ERR_UBUFFER, NULL, vlen);
      return;
    }
    size_t dlen = strlen(req->dst_name);
    mem_tuple_t *dt = mem_tuple_get_or_create(dst, req->dst_name, dlen, dbr_hash(req->dst_name, dlen));
    if (dt == NULL) {
      mem_tuple_gc(src, t, 1);
      unlock2(src, dst);
      dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory moving a value"), NULL, 0);
      return;
    }
    mem_tuple_pop(src, t);
    node_ref(node); /* the request's; the FIFO's moves to dst */
    mem_deliver(dst, dt, node, &done);
    if (t != dt) mem_tuple_gc(src, t, 1);
    mem_tuple_gc(dst, dt, 1);
    unlock2(src, dst);
    mem_finish(done);
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
    mem_tuple_t *t = mem_tuple_find(ns, src[s].name, src[s].len, sh);
    if (t == NULL || t->count == 0) {
      s++;
      continue;
    }
    uint64_t dh = dbr_hash(dst[n].name, dst[n].len);
    mem_tuple_t *dt = mem_tuple_get_or_create(ns, dst[n].name, dst[n].len, dh);
    if (dt == NULL) {
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory moving a value");
      break;
    }
    t = mem_tuple_find(ns, src[s].name, src[s].len, sh); /* the table may have grown */
    mem_node_t *node = mem_tuple_pop(ns, t);
    node_ref(node); /* the result's; the FIFO's moves to the destination */
    moved[n++] = node;
    bytes += 8 + node->len;
    mem_deliver(ns, dt, node, &done);
    if (t != dt) mem_tuple_gc(ns, t, 1);
    mem_tuple_gc(ns, dt, 1);
  }
  pthread_mutex_unlock(&ns->mu);
  mem_finish(done);
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
    mem_tuple_t *u = mem_tuple_find(ns, st->unless, st->unless_len, dbr_hash(st->unless, st->unless_len));
    if (u && u->count > 0) {
      if (!(st->flags & DBRX_STEP_PEEK_UNLESS)) {
        dropped[0] = mem_tuple_pop(ns, u);
        mem_tuple_gc(ns, u, 1);
      }
      *result = DBRX_STEP_SKIPPED;
      goto out;
    }
  }
  uint64_t ph = st->pop_len ? dbr_hash(st->pop, st->pop_len) : 0;
  mem_tuple_t *src = st->pop_len ? mem_tuple_find(ns, st->pop, st->pop_len, ph) : NULL;
  if (st->pop_len && (src == NULL || src->count == 0)) {
    *result = DBRX_STEP_EMPTY;
    goto out;
  }
  mem_tuple_t *dst = NULL;
  if (st->put_len) {
    dst = mem_tuple_get_or_create(ns, st->put, st->put_len, dbr_hash(st->put, st->put_len)); /* first: ENOMEM changes nothing */
    if (dst == NULL) {
      rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory storing a value");
      goto out;
    }
    if (st->pop_len) src = mem_tuple_find(ns, st->pop, st->pop_len, ph); /* the table may have grown */
  }
  if (src) {
    dropped[1] = mem_tuple_pop(ns, src);
    if (src != dst) mem_tuple_gc(ns, src, 1);
  }
  if (dst) {
    mem_deliver(ns, dst, node, &done);
    node = NULL;
    mem_tuple_gc(ns, dst, 1); /* a waiter took the value and nothing else is there */
  }
  *result = DBRX_STEP_DONE;
out:
  pthread_mutex_unlock(&ns->mu);
  if (node) node_unref(node);
  for (int i = 0; i < 2; i++)
    if (dropped[i]) node_unref(dropped[i]);
  mem_finish(done);
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

void mem_submit(dbr_backend_t *be, dbr_req_t *req)
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
int mem_cancel(dbr_backend_t *be, dbr_req_t *req, dbr_cancel_why_t why)
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
  mem_waiter_unlink(ns, w);
  if (t) mem_tuple_gc(ns, t, 1);
  pthread_mutex_unlock(&ns->mu);
  free(w);
  dbr_req_unref(req); /* the backend's reference; the caller holds its own */
  return 1;
}
