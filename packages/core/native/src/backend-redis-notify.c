/*
 * The Redis backend's wait engine, part two: how waiter groups hear that a value may have come.
 *
 * One subscription connection per node carries keyspace notifications ("__keyspace@0__:<key>" messages).
 * A named group SUBSCRIBEs to its key's channel, a pattern group PSUBSCRIBEs on every master, and every
 * message that can add a value kicks its group (backend-redis-groups.c tries the waiters). From COVER_MIN named
 * groups under one key prefix (the key up to its last ':'), new ones are served by one "cover" PSUBSCRIBE of
 * "<escaped prefix>[^\n]*" instead of a SUBSCRIBE and an UNSUBSCRIBE per key; its messages are routed to the
 * named group of the key. Each node is checked, once per connection session, to send the notifications
 * (backend-redis-notify-config.c); where that is refused, groups poll with a backoff.
 * See backend-redis-wait.c for why notifications, and for the races this leaves to the wait side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "glob.h"
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"
#include "util.h"

#define POLL_MIN_NS (1LL * 1000000)
#define POLL_MAX_NS (250LL * 1000000)
#define MAX_PENDING_KEYS 64
#define SUB_BATCH 128
#define COVER_MIN 8 /* named groups under one prefix before a cover pattern serves new ones */
#define COVER_TAIL "[^\n]*"

/* ---- subscriptions ---- */

static void sub_on_ready(rconn_t *c);
static void sub_on_down(rconn_t *c, DBR_Errorcode_t err, int was_ready);
static void sub_on_push(rconn_t *c, redisReply *r);
static const rconn_hooks_t sub_hooks = {.on_ready = sub_on_ready, .on_down = sub_on_down, .on_push = sub_on_push};

static rconn_t *node_sub(rnode_t *n)
{
  if (!n->sub) {
    n->sub = rconn_new(n->be->io, n->host, n->port, n->be->password, n->be->token, n->be->op_timeout_ns,
                       &sub_hooks, n);
    if (!n->sub) return NULL;
    rconn_set_auto(n->sub, 1);
  }
  rconn_connect(n->sub);
  rn_notify_configure(n);
  return n->sub;
}

/* Sends "<verb> ch1 ch2 ..." for up to SUB_BATCH channels at a time. */
typedef struct {
  rbuf_t b;
  int argc;
} subcmd_t;

static void subcmd_flush(rconn_t *c, subcmd_t *s, const char *verb)
{
  if (s->argc == 0) return;
  rbuf_t out = {0};
  char hdr[24];
  rbuf_append(&out, hdr, resp_array_header(hdr, s->argc + 1));
  resp_arg_str(&out, verb);
  rbuf_append(&out, s->b.p, s->b.len);
  if (!out.oom && !s->b.oom) {
    rconn_send_noreply(c, out.p, out.len);
  } else {
    rbuf_free(&out);
  }
  rbuf_free(&s->b);
  s->argc = 0;
}

static void subcmd_add(rconn_t *c, subcmd_t *s, const char *verb, const char *ch, size_t len)
{
  resp_arg(&s->b, ch, len);
  if (++s->argc >= SUB_BATCH) subcmd_flush(c, s, verb);
}

static void send_one(rconn_t *c, const char *verb, const char *ch, size_t len)
{
  if (!c || rconn_state(c) != RC_READY) return; /* on_ready will (re)subscribe */
  subcmd_t s = {{0}, 0};
  subcmd_add(c, &s, verb, ch, len);
  subcmd_flush(c, &s, verb);
}

/* ---- covers: one PSUBSCRIBE "<prefix>[^\n]*" for many named groups ---- */



static void cover_send(rbe_t *be, cover_t *c, const char *verb)
{
  for (int i = 0; i < be->nnodes; i++) {
    rnode_t *n = be->nodes[i];
    if (!n->is_master) continue;
    if (verb[0] == 'P' && verb[1] == 'S') node_sub(n); /* PSUBSCRIBE: make sure the connection exists */
    if (n->sub) send_one(n->sub, verb, c->chan, c->chanlen);
  }
}

