/*
 * The Redis backend's fast path for the first waiters: a get or move-value that must wait blocks on the server
 * (BLPOP, BLMOVE) over one of a few pooled connections per node, instead of waiting for a keyspace
 * notification and then popping.
 *
 * Why both. Notifications (backend-redis-wait.c) scale to any number of waiters on two connections per node,
 * but a wake-up costs a message and then a pop: two trips through the I/O thread and one more command. A
 * server-side blocking pop hands the value over in the reply to the put itself. It needs a connection per
 * waiter, so only the first DBR_BLOCKING_POOL (default 4, 0 turns it off) waiters of each node use it, and
 * only for their first BLOCK_MAX_NS: a wait that lasts longer moves to notifications and frees its
 * connection. Short waits are the ones whose latency counts: a worker waiting for the next task of a busy
 * queue, a client waiting for a result.
 *
 * Only requests that may take any value qualify (no capacity: the asynchronous gets and move-values of
 * libdbr_ext.h): a blocking pop cannot leave a value that does not fit in place. A request that finds a
 * waiter group for its key joins it, so the waiters of one process keep their arrival order.
 *
 * Stopping. A blocking pop is never interrupted: CLIENT UNBLOCK is unsafe (Redis 7.0 crashes, or runs the
 * pop after all behind an UNBLOCKED error, when the blocked client is held by CLIENT PAUSE), and closing the
 * connection can discard a reply the server has produced but not yet written. Instead each pop blocks for at
 * most BLOCK_SLICE_NS and is sent again while the request waits.
 * A stop (cancel, timeout) keeps the rules of backend-redis-wait.c: the pop counts as on the wire, so the
 * reply completes the request, with the value if one came, else with the stop's status; this takes at most
 * one slice. A request nobody collects gives back what its pop took.
 *
 * A pop that ends with an error other than WRONGTYPE (a broken connection, MOVED, a server without BLMOVE),
 * or a wait that outlives BLOCK_MAX_NS, falls back to an ordinary first try, which routes, reports a dead
 * node, or joins a waiter group. Everything here runs on the I/O thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"

#define BLOCK_SLICE_NS (100LL * 1000000)
#define BLOCK_SLICE_ARG "0.1" /* the slice in seconds, as the pops' timeout argument */
#define BLOCK_MAX_NS (2000LL * 1000000)

static const rconn_hooks_t block_hooks = {.on_ready = NULL, .on_down = NULL, .on_push = NULL};

/* A free, ready connection of n's pool, or -1. Opens one more (for later waiters) when none is free and none
 * is already connecting. */
static int free_slot(rnode_t *n)
{
  rbe_t *be = n->be;
  int empty = -1, connecting = 0;
  for (int i = 0; i < be->block_pool; i++) {
    rconn_t *c = n->block[i].conn;
    if (!c) {
      if (empty < 0) empty = i;
      continue;
    }
    if (n->block[i].req) continue;
    rconn_state_t st = rconn_state(c);
    if (st == RC_READY) return i;
    if (st != RC_IDLE) connecting = 1;
  }
  for (int i = 0; i < be->block_pool && !connecting; i++) {
    rconn_t *c = n->block[i].conn;
    if (c && !n->block[i].req && rconn_state(c) == RC_IDLE) {
      rconn_connect(c); /* it broke earlier: back for later waiters (within the connection's backoff) */
      connecting = rconn_state(c) != RC_IDLE;
    }
  }
  if (empty >= 0 && !connecting) {
    n->block[empty].conn = rconn_new(be->io, n->host, n->port, be->password, be->token, be->op_timeout_ns,
                                     &block_hooks, n);
    if (n->block[empty].conn) rconn_connect(n->block[empty].conn);
  }
  return -1;
}

static void block_reply(rconn_t *c, void *priv, redisReply *rep, DBR_Errorcode_t err);

