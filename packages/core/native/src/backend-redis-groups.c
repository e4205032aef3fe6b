/*
 * The Redis backend's waiter groups: the requests waiting on one key (or one template) in arrival order, each
 * group tried again when a notification, a blocking pop's hand-over or the safety tick says a value may have
 * come; and the backend hooks that fail or re-check them on node loss, topology changes, namespace deletes and
 * shutdown. Why groups and notifications: backend-redis-wait.c. Everything here belongs to the I/O thread.
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

static void step(wgroup_t *g);
static void pstep(wgroup_t *g);
static void group_destroy(wgroup_t *g);

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

void rw_unlink_waiter(rreq_t *r)
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

void rw_join_group(rreq_t *r)
{
  rbe_t *be = r->be;
  int fresh;
  wgroup_t *g = r->key ? group_get(be, r->key, r->keylen, 0, &fresh) : group_get(be, r->pat, r->patlen, 1, &fresh);
  if (!g) {
    rw_finish_req(r, dbr_err_static(DBR_ERR_NOMEMORY, "out of memory queueing a wait"), NULL, 0, 0);
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
    rw_unlink_waiter(r); /* the withdraw task may not have run yet */
    rw_drop_outcome(r, o);
    rreq_release(r);
    if (list_empty) g->cursor = NULL;
    step(g);
    return;
  }
  if (o->kind == OUT_NIL && rw_ns_gone(r)) {
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
  rw_unlink_waiter(r);
  rw_finish_outcome(r, o);
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
    rw_unlink_waiter(r);
    rw_drop_outcome(r, o);
    rreq_release(r);
  } else if (o->kind == OUT_NIL && !rw_ns_gone(r)) {
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
    rw_unlink_waiter(r);
    rw_finish_outcome(r, o);
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
  rb_topology_check(be, now);
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
  /* A template waiter scans every master: it is told once none is left to serve it (the single server). */
  int masters_up = 0;
  for (int k = 0; k < be->nnodes; k++)
    masters_up += be->nodes[k]->is_master && rconn_state(be->nodes[k]->cmd) == RC_READY;
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    if (g->pattern ? masters_up > 0 || !n->is_master : g->node != n->idx) continue;
    rreq_t *r = g->head;
    while (r) {
      rreq_t *next = r->gnext;
      if (r->agroup) { /* its attempt in flight fails on its own */
        r = next;
        continue;
      }
      rw_unlink_waiter(r);
      rw_finish_req(r, err == DBR_ERR_NOAUTH ? DBR_ERR_NOAUTH : DBR_ERR_NOCONNECT, NULL, 0, 0);
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
      if (!r->agroup && rw_ns_gone(r)) { /* one with an attempt in flight is failed when it comes back */
        rw_unlink_waiter(r);
        rw_finish_req(r, DBR_ERR_NSINVAL, NULL, 0, 0);
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
        rw_unlink_waiter(r);
        rw_finish_req(r, DBR_ERR_CANCELLED, NULL, 0, 0);
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
    while (g->head) rw_unlink_waiter(g->head); /* not reachable: every waiter was completed at shutdown */
    group_destroy(g);
  }
  rn_covers_free(be);
}