/* The cover counting key's prefix (created with 0 groups if new); NULL if the key has no ':' or on ENOMEM. */
static cover_t *cover_of(rbe_t *be, const char *key, size_t klen)
{
  const char *colon = memrchr(key, ':', klen);
  if (!colon) return NULL;
  size_t pl = (size_t)(colon - key) + 1;
  cover_t *c = rmap_get(&be->covers, key, pl);
  if (c) return c;
  c = calloc(1, sizeof *c);
  char *prefix = malloc(pl + 1), *chan = malloc(KEYSPACE_PREFIX_LEN + 2 * pl + sizeof COVER_TAIL);
  if (!c || !prefix || !chan || rmap_put(&be->covers, key, pl, c) != 0) {
    free(c);
    free(prefix);
    free(chan);
    return NULL;
  }
  memcpy(prefix, key, pl);
  prefix[pl] = '\0';
  memcpy(chan, KEYSPACE_PREFIX, KEYSPACE_PREFIX_LEN);
  size_t el = glob_escape(prefix, pl, chan + KEYSPACE_PREFIX_LEN);
  memcpy(chan + KEYSPACE_PREFIX_LEN + el, COVER_TAIL, sizeof COVER_TAIL);
  c->prefix = prefix;
  c->prefixlen = pl;
  c->chan = chan;
  c->chanlen = KEYSPACE_PREFIX_LEN + el + sizeof COVER_TAIL - 1;
  return c;
}

/* A new named group joins its prefix's count; from COVER_MIN on, the cover serves it. */
void rn_cover_join(rbe_t *be, wgroup_t *g)
{
  cover_t *c = cover_of(be, g->key, g->keylen);
  if (!c) return;
  g->cover = c;
  c->groups++;
  if (!c->active && c->groups >= COVER_MIN) {
    c->active = 1;
    cover_send(be, c, "PSUBSCRIBE");
  }
  g->covered = c->active;
}

void rn_cover_leave(wgroup_t *g)
{
  cover_t *c = g->cover;
  if (!c) return;
  g->cover = NULL;
  if (--c->groups == 0) c->idle_since = rio_now_ns();
}

typedef struct {
  int64_t idle_before;
  cover_t **idle;
  size_t n, cap;
} sweep_t;

static void collect_idle(void *ctx, const char *k, size_t len, void *val)
{
  (void)k;
  (void)len;
  sweep_t *s = ctx;
  cover_t *c = val;
  if (c->groups > 0 || c->idle_since >= s->idle_before) return;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    cover_t **idle = realloc(s->idle, cap * sizeof *idle);
    if (!idle) return; /* the next sweep takes it */
    s->idle = idle;
    s->cap = cap;
  }
  s->idle[s->n++] = c;
}

void rn_covers_sweep(rbe_t *be, int64_t idle_before)
{
  sweep_t s = {.idle_before = idle_before};
  rmap_each(&be->covers, collect_idle, &s);
  for (size_t i = 0; i < s.n; i++) {
    cover_t *c = s.idle[i];
    if (c->active && !be->shutting_down) cover_send(be, c, "PUNSUBSCRIBE");
    rmap_del(&be->covers, c->prefix, c->prefixlen);
    free(c->prefix);
    free(c->chan);
    free(c);
  }
  free(s.idle);
}

static void cover_free_one(void *ctx, const char *k, size_t len, void *val)
{
  (void)ctx;
  (void)k;
  (void)len;
  cover_t *c = val;
  free(c->prefix);
  free(c->chan);
  free(c);
}

void rn_group_subscribe(wgroup_t *g)
{
  rbe_t *be = g->be;
  if (g->pattern) {
    for (int i = 0; i < be->nnodes; i++) {
      rnode_t *n = be->nodes[i];
      if (!n->is_master) continue;
      rconn_t *c = node_sub(n);
      send_one(c, "PSUBSCRIBE", g->chan, g->chanlen);
    }
  } else if (!g->covered) {
    rnode_t *n = rb_node(be, g->node);
    if (!n) return;
    rconn_t *c = node_sub(n);
    send_one(c, "SUBSCRIBE", g->chan, g->chanlen);
  }
}

void rn_group_unsubscribe(wgroup_t *g)
{
  rbe_t *be = g->be;
  if (g->pattern) {
    for (int i = 0; i < be->nnodes; i++)
      if (be->nodes[i]->sub) send_one(be->nodes[i]->sub, "PUNSUBSCRIBE", g->chan, g->chanlen);
  } else if (!g->covered) {
    rnode_t *n = rb_node(be, g->node);
    if (n && n->sub) send_one(n->sub, "UNSUBSCRIBE", g->chan, g->chanlen);
  }
}

/* Is waiting on this group done by polling (notifications off where it matters)? */
int rn_group_polls(wgroup_t *g)
{
  rbe_t *be = g->be;
  if (g->pattern) {
    for (int i = 0; i < be->nnodes; i++)
      if (be->nodes[i]->is_master && be->nodes[i]->notify == NOTIFY_OFF) return 1;
    return 0;
  }
  rnode_t *n = rb_node(be, g->node);
  return n && n->notify == NOTIFY_OFF;
}

