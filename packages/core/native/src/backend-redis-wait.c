/*
 * The Redis backend: requests that may wait (read, get, move-value) and asynchronous puts. How waiter groups
 * hear of new values (subscriptions, covers, the notification setup, polling) is in backend-redis-notify.c.
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

#define SAFETY_TICK_NS (1000LL * 1000000)
#define SAFETY_BUDGET 200          /* groups re-checked per tick */
#define IDLE_LINGER_NS (2000LL * 1000000)
#define STOP_GRACE_NS (500LL * 1000000) /* how long a stopped request waits for its pop's reply */

static void step(wgroup_t *g);
static void pstep(wgroup_t *g);
static void group_destroy(wgroup_t *g);
static void join_group(rreq_t *r);

/* ---- requests: completion, withdrawal, release ---- */

static int ns_gone(const rreq_t *r)
{
  return r->nsdel || (r->nsst && atomic_load(&r->nsst->deleted));
}

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
  free(r->puts);
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

/* Drops the idle covered groups of this round (still idle, not trying): they cost nothing to make again, and
 * kept until the next tick they pile up by the ten thousand and make every lookup a cache miss. */
static void reap_task(rio_task_t *t)
{
  rbe_t *be = (rbe_t *)((char *)t - offsetof(rbe_t, reap_task));
  be->reap_posted = 0;
  while (be->reap) {
    wgroup_t *g = be->reap;
    be->reap = g->reap_next;
    g->reaping = 0;
    if (g->nwait == 0 && !g->inflight && g->covered && !be->shutting_down) group_destroy(g);
  }
}

static void reap_later(wgroup_t *g)
{
  rbe_t *be = g->be;
  if (g->reaping || be->shutting_down) return; /* at shutdown every group goes anyway (and the loop may be gone) */
  g->reaping = 1;
  g->reap_next = be->reap;
  be->reap = g;
  if (!be->reap_posted) {
    be->reap_posted = 1;
    be->reap_task.fn = reap_task;
    rio_defer(be->io, &be->reap_task);
  }
}