/* Whether the request may block for another slice: its deadline is two slices away or more (the server may
 * time a blocked client out late, by up to its cron period, 100 ms by default; the last stretch of a wait
 * therefore waits on notifications, where the deadline is exact). */
static int slice_fits(const rreq_t *r, int64_t now)
{
  return r->req->deadline_ns - now >= 2 * BLOCK_SLICE_NS;
}

/* Sends the request's blocking pop on its slot, for one slice (the same command every slice). */
static int send_pop(rreq_t *r)
{
  rnode_t *n = rb_node(r->be, r->blk_node);
  rbuf_t *b = &r->blk_cmd;
  if (b->len == 0) {
    char hdr[24];
    if (r->op == DBR_OP_GET) {
      rbuf_append(b, hdr, resp_array_header(hdr, 3));
      resp_arg_str(b, "BLPOP");
      resp_arg(b, r->key, r->keylen);
    } else {
      rbuf_append(b, hdr, resp_array_header(hdr, 6));
      resp_arg_str(b, "BLMOVE");
      resp_arg(b, r->key, r->keylen);
      resp_arg(b, r->dkey, r->dkeylen);
      resp_arg_str(b, "LEFT");
      resp_arg_str(b, "RIGHT");
    }
    resp_arg_str(b, BLOCK_SLICE_ARG);
  }
  if (b->oom) return -1;
  struct iovec iov = {b->p, b->len};
  if (rconn_send(n->block[r->blk_slot].conn, &iov, 1, block_reply, r) != DBR_SUCCESS) return -1;
  r->inflight++;
  return 0;
}

/* The request leaves its pooled connection. */
static void leave_slot(rreq_t *r)
{
  rnode_t *n = rb_node(r->be, r->blk_node);
  if (n) n->block[r->blk_slot].req = NULL;
  r->blk_node = -1;
  rbuf_free(&r->blk_cmd);
}

/* Ends the blocking pop: no longer "on the wire" for cancel, and off the pool. */
static DBR_Errorcode_t stop_popping(rreq_t *r, int *withdrawn)
{
  pthread_mutex_lock(&r->be->req_mu);
  r->popping = 0;
  DBR_Errorcode_t stop = r->stop;
  *withdrawn = r->withdrawn;
  pthread_mutex_unlock(&r->be->req_mu);
  leave_slot(r);
  return stop;
}

static void block_reply(rconn_t *c, void *priv, redisReply *rep, DBR_Errorcode_t err)
{
  (void)c;
  rreq_t *r = priv;
  rbe_t *be = r->be;
  r->inflight--;
  outcome_t o = {.kind = OUT_NIL};
  int fallback = 0;
  if (err == DBR_SUCCESS && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
      rep->element[1]->type == REDIS_REPLY_STRING) { /* BLPOP: [key, value] */
    o.kind = OUT_VALUE;
    o.reply = rep->element[1];
    rep->element[1] = NULL;
  } else if (err == DBR_SUCCESS && rep->type == REDIS_REPLY_STRING) { /* BLMOVE: the value */
    o.kind = OUT_VALUE;
    o.reply = rep;
    rep = NULL;
  } else if (err == DBR_SUCCESS && rep->type == REDIS_REPLY_ERROR && reply_error_is(rep, "WRONGTYPE")) {
    o.kind = OUT_ERROR;
    o.err = DBR_ERR_INVALIDOP;
  } else if (err != DBR_SUCCESS || rep->type == REDIS_REPLY_ERROR) {
    if (rep) {
      rnode_t *n = rb_node(be, r->blk_node);
      if (n && reply_error_is(rep, "ERR unknown command")) n->block_off = 1; /* a server without BLMOVE */
      char txt[300];
      reply_text(rep, txt, sizeof txt);
      DBR_LOG(DBR_LOG_DEBUG, "redis: blocking pop on %s failed (%s); waiting the ordinary way", r->key, txt);
    }
    fallback = 1;
  }
  if (rep) freeReplyObject(rep);

  pthread_mutex_lock(&be->req_mu);
  DBR_Errorcode_t stop = r->stop;
  int withdrawn = r->withdrawn;
  pthread_mutex_unlock(&be->req_mu);
  int gone = r->nsdel || (r->nsst && atomic_load(&r->nsst->deleted));
  int64_t now = rio_now_ns();
  if (o.kind == OUT_NIL && !fallback && !withdrawn && stop == DBR_SUCCESS && !gone && !be->closing &&
      now - r->blk_since < BLOCK_MAX_NS && slice_fits(r, now) &&
      rb_node_of_key(be, r->key, r->keylen) == r->blk_node && send_pop(r) == 0)
    return; /* nothing yet: block for another slice */

  stop = stop_popping(r, &withdrawn);
  if (withdrawn) {
    rw_drop_outcome(r, &o);
    rreq_release(r);
    return;
  }
  if (o.kind != OUT_VALUE && stop != DBR_SUCCESS) {
    o.kind = OUT_ERROR;
    o.err = stop;
    o.final = 1;
  } else if (o.kind != OUT_VALUE && be->closing) {
    o.kind = OUT_ERROR;
    o.err = DBR_ERR_CANCELLED;
  } else if (o.kind != OUT_VALUE && gone) {
    o.kind = OUT_ERROR;
    o.err = DBR_ERR_NSINVAL;
  } else if (o.kind == OUT_NIL || fallback) {
    rw_first_try(r); /* waited long enough here, its deadline is due, or the node changed: the ordinary way */
    return;
  }
  rw_first_done(r, &o);
}