void rn_poll_fired(rio_timer_t *t)
{
  wgroup_t *g = (wgroup_t *)((char *)t - offsetof(wgroup_t, poll));
  if (g->nwait == 0 || !rn_group_polls(g)) return;
  if (g->pattern) {
    g->rescan = 1;
    rw_pkick(g);
  } else {
    rw_kick(g);
  }
  g->poll_delay = g->poll_delay * 2 > POLL_MAX_NS ? POLL_MAX_NS : g->poll_delay * 2;
  rio_timer_arm(g->be->io, &g->poll, rio_now_ns() + g->poll_delay);
}

void rn_poll_start(wgroup_t *g)
{
  g->poll_delay = POLL_MIN_NS;
  rio_timer_arm(g->be->io, &g->poll, rio_now_ns() + g->poll_delay);
}

/* ---- subscription connection hooks ---- */

struct cover_sub {
  rconn_t *c;
  subcmd_t *p;
};

static void cover_resubscribe(void *ctx, const char *k, size_t len, void *val)
{
  (void)k;
  (void)len;
  struct cover_sub *cs = ctx;
  cover_t *c = val;
  if (c->active) subcmd_add(cs->c, cs->p, "PSUBSCRIBE", c->chan, c->chanlen);
}

static void cover_reconfirm(void *ctx, const char *k, size_t len, void *val)
{
  (void)k;
  (void)len;
  cover_t *c = val;
  c->confirmed_seq = ((rbe_t *)ctx)->heard_seq;
}

static void sub_on_ready(rconn_t *c)
{
  rnode_t *n = rconn_owner(c);
  rbe_t *be = n->be;
  subcmd_t s = {{0}, 0}, p = {{0}, 0};
  for (wgroup_t *g = be->all_groups; g; g = g->all_next) {
    if (g->pattern) {
      if (n->is_master) subcmd_add(c, &p, "PSUBSCRIBE", g->chan, g->chanlen);
    } else if (g->node == n->idx && !g->covered) {
      subcmd_add(c, &s, "SUBSCRIBE", g->chan, g->chanlen);
    }
  }
  if (n->is_master) {
    struct cover_sub cs = {c, &p};
    rmap_each(&be->covers, cover_resubscribe, &cs);
  }
  /* messages may have been missed while the connection was down: covers vouch only from now on */
  be->heard_seq++;
  be->heard[be->heard_seq % HEARD_RING] = 0;
  rmap_each(&be->covers, cover_reconfirm, be);
  subcmd_flush(c, &s, "SUBSCRIBE");
  subcmd_flush(c, &p, "PSUBSCRIBE");
  rn_notify_configure(n);
}

static void sub_on_down(rconn_t *c, DBR_Errorcode_t err, int was_ready)
{
  (void)c;
  (void)err;
  (void)was_ready;
  /* Nothing to do: the connection comes back by itself and on_ready resubscribes and re-checks. */
}

/* Events that can make a value appear (for a read: change one). */
static int adds_value(const redisReply *ev)
{
  static const char *const evs[] = {"rpush", "lpush", "linsert", "lset", "rename_to", "restore", "copy_to",
                                    "rpoplpush", "lmove", "move_to"};
  if (!ev || ev->type != REDIS_REPLY_STRING) return 1;
  for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
    if ((size_t)ev->len == strlen(evs[i]) && memcmp(ev->str, evs[i], (size_t)ev->len) == 0) return 1;
  return 0;
}

static void pending_key(wgroup_t *g, const char *key, size_t len)
{
  if (g->rescan) return; /* a full rescan is coming anyway */
  for (int i = 0; i < g->npk; i++)
    if (g->pklen[i] == len && memcmp(g->pk[i], key, len) == 0) return;
  if (g->npk >= MAX_PENDING_KEYS) {
    g->rescan = 1;
    return;
  }
  if (!g->pk) {
    g->pk = malloc(MAX_PENDING_KEYS * sizeof *g->pk);
    g->pklen = malloc(MAX_PENDING_KEYS * sizeof *g->pklen);
    if (!g->pk || !g->pklen) {
      free(g->pk);
      free(g->pklen);
      g->pk = NULL;
      g->pklen = NULL;
      g->rescan = 1;
      return;
    }
  }
  char *k = strndup(key, len);
  if (!k) {
    g->rescan = 1;
    return;
  }
  g->pk[g->npk] = k;
  g->pklen[g->npk] = len;
  g->npk++;
}

struct cover_find {
  const char *chan;
  size_t len;
  cover_t *found;
};

static void cover_match(void *ctx, const char *k, size_t len, void *val)
{
  (void)k;
  (void)len;
  struct cover_find *f = ctx;
  cover_t *c = val;
  if (c->chanlen == f->len && memcmp(c->chan, f->chan, f->len) == 0) f->found = c;
}