static void unlink_waiter(rreq_t *r)
{
  wgroup_t *g = r->group;
  if (!g) return;
  if (g->cursor == r) g->cursor = r->gnext;
  if (r->gprev)
    r->gprev->gnext = r->gnext;
  else
    g->head = r->gnext;
  if (r->gnext)
    r->gnext->gprev = r->gprev;
  else
    g->tail = r->gprev;
  r->gprev = r->gnext = NULL;
  r->group = NULL;
  if (--g->nwait == 0) {
    g->idle_since = rio_now_ns();
    if (g->covered) reap_later(g);
  }
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
  unlink_waiter(r);
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
static void finish_req(rreq_t *r, DBR_Errorcode_t status, redisReply *value, int64_t size, int consumed)
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
static void finish_outcome(rreq_t *r, outcome_t *o)
{
  int consumed = r->op != DBR_OP_READ;
  switch (o->kind) {
  case OUT_VALUE: {
    int64_t len = (int64_t)o->reply->len;
    if (r->cap >= 0 && len > r->cap) {
      if (r->partial || consumed)
        finish_req(r, DBR_ERR_UBUFFER, o->reply, len, consumed);
      else {
        freeReplyObject(o->reply);
        finish_req(r, DBR_ERR_UBUFFER, NULL, len, 0);
      }
    } else {
      finish_req(r, DBR_SUCCESS, o->reply, len, consumed);
    }
    o->reply = NULL;
    break;
  }
  case OUT_SIZE:
    finish_req(r, DBR_ERR_UBUFFER, NULL, o->size, 0);
    break;
  case OUT_ERROR:
    finish_req(r, o->err, NULL, 0, 0);
    break;
  case OUT_NIL:
    finish_req(r, DBR_ERR_UNAVAIL, NULL, 0, 0);
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

/* ---- waiter groups ---- */

static wgroup_t *group_get(rbe_t *be, const char *key, size_t klen, int pattern, int *fresh)
{
  *fresh = 0;
  size_t chl = KEYSPACE_PREFIX_LEN + klen;
  char *chan = malloc(chl + 1);
  if (!chan) return NULL;
  memcpy(chan, KEYSPACE_PREFIX, KEYSPACE_PREFIX_LEN);
  memcpy(chan + KEYSPACE_PREFIX_LEN, key, klen);
  chan[chl] = '\0';
  rmap_t *map = pattern ? &be->pgroups : &be->groups;
  wgroup_t *g = rmap_get(map, chan, chl);
  if (g) {
    free(chan);
    return g;
  }
  g = calloc(1, sizeof *g);
  if (!g || rmap_put(map, chan, chl, g) != 0) {
    free(g);
    free(chan);
    return NULL;
  }
  g->be = be;
  g->pattern = pattern;
  g->chan = chan;
  g->chanlen = chl;
  g->key = chan + KEYSPACE_PREFIX_LEN;
  g->keylen = klen;
  g->node = pattern ? -1 : rb_node_of_key(be, key, klen);
  g->poll.fn = rn_poll_fired;
  g->idle_since = rio_now_ns();
  g->all_next = be->all_groups;
  if (be->all_groups) be->all_groups->all_prev = g;
  be->all_groups = g;
  *fresh = 1;
  if (!pattern) rn_cover_join(be, g);
  rn_group_subscribe(g);
  return g;
}

static void group_destroy(wgroup_t *g)
{
  rbe_t *be = g->be;
  for (wgroup_t **pp = &be->reap; g->reaping && *pp; pp = &(*pp)->reap_next) {
    if (*pp == g) {
      *pp = g->reap_next;
      g->reaping = 0;
    }
  }
  if (!be->shutting_down) rn_group_unsubscribe(g);
  rn_cover_leave(g);
  rmap_del(g->pattern ? &be->pgroups : &be->groups, g->chan, g->chanlen);
  if (be->tick_cursor == g) be->tick_cursor = g->all_next;
  if (g->all_prev)
    g->all_prev->all_next = g->all_next;
  else
    be->all_groups = g->all_next;
  if (g->all_next) g->all_next->all_prev = g->all_prev;
  rio_timer_disarm(be->io, &g->poll);
  for (int i = 0; i < g->npk; i++) free(g->pk[i]);
  free(g->pk);
  free(g->pklen);
  free(g->cur_key);
  free(g->chan);
  free(g);
}

static void join_group(rreq_t *r)
{
  rbe_t *be = r->be;
  int fresh;
  wgroup_t *g = r->key ? group_get(be, r->key, r->keylen, 0, &fresh) : group_get(be, r->pat, r->patlen, 1, &fresh);
  if (!g) {
    finish_req(r, dbr_err_static(DBR_ERR_NOMEMORY, "out of memory queueing a wait"), NULL, 0, 0);
    rreq_release(r);
    return;
  }
  r->group = g;
  r->gprev = g->tail;
  r->gnext = NULL;
  if (g->tail)
    g->tail->gnext = r;
  else
    g->head = r;
  g->tail = r;
  g->nwait++;
  if (rn_group_polls(g)) rn_poll_start(g);
  /* A new group tries again once its subscription is confirmed; a new one under a confirmed cover, only if a
   * message for its key came (and found no group) while its first try was on the wire. In an existing group,
   * a value may have come between our try and joining (its notification served nobody): try again now. */
  if (fresh && !g->pattern && !(g->covered && g->cover->confirmed)) return;
  if (fresh && g->covered && !rn_heard_since(be, g, r->tried_seq)) return;
  if (g->pattern) {
    g->rescan = 1;
    rw_pkick(g);
  } else {
    rw_kick(g);
  }
}

/* Named groups: a round tries the waiters in order until one finds nothing. */
static void group_done(rreq_t *r, outcome_t *o)
{
  wgroup_t *g = r->agroup;
  r->agroup = NULL;
  g->inflight = 0;
  if (rreq_withdrawn(r)) {
    int list_empty = o->kind != OUT_VALUE && !o->skipped;
    unlink_waiter(r); /* the withdraw task may not have run yet */
    rw_drop_outcome(r, o);
    rreq_release(r);
    if (list_empty) g->cursor = NULL;
    step(g);
    return;
  }
  if (o->kind == OUT_NIL && ns_gone(r)) {
    o->kind = OUT_ERROR;
    o->err = DBR_ERR_NSINVAL;
  }
  if (o->kind == OUT_NIL) {
    if (r->op == DBR_OP_READ && r->index > 0)
      g->cursor = r->gnext; /* a later waiter may still find something */
    else
      g->cursor = NULL;
    step(g);
    return;
  }
  if (o->kind == OUT_ERROR && (o->err == DBR_ERR_NOCONNECT || o->err == DBR_ERR_TIMEOUT) &&
      !g->be->shutting_down && !o->final) {
    /* The connection broke: keep waiting. A reconnect re-checks; a node that stays down fails the waiters. */
    g->cursor = NULL;
    g->dirty = 0;
    return;
  }
  rreq_t *next = r->gnext;
  int found_nothing = o->final && o->kind != OUT_VALUE;
  unlink_waiter(r);
  finish_outcome(r, o);
  rreq_release(r);
  g->cursor = found_nothing ? NULL : next;
  step(g);
}

static void step(wgroup_t *g)
{
  if (g->inflight) return;
  if (!g->cursor) {
    if (!g->dirty) return;
    g->dirty = 0;
    g->cursor = g->head;
    if (!g->cursor) return;
  }
  rreq_t *r = g->cursor;
  g->inflight = 1;
  r->agroup = g;
  rw_attempt_key(r, g->key, g->keylen, group_done);
}

void rw_kick(wgroup_t *g)
{
  if (g->pattern) {
    g->rescan = 1;
    rw_pkick(g);
    return;
  }
  if (g->inflight) {
    g->dirty = 1;
    return;
  }
  g->dirty = 0;
  g->cursor = g->head;
  step(g);
}

/* Template groups: work items are keys named by notifications, or a full rescan. */
static void pgroup_done(rreq_t *r, outcome_t *o)
{
  wgroup_t *g = r->agroup;
  r->agroup = NULL;
  g->inflight = 0;
  int exhausted = 0;
  if (rreq_withdrawn(r)) {
    exhausted = o->kind != OUT_VALUE && !o->skipped;
    unlink_waiter(r);
    rw_drop_outcome(r, o);
    rreq_release(r);
  } else if (o->kind == OUT_NIL && !ns_gone(r)) {
    exhausted = 1;
  } else if (o->kind == OUT_ERROR && (o->err == DBR_ERR_NOCONNECT || o->err == DBR_ERR_TIMEOUT) &&
             !g->be->shutting_down && !o->final) {
    exhausted = 1; /* keep waiting; reconnects and the safety tick re-check */
  } else {
    exhausted = o->final && o->kind != OUT_VALUE;
    if (o->kind == OUT_NIL) { /* its namespace was deleted here */
      o->kind = OUT_ERROR;
      o->err = DBR_ERR_NSINVAL;
    }
    rreq_t *next = r->gnext;
    unlink_waiter(r);
    finish_outcome(r, o);
    rreq_release(r);
    g->cursor = next;
  }
  if (exhausted) {
    free(g->cur_key);
    g->cur_key = NULL;
    g->cur_rescan = 0;
  }
  pstep(g);
}

static void pstep(wgroup_t *g)
{
  if (g->inflight) return;
  for (;;) {
    if (!g->cur_key && !g->cur_rescan) {
      if (!g->head) {
        for (int i = 0; i < g->npk; i++) free(g->pk[i]);
        g->npk = 0;
        g->rescan = 0;
        return;
      }
      if (g->rescan) {
        g->rescan = 0;
        for (int i = 0; i < g->npk; i++) free(g->pk[i]);
        g->npk = 0;
        g->cur_rescan = 1;
      } else if (g->npk > 0) {
        g->cur_key = g->pk[0];
        g->cur_keylen = g->pklen[0];
        memmove(g->pk, g->pk + 1, (size_t)(g->npk - 1) * sizeof *g->pk);
        memmove(g->pklen, g->pklen + 1, (size_t)(g->npk - 1) * sizeof *g->pklen);
        g->npk--;
      } else {
        return;
      }
      g->cursor = g->head;
    }
    if (!g->cursor) {
      free(g->cur_key);
      g->cur_key = NULL;
      g->cur_rescan = 0;
      continue;
    }
    rreq_t *r = g->cursor;
    g->inflight = 1;
    r->agroup = g;
    if (g->cur_rescan)
      rw_scan_attempt(r, pgroup_done);
    else
      rw_attempt_key(r, g->cur_key, g->cur_keylen, pgroup_done);
    return;
  }
}

void rw_pkick(wgroup_t *g)
{
  if (!g->inflight) pstep(g);
}

void rw_kick_node_groups(rbe_t *be, int node, int patterns_too)
{
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    if (g->nwait == 0) continue;
    if (g->pattern) {
      if (patterns_too) {
        g->rescan = 1;
        rw_pkick(g);
      }
    } else if (node < 0 || g->node == node) {
      rw_kick(g);
    }
  }
}

/* ---- safety tick: re-check groups slowly, drop idle ones ---- */

static void tick_fired(rio_timer_t *t)
{
  rbe_t *be = (rbe_t *)((char *)t - offsetof(rbe_t, tick));
  if (be->shutting_down) return;
  int64_t now = rio_now_ns();
  /* a node whose notification setup failed on the way (a restart while CONFIG GET/SET was on the wire) tries
   * again here, so waits do not stay on this slow tick */
  for (int i = 0; i < be->nnodes; i++) {
    rnode_t *n = be->nodes[i];
    if (n->sub && n->notify == NOTIFY_UNKNOWN && rconn_state(n->cmd) == RC_READY) rn_notify_configure(n);
  }
  /* idle groups go here, all of them: a client waiting on thousands of distinct keys a second must not pile
   * up groups and subscriptions (covered ones go at once; the others after IDLE_LINGER_NS, so a worker
   * looping on one queue keeps its subscription) */
  for (wgroup_t *c = be->all_groups, *next; c; c = next) {
    next = c->all_next;
    if (c->nwait == 0 && !c->inflight && (c->covered || now - c->idle_since > IDLE_LINGER_NS)) group_destroy(c);
  }
  rn_covers_sweep(be, now - IDLE_LINGER_NS);
  int budget = SAFETY_BUDGET;
  wgroup_t *g = be->tick_cursor ? be->tick_cursor : be->all_groups;
  while (g && budget-- > 0) {
    wgroup_t *next = g->all_next;
    if (g->nwait > 0) rw_kick(g);
    g = next;
  }
  be->tick_cursor = g;
  rio_timer_arm(be->io, &be->tick, now + SAFETY_TICK_NS);
}

/* ---- hooks from backend-redis.c ---- */

void rb_wait_init(rbe_t *be)
{
  be->tick.fn = tick_fired;
  rio_timer_arm(be->io, &be->tick, rio_now_ns() + SAFETY_TICK_NS);
}

void rb_wait_node_ready(rnode_t *n)
{
  if (n->sub) rn_notify_configure(n); /* the server may have restarted and forgotten the setting */
  rw_kick_node_groups(n->be, n->idx, 1);
}

void rb_wait_node_down(rnode_t *n, DBR_Errorcode_t err, const char *why)
{
  rbe_t *be = n->be;
  (void)why;
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    if (g->pattern || g->node != n->idx) continue;
    rreq_t *r = g->head;
    while (r) {
      rreq_t *next = r->gnext;
      if (r->agroup) { /* its attempt in flight fails on its own */
        r = next;
        continue;
      }
      unlink_waiter(r);
      finish_req(r, err == DBR_ERR_NOAUTH ? DBR_ERR_NOAUTH : DBR_ERR_NOCONNECT, NULL, 0, 0);
      rreq_release(r);
      r = next;
    }
  }
}

void rb_wait_topology_changed(rbe_t *be)
{
  rn_covers_topology(be);
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    if (g->pattern) {
      rn_group_subscribe(g); /* new masters need the pattern too (a repeated PSUBSCRIBE is harmless) */
      continue;
    }

    int nn = rb_node_of_key(be, g->key, g->keylen);
    if (nn == g->node) continue;
    rn_group_unsubscribe(g);
    g->node = nn;
    rn_group_subscribe(g);
    if (g->nwait > 0) rw_kick(g);
  }
}

