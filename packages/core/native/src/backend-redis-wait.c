/*
 * The Redis backend: requests that may wait (read, get, move-value) and asynchronous puts. The waiter groups
 * are in backend-redis-groups.c; how they hear of new values (subscriptions, covers, the notification setup,
 * polling) is in backend-redis-notify.c.
 *
 * Why keyspace notifications. A blocked get must cost ~0 CPU, wake within ~1 ms of a put made by ANY client
 * (redis-cli RPUSH included), and 1,000 of them must fit in a bounded number of threads and connections.
 * (The first few waiters of a node, for their first seconds, block on the server instead, which saves a
 * round trip per wake-up: backend-redis-block.c. Everything below is the general path.)
 *   - Polling (what the reference does) burns CPU and trades latency against load.
 *   - BLPOP holds a whole connection per waiter (1,000 sockets), cannot be cancelled without closing it (and
 *     a value popped by a cancelled BLPOP in flight would be lost), and cannot leave a too-big value in place.
 *   - Keyspace notifications ("__keyspace@0__:<key>" messages, enabled with CONFIG SET
 *     notify-keyspace-events, merged with the server's flags, adding K, g and l) are pushed by Redis for every
 *     writer. One subscription connection per master carries them all, and the waiting itself costs nothing.
 * So a waiter first tries the atomic step (a Lua script or LPOP / LINDEX); on "nothing there" it joins the
 * waiter group of its key, the group SUBSCRIBEs to the key's channel (one SUBSCRIBE per key, not a pattern
 * over the whole keyspace, so unrelated traffic never reaches us), and every notification that can add a
 * value (rpush, lpush, linsert, lset, rename_to, restore, ...) makes the group try again for its waiters in
 * arrival order, stopping at the first "nothing there". Template waiters PSUBSCRIBE
 * "__keyspace@0__:<escaped ns>::<template>" on every master and try the key named in the message.
 * Races are closed by: trying again once the subscription is confirmed (a value may have come before),
 * trying again after CONFIG SET, re-checking every group after any reconnect, and a slow safety re-check
 * (each group at least every max(1 s, groups / 200 s), so 1,000 idle waiters cost ~200 tiny commands a
 * second at most). If CONFIG is refused and notifications are off, groups poll with a backoff from 1 ms to
 * 250 ms instead (logged once). Idle groups unsubscribe after 2 s, so a worker looping on one queue does not
 * churn subscriptions. Many waiters on distinct keys with one prefix (a client waiting for 500 task results:
 * "...:result:<id>") would SUBSCRIBE and UNSUBSCRIBE once per key; from COVER_MIN groups under a prefix (the key
 * up to its last ':'), new ones are served by one "cover" PSUBSCRIBE of "<prefix>*" instead, its messages
 * routed to the named group of the key, and a covered group is dropped as soon as it is idle.
 *
 * Never losing a value. A get pops only through one atomic step; the step that honours a capacity (Lua:
 * "pop the head only if it fits, else return its length") leaves a too-big value in place. A get or
 * move-value cancelled or timed out while its pop is on the wire is not withdrawn: cancel() returns 0 and
 * records why (`stop`), and the reply completes the request, with the value if the pop took one, else with
 * CANCELLED or TIMEOUT. Withdrawing it and pushing the value back would leave a window of one round trip in
 * which the value is in nobody's hands and other clients see the list empty. A server that does not answer
 * within STOP_GRACE_NS of the stop (stopped, overloaded) must not hold the caller past its timeout, so the
 * request is then withdrawn after all, as below. Only a request nobody will
 * collect (DBR_CANCEL_ABANDON: its queue is closing) is withdrawn with its pop on the wire; the value it
 * takes is pushed back at the head of its list (LPUSH; for move-value a script takes it back from the
 * destination). The same happens if dbr_req_complete() reports that the request already finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"
#include "util.h"

#define STOP_GRACE_NS (500LL * 1000000) /* how long a stopped request waits for its pop's reply */

/* ---- requests: completion, withdrawal, release ---- */