/*
 * A PSUBSCRIBE reply for a cover. Once every master confirmed, its covered groups that waited for that try
 * now, and later ones try at once.
 */
static void cover_confirmed(rbe_t *be, const char *chan, size_t len)
{
  struct cover_find f = {chan, len, NULL};
  rmap_each(&be->covers, cover_match, &f);
  cover_t *c = f.found;
  if (!c || c->confirmed) return;
  int masters = 0;
  for (int i = 0; i < be->nnodes; i++) masters += be->nodes[i]->is_master;
  if (++c->confirms < masters) return;
  c->confirmed = 1;
  c->confirmed_seq = ++be->heard_seq;
  be->heard[c->confirmed_seq % HEARD_RING] = 0;
  for (wgroup_t *g = be->all_groups; g; g = g->all_next)
    if (g->cover == c && g->covered && g->nwait > 0) rw_kick(g);
}

static void sub_on_push(rconn_t *c, redisReply *r)
{
  rnode_t *n = rconn_owner(c);
  rbe_t *be = n->be;
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING) {
    freeReplyObject(r);
    return;
  }
  const redisReply *kind = r->element[0];
#define IS(s) ((size_t)kind->len == sizeof(s) - 1 && memcmp(kind->str, s, sizeof(s) - 1) == 0)
  if (IS("message") && r->element[1]->type == REDIS_REPLY_STRING) {
    wgroup_t *g = rmap_get(&be->groups, r->element[1]->str, (size_t)r->element[1]->len);
    if (g && g->nwait > 0 && adds_value(r->element[2])) rw_kick(g);
  } else if (IS("pmessage") && r->elements >= 4 && r->element[1]->type == REDIS_REPLY_STRING &&
             r->element[2]->type == REDIS_REPLY_STRING) {
    wgroup_t *g = rmap_get(&be->pgroups, r->element[1]->str, (size_t)r->element[1]->len);
    const redisReply *ch = r->element[2];
    if (g && g->nwait > 0 && adds_value(r->element[3]) && (size_t)ch->len > KEYSPACE_PREFIX_LEN) {
      pending_key(g, ch->str + KEYSPACE_PREFIX_LEN, (size_t)ch->len - KEYSPACE_PREFIX_LEN);
      rw_pkick(g);
    } else if (!g) { /* a cover: the named group of the key, if any */
      wgroup_t *ng = rmap_get(&be->groups, ch->str, (size_t)ch->len);
      if (ng && ng->covered && ng->nwait > 0 && adds_value(r->element[3])) rw_kick(ng);
      else if (!ng && adds_value(r->element[3])) be->heard[++be->heard_seq % HEARD_RING] = dbr_hash(ch->str, (size_t)ch->len);
    }
  } else if (IS("subscribe") && r->element[1]->type == REDIS_REPLY_STRING) {
    wgroup_t *g = rmap_get(&be->groups, r->element[1]->str, (size_t)r->element[1]->len);
    if (g && g->nwait > 0) rw_kick(g); /* a value may have come before the subscription */
  } else if (IS("psubscribe") && r->element[1]->type == REDIS_REPLY_STRING) {
    wgroup_t *g = rmap_get(&be->pgroups, r->element[1]->str, (size_t)r->element[1]->len);
    if (g && g->nwait > 0) {
      g->rescan = 1;
      rw_pkick(g);
    } else if (!g) {
      cover_confirmed(be, r->element[1]->str, (size_t)r->element[1]->len);
    }
  }
#undef IS
  freeReplyObject(r);
}

static void cover_topology(void *ctx, const char *k, size_t len, void *val)
{
  (void)k;
  (void)len;
  cover_t *c = val;
  if (c->active) cover_send(ctx, c, "PSUBSCRIBE"); /* new masters need it too; repeats are harmless */
}

void rn_covers_topology(rbe_t *be)
{
  rmap_each(&be->covers, cover_topology, be);
}

void rn_covers_free(rbe_t *be)
{
  rmap_each(&be->covers, cover_free_one, NULL);
}

int rn_heard_since(rbe_t *be, const wgroup_t *g, uint64_t since)
{
  const cover_t *c = g->cover;
  if (!c || !c->confirmed || c->confirmed_seq > since || be->heard_seq - since >= HEARD_RING) return 1;
  uint64_t h = dbr_hash(g->chan, g->chanlen);
  for (uint64_t s = since + 1; s <= be->heard_seq; s++)
    if (be->heard[s % HEARD_RING] == h) return 1;
  return 0;
}