void rbk_init_req(rreq_t *r)
{
  r->blk_node = -1;
}

int rbk_try_start(rreq_t *r)
{
  rbe_t *be = r->be;
  if (be->block_pool <= 0 || be->closing || r->cap >= 0 || !r->key ||
      (r->op != DBR_OP_GET && r->op != DBR_OP_MOVE_VALUE) || !slice_fits(r, rio_now_ns()))
    return 0;
  rnode_t *n = rb_node(be, rb_node_of_key(be, r->key, r->keylen));
  if (!n || n->block_off || !n->block) return 0;
  int slot = free_slot(n);
  if (slot < 0) return 0;
  if (!r->akey) { /* the key a give-back returns the value to */
    r->akey = strndup(r->key, r->keylen);
    if (!r->akey) return 0;
    r->akeylen = r->keylen;
  }
  pthread_mutex_lock(&be->req_mu);
  int withdrawn = r->withdrawn;
  if (!withdrawn) r->popping = 1; /* from here on a stop lets the reply complete the request */
  pthread_mutex_unlock(&be->req_mu);
  if (withdrawn) return 0; /* the ordinary path lets it go */
  n->block[slot].req = r;
  r->blk_node = n->idx;
  r->blk_slot = slot;
  r->blk_since = rio_now_ns();
  if (send_pop(r) == 0) return 1;
  int ignored;
  stop_popping(r, &ignored);
  return 0;
}

int rbk_busy(rbe_t *be)
{
  for (int k = 0; k < be->nnodes; k++)
    for (int i = 0; be->nodes[k]->block && i < be->block_pool; i++)
      if (be->nodes[k]->block[i].req) return 1;
  return 0;
}

void rbk_node_init(rnode_t *n)
{
  if (n->be->block_pool > 0) n->block = calloc((size_t)n->be->block_pool, sizeof *n->block);
}

void rbk_node_shutdown(rnode_t *n)
{
  for (int i = 0; n->block && i < n->be->block_pool; i++)
    if (n->block[i].conn) rconn_shutdown(n->block[i].conn, DBR_ERR_NOCONNECT);
}

void rbk_node_free(rnode_t *n)
{
  for (int i = 0; n->block && i < n->be->block_pool; i++) rconn_free(n->block[i].conn);
  free(n->block);
  n->block = NULL;
}