int rreq_withdrawn(rreq_t *r)
{
  pthread_mutex_lock(&r->be->req_mu);
  int w = r->withdrawn;
  pthread_mutex_unlock(&r->be->req_mu);
  return w;
}

static void rreq_free(rreq_t *r)
{
  if (rio_timer_armed(&r->stop_timer)) rio_timer_disarm(r->be->io, &r->stop_timer);
  rbuf_free(&r->blk_cmd);
  if (r->scan_page) freeReplyObject(r->scan_page);
  for (int i = 0; i < r->nputs; i++)
    if (r->puts[i]) rcmd_free(r->puts[i]);
  if (r->puts != &r->put_one) free(r->puts);
  free(r->steps_out);
  for (int i = 0; i < r->nstep_groups; i++) free(r->step_groups[i]);
  free(r->step_groups);
  free(r->key);
  free(r->dkey);
  free(r->pat);
  free(r->akey);
  rb_nsstate_unref(r->nsst);
  free(r->nsname);
  dbr_req_t *req = r->req;
  free(r);
  dbr_req_unref(req);
}

/* Frees the request state once it is finished and nothing refers to it any more. */
void rreq_release(rreq_t *r)
{
  if (!r->done || r->inflight > 0) return;
  pthread_mutex_lock(&r->be->req_mu);
  int w = r->withdrawn, sp = r->stop_posted;
  pthread_mutex_unlock(&r->be->req_mu);
  if (w && !r->withdraw_seen) return; /* the withdraw task still refers to it */
  if (sp && !r->stop_seen) return;    /* so does the stop task */
  rw_unlink_waiter(r);
  rreq_free(r);
}

static void giveback_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  if (err != DBR_SUCCESS || (rep && rep->type == REDIS_REPLY_ERROR)) {
    char txt[300] = "";
    if (rep) reply_text(rep, txt, sizeof txt);
    DBR_LOG(DBR_LOG_ERROR, "redis: could not give back a value taken for a cancelled request (%s): %s",
            cmd->key ? cmd->key : "?", rep ? txt : cmd->errmsg);
  }
  if (rep) freeReplyObject(rep);
}

/* Puts a value consumed for a request that will not receive it back at the head of its list. */
static void give_back(rreq_t *r, redisReply *v)
{
  rbe_t *be = r->be;
  rcmd_t *cmd = NULL;
  if (r->op == DBR_OP_GET) {
    cmd = rcmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "LPUSH");
      rcmd_key(cmd, r->akey, r->akeylen, 1);
      rcmd_arg(cmd, v->str, (size_t)v->len);
    }
  } else if (r->op == DBR_OP_MOVE_VALUE) {
    cmd = rcmd_new(be, SCR_GIVE_BACK);
    if (cmd) {
      rcmd_arg_int(cmd, 2);
      rcmd_key(cmd, r->akey, r->akeylen, 1);
      rcmd_arg(cmd, r->dkey, r->dkeylen);
      rcmd_arg(cmd, v->str, (size_t)v->len);
    }
  }
  freeReplyObject(v);
  if (!cmd) {
    if (r->op == DBR_OP_GET || r->op == DBR_OP_MOVE_VALUE)
      DBR_LOG(DBR_LOG_ERROR, "redis: out of memory giving back a value to %s", r->akey);
    return;
  }
  cmd->done = giveback_done;
  rb_exec(be, cmd);
}

static void release_reply(void *owner)
{
  freeReplyObject(owner);
}

/*
 * Completes the request, unless it was withdrawn. value (owned) is handed over with status; consumed says
 * the value was taken from the tuple space (so it must go back if it cannot be delivered).
 */