void rb_wait_ns_deleted(rbe_t *be, const char *name)
{
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    rreq_t *r = g->head;
    while (r) {
      rreq_t *next = r->gnext;
      if (r->nsname && strcmp(r->nsname, name) == 0) r->nsdel = 1;
      if (!r->agroup && ns_gone(r)) { /* one with an attempt in flight is failed when it comes back */
        unlink_waiter(r);
        finish_req(r, DBR_ERR_NSINVAL, NULL, 0, 0);
        rreq_release(r);
      }
      r = next;
    }
  }
}

void rb_wait_shutdown(rbe_t *be)
{
  rio_timer_disarm(be->io, &be->tick);
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    rreq_t *r = g->head;
    while (r) {
      rreq_t *next = r->gnext;
      if (!r->agroup) {
        unlink_waiter(r);
        finish_req(r, DBR_ERR_CANCELLED, NULL, 0, 0);
        rreq_release(r);
      }
      r = next;
    }
  }
}

void rb_wait_free(rbe_t *be)
{
  while (be->all_groups) {
    wgroup_t *g = be->all_groups;
    while (g->head) unlink_waiter(g->head); /* not reachable: every waiter was completed at shutdown */
    group_destroy(g);
  }
  rn_covers_free(be);
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
    finish_req(r, r->put_err, NULL, 0, 0);
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
  if (o->kind == OUT_NIL && ns_gone(r)) {
    o->kind = OUT_ERROR;
    o->err = DBR_ERR_NSINVAL;
  }
  if (o->kind == OUT_NIL && !r->nowait && !r->be->shutting_down) {
    join_group(r);
    return;
  }
  if (o->kind == OUT_NIL && r->be->shutting_down) {
    o->kind = OUT_ERROR;
    o->err = DBR_ERR_CANCELLED;
  }
  finish_outcome(r, o);
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
      finish_req(r, DBR_SUCCESS, NULL, 0, 0);
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
      join_group(r); /* keep arrival order behind the waiters already there */
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
      unlink_waiter(r);
      g->cursor = NULL;
      g->dirty = 1;
      return;
    }
    unlink_waiter(r);
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