void rw_finish_req(rreq_t *r, DBR_Errorcode_t status, redisReply *value, int64_t size, int consumed)
{
  pthread_mutex_lock(&r->be->req_mu);
  if (r->withdrawn || r->completing) {
    pthread_mutex_unlock(&r->be->req_mu);
    if (value) {
      if (consumed)
        give_back(r, value);
      else
        freeReplyObject(value);
    }
    r->done = 1;
    return;
  }
  r->completing = 1;
  r->req->backend_data = NULL;
  pthread_mutex_unlock(&r->be->req_mu);
  int ok;
  if (value) {
    dbr_value_t v = {.data = value->str, .len = (int64_t)value->len, .release = release_reply, .owner = value};
    ok = dbr_req_complete(r->req, status, &v, size);
    if (!ok) {
      if (consumed)
        give_back(r, value);
      else
        freeReplyObject(value);
    }
  } else {
    dbr_req_complete(r->req, status, NULL, size);
  }
  r->done = 1;
}

/* Turns an outcome that is not "nothing there" into the request's completion. */
void rw_finish_outcome(rreq_t *r, outcome_t *o)
{
  int consumed = r->op != DBR_OP_READ;
  switch (o->kind) {
  case OUT_VALUE: {
    int64_t len = (int64_t)o->reply->len;
    if (r->cap >= 0 && len > r->cap) {
      if (r->partial || consumed)
        rw_finish_req(r, DBR_ERR_UBUFFER, o->reply, len, consumed);
      else {
        freeReplyObject(o->reply);
        rw_finish_req(r, DBR_ERR_UBUFFER, NULL, len, 0);
      }
    } else {
      rw_finish_req(r, DBR_SUCCESS, o->reply, len, consumed);
    }
    o->reply = NULL;
    break;
  }
  case OUT_SIZE:
    rw_finish_req(r, DBR_ERR_UBUFFER, NULL, o->size, 0);
    break;
  case OUT_ERROR:
    rw_finish_req(r, o->err, NULL, 0, 0);
    break;
  case OUT_NIL:
    rw_finish_req(r, DBR_ERR_UNAVAIL, NULL, 0, 0);
    break;
  }
}

void rw_drop_outcome(rreq_t *r, outcome_t *o)
{
  if (o->kind == OUT_VALUE && o->reply) {
    if (r->op != DBR_OP_READ)
      give_back(r, o->reply);
    else
      freeReplyObject(o->reply);
    o->reply = NULL;
  }
  r->done = 1;
}

/* ---- submit / cancel ---- */

static void put_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rreq_t *r = cmd->priv;
  r->inflight--;
  if (err == DBR_SUCCESS && rep && rep->type == REDIS_REPLY_ERROR)
    err = reply_error_is(rep, "WRONGTYPE") ? DBR_ERR_INVALIDOP : reply_error_code(rep);
  if (err == DBR_SUCCESS && r->op == DBR_OP_POP_PUT && rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 0)
    err = DBR_ERR_UNAVAIL; /* nothing to pop: nothing was put */
  else if (err != DBR_SUCCESS)
    if (!rreq_withdrawn(r)) dbr_req_set_error(r->req, cmd->errmsg); /* a withdrawn one is collected as TIMEOUT/CANCELLED */
  if (rep) freeReplyObject(rep);
  if (err != DBR_SUCCESS && r->put_err == DBR_SUCCESS) r->put_err = err;
  if (--r->puts_left == 0) {
    rw_finish_req(r, r->put_err, NULL, 0, 0);
    rreq_release(r);
  }
}

void rw_first_done(rreq_t *r, outcome_t *o)
{
  if (rreq_withdrawn(r)) {
    rw_drop_outcome(r, o);
    rreq_release(r);
    return;
  }
  if (o->kind == OUT_NIL && rw_ns_gone(r)) {
    o->kind = OUT_ERROR;
    o->err = DBR_ERR_NSINVAL;
  }
  if (o->kind == OUT_NIL && !r->nowait && !r->be->shutting_down) {
    rw_join_group(r);
    return;
  }
  if (o->kind == OUT_NIL && r->be->shutting_down) {
    o->kind = OUT_ERROR;
    o->err = DBR_ERR_CANCELLED;
  }
  rw_finish_outcome(r, o);
  rreq_release(r);
}

void rw_first_try(rreq_t *r)
{
  r->tried_seq = r->be->heard_seq;
  rw_attempt_key(r, r->key, r->keylen, rw_first_done);
}

static void start_task(rio_task_t *t)
{
  rreq_t *r = (rreq_t *)((char *)t - offsetof(rreq_t, start_task));
  rbe_t *be = r->be;
  if (rreq_withdrawn(r)) {
    r->done = 1;
    rreq_release(r);
    return;
  }
  if (r->op == DBR_OP_PUT || r->op == DBR_OP_PUT_MANY || r->op == DBR_OP_POP_PUT || r->op == DBR_OP_MOVE_MANY ||
      r->op == DBR_OP_POP_PUT_MANY) {
    r->puts_left = r->nputs;
    if (r->nputs == 0) {
      rw_finish_req(r, DBR_SUCCESS, NULL, 0, 0);
      rreq_release(r);
      return;
    }
    rcmd_done_fn done = r->op == DBR_OP_MOVE_MANY ? rb_move_many_done : r->op == DBR_OP_POP_PUT_MANY ? rb_steps_done : put_done;
    for (int i = 0; i < r->nputs; i++) {
      rcmd_t *cmd = r->puts[i];
      r->puts[i] = NULL;
      cmd->priv = r;
      cmd->done = done;
      r->inflight++;
      rb_exec(be, cmd);
    }
    return;
  }
  if (r->key) {
    char chan[KEYSPACE_PREFIX_LEN + DBR_MAX_KEY_LEN * 2 + 8];
    wgroup_t *g = NULL;
    if (!r->nowait && KEYSPACE_PREFIX_LEN + r->keylen < sizeof chan) {
      memcpy(chan, KEYSPACE_PREFIX, KEYSPACE_PREFIX_LEN);
      memcpy(chan + KEYSPACE_PREFIX_LEN, r->key, r->keylen);
      g = rmap_get(&be->groups, chan, KEYSPACE_PREFIX_LEN + r->keylen);
    }
    if (g && g->nwait > 0) {
      rw_join_group(r); /* keep arrival order behind the waiters already there */
      return;
    }
    if (!r->nowait && rbk_try_start(r)) return;
    rw_first_try(r);
  } else {
    rw_scan_attempt(r, rw_first_done);
  }
}

static void withdraw_task(rio_task_t *t)
{
  rreq_t *r = (rreq_t *)((char *)t - offsetof(rreq_t, withdraw_task));
  r->withdraw_seen = 1;
  if (r->group) {
    wgroup_t *g = r->group;
    if (r->agroup == g) {
      /* its attempt is on the wire: the reply handler gives back what it takes */
      rw_unlink_waiter(r);
      g->cursor = NULL;
      g->dirty = 1;
      return;
    }
    rw_unlink_waiter(r);
  }
  if (r->inflight == 0) r->done = 1;
  rreq_release(r);
}

/* The stopped request's pop has had STOP_GRACE_NS to come back: withdraw it now (the reply gives back). */
static void stop_timer_fired(rio_timer_t *t)
{
  rreq_t *r = (rreq_t *)((char *)t - offsetof(rreq_t, stop_timer));
  pthread_mutex_lock(&r->be->req_mu);
  int late = r->popping && !r->completing && !r->withdrawn;
  if (late) {
    r->withdrawn = 1;
    r->req->backend_data = NULL;
  }
  DBR_Errorcode_t stop = r->stop;
  pthread_mutex_unlock(&r->be->req_mu);
  if (!late) return;
  DBR_LOG(DBR_LOG_DEBUG, "redis: no reply to a pop %lld ms after its request was stopped; withdrawing it",
          STOP_GRACE_NS / 1000000);
  dbr_req_complete(r->req, stop, NULL, 0);
  withdraw_task(&r->withdraw_task);
}

static void stop_task(rio_task_t *t)
{
  rreq_t *r = (rreq_t *)((char *)t - offsetof(rreq_t, stop_task));
  r->stop_seen = 1;
  if (r->done) {
    rreq_release(r);
    return;
  }
  rio_timer_arm(r->be->io, &r->stop_timer, rio_now_ns() + STOP_GRACE_NS);
}

static void redis_submit(dbr_backend_t *b, dbr_req_t *req)
{
  rbe_t *be = (rbe_t *)b;
  rreq_t *r = calloc(1, sizeof *r);
  if (!r) {
    dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory submitting a request"), NULL, 0);
    return;
  }
  r->be = be;
  r->req = req;
  r->op = req->op;
  r->cap = req->capacity;
  r->partial = (req->flags & DBR_FLAGS_PARTIAL) != 0;
  r->nowait = (req->flags & DBR_FLAGS_NOWAIT) != 0 || req->deadline_ns <= rio_now_ns();
  r->index = req->op == DBR_OP_READ ? (int64_t)((unsigned)req->flags >> DBR_FLAGS_INDEX_SHIFT) : 0;
  r->start_task.fn = start_task;
  r->withdraw_task.fn = withdraw_task;
  r->stop_task.fn = stop_task;
  r->stop_timer.fn = stop_timer_fired;
  rbk_init_req(r);
  dbr_req_ref(req);
  r->nsst = req->ns->st;
  atomic_fetch_add(&r->nsst->refs, 1);
  if (req->op == DBR_OP_READ || req->op == DBR_OP_GET || req->op == DBR_OP_MOVE_VALUE) {
    r->nsname = strdup(req->ns->name);
    if (!r->nsname) {
      dbr_req_complete(req, dbr_err(DBR_ERR_NOMEMORY, "out of memory"), NULL, 0);
      rreq_free(r);
      return;
    }
  }
  DBR_Errorcode_t err = rb_ns_check(req->ns);
  if (err == DBR_SUCCESS && req->op == DBR_OP_MOVE_VALUE) err = rb_ns_check(req->dst_ns);
  if (err != DBR_SUCCESS) {
    req->backend_data = NULL;
    dbr_req_complete(req, err, NULL, 0);
    rreq_free(r);
    return;
  }
  err = rb_build_request(be, r, req);
  if (err != DBR_SUCCESS) {
    /* Not started: completes here, in the caller's thread (so dbrxLastError explains it). */
    req->backend_data = NULL;
    dbr_req_complete(req, err, NULL, 0);
    rreq_free(r);
    return;
  }
  pthread_mutex_lock(&be->req_mu);
  req->backend_data = r;
  pthread_mutex_unlock(&be->req_mu);
  rio_post(be->io, &r->start_task);
}

static int redis_cancel(dbr_backend_t *b, dbr_req_t *req, dbr_cancel_why_t why)
{
  rbe_t *be = (rbe_t *)b;
  pthread_mutex_lock(&be->req_mu);
  rreq_t *r = req->backend_data;
  if (!r || r->completing || r->withdrawn || r->op == DBR_OP_MOVE_MANY) {
    pthread_mutex_unlock(&be->req_mu);
    return 0;
  }
  if (r->popping && why != DBR_CANCEL_ABANDON) { /* the reply completes it (see the header comment) */
    int post = r->stop == DBR_SUCCESS;
    if (post) {
      r->stop = why == DBR_CANCEL_TIMEOUT ? DBR_ERR_TIMEOUT : DBR_ERR_CANCELLED;
      r->stop_posted = 1;
    }
    pthread_mutex_unlock(&be->req_mu);
    if (post) rio_post(be->io, &r->stop_task);
    return 0;
  }
  r->withdrawn = 1;
  req->backend_data = NULL;
  pthread_mutex_unlock(&be->req_mu);
  rio_post(be->io, &r->withdraw_task);
  return 1;
}

static void redis_submit_burst(dbr_backend_t *b, int on)
{
  (void)b;
  if (on)
    rio_hold_posts();
  else
    rio_release_posts();
}

void rb_wait_install(dbr_backend_t *b)
{
  b->submit = redis_submit;
  b->cancel = redis_cancel;
  b->submit_burst = redis_submit_burst;
}
