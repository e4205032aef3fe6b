/*
 * The wait engine of the Redis backend, shared by backend-redis-wait.c (requests), backend-redis-groups.c
 * (waiter groups), backend-redis-attempt.c (the atomic steps), backend-redis-notify.c (how groups hear of
 * new values: subscriptions, covers, and polling where notifications are off) and
 * backend-redis-notify-config.c (each node's notification setup). Everything here belongs to the I/O thread.
 */
#ifndef LIBDBR_REDIS_WAIT_H_
#define LIBDBR_REDIS_WAIT_H_

#include "redis-request.h"

/* The waiters of one key (named group) or of one template pattern (pattern group), served in arrival order. */
struct wgroup {
  rbe_t *be;
  int pattern;
  char *chan; /* "__keyspace@0__:" + key (or pattern) */
  size_t chanlen;
  const char *key; /* chan + prefix */
  size_t keylen;
  int node; /* named: the node owning the key; pattern: -1 */
  rreq_t *head, *tail;
  int nwait;
  int inflight, dirty;
  rreq_t *cursor;
  /* pattern groups: keys named by notifications, still to try */
  char **pk;
  size_t *pklen;
  int npk;
  int rescan;
  char *cur_key;
  size_t cur_keylen;
  int cur_rescan;

  int64_t idle_since;
  int reaping;           /* on be->reap: a covered group gone idle, dropped after this round unless reused */
  wgroup_t *reap_next;
  struct cover *cover; /* the prefix this named group counts under (NULL: its key has no ':') */
  int covered;         /* served by the cover's pattern instead of its own SUBSCRIBE */
  rio_timer_t poll;
  int64_t poll_delay;
  wgroup_t *all_prev, *all_next;
};

/* One PSUBSCRIBE "<prefix>[^\n]*" serving many named groups under a key prefix. */
typedef struct cover {
  char *prefix; /* the key prefix, up to and including its last ':' */
  size_t prefixlen;
  char *chan; /* "__keyspace@0__:" + glob-escaped prefix + "[^\n]*": the newline (which no template can hold)
               * keeps it apart from any template waiter's pattern */
  size_t chanlen;
  int groups;   /* named groups under the prefix, covered or not */
  int active;   /* the pattern is subscribed: new groups under it are covered */
  int confirms;  /* PSUBSCRIBE replies so far */
  int confirmed; /* every master confirmed: new covered groups may try at once */
  int64_t idle_since; /* groups fell to 0 then: the cover stays subscribed for a linger (rn_covers_sweep) */
  uint64_t confirmed_seq; /* be->heard_seq when it was (last re)confirmed */
} cover_t;

/** The request's namespace was deleted (here, or by another client as far as we heard). */
static inline int rw_ns_gone(const rreq_t *r)
{
  return r->nsdel || (r->nsst && atomic_load(&r->nsst->deleted));
}

/* ---- backend-redis-groups.c ---- */
/** A named group tries its waiters again (a value may have come). */
void rw_kick(wgroup_t *g);
/** A pattern group tries again: the keys notifications named, or a rescan when g->rescan is set. */
void rw_pkick(wgroup_t *g);
/** Kicks every waiting group on one node (node < 0: all), and every pattern group if patterns_too. */
void rw_kick_node_groups(rbe_t *be, int node, int patterns_too);
/** Queues r in the waiter group of its key or template (made and subscribed if new), behind those there. */
void rw_join_group(rreq_t *r);
/** Takes r out of its group (if any); an idle covered group is dropped at the end of the round. */
void rw_unlink_waiter(rreq_t *r);

/* ---- backend-redis-wait.c ---- */
/** Completes r unless it was withdrawn; value (owned) goes with status; consumed: it left the tuple space (it goes back if undeliverable). */
void rw_finish_req(rreq_t *r, DBR_Errorcode_t status, redisReply *value, int64_t size, int consumed);
/** Turns an outcome that is not "nothing there" into r's completion. */
void rw_finish_outcome(rreq_t *r, outcome_t *o);

/** A request's first try: the atomic step, then waiting in its group if that found nothing. */
void rw_first_try(rreq_t *r);
/** Completes a request with the outcome of its first try, or lets it wait (OUT_NIL). */
void rw_first_done(rreq_t *r, outcome_t *o);
/** A withdrawn request's attempt came back: give back what it took, then mark it done. */
void rw_drop_outcome(rreq_t *r, outcome_t *o);

/* ---- backend-redis-attempt.c ---- */
/** One atomic step for r against key (an LINDEX, an LPOP, or the script that honours r's capacity); cb gets the outcome. */
void rw_attempt_key(rreq_t *r, const char *key, size_t klen, attempt_cb_t cb);
/** A template's step: SCAN every master for a key matching it and try each until one yields a value. */
void rw_scan_attempt(rreq_t *r, attempt_cb_t cb);

/* ---- backend-redis-block.c: the first waiters of a node block on the server (BLPOP / BLMOVE) ---- */
void rbk_init_req(rreq_t *r);
/** Starts r as a blocking pop on a free pooled connection of its key's node; 0 if it does not qualify or none is free. */
int rbk_try_start(rreq_t *r);
/** Whether a request still blocks on a pooled connection (each comes back within a slice). */
int rbk_busy(rbe_t *be);
void rbk_node_init(rnode_t *n);
void rbk_node_shutdown(rnode_t *n);
void rbk_node_free(rnode_t *n);

/* ---- backend-redis-notify.c ---- */
void rn_group_subscribe(wgroup_t *g);
void rn_group_unsubscribe(wgroup_t *g);
/** Whether the group waits by polling (notifications are off where it matters). */
int rn_group_polls(wgroup_t *g);
void rn_poll_start(wgroup_t *g);
void rn_poll_fired(rio_timer_t *t);
/** A new named group counts under its key prefix; from COVER_MIN groups on, the prefix's cover serves it. */
void rn_cover_join(rbe_t *be, wgroup_t *g);
void rn_cover_leave(wgroup_t *g);
/** Drops the covers without groups since before `idle_before` (a cover outlives its groups for a while, so a
 *  client waiting on results one batch after another keeps its subscription between batches). */
void rn_covers_sweep(rbe_t *be, int64_t idle_before);
/** New masters subscribe to the active covers too. */
void rn_covers_topology(rbe_t *be);
void rn_covers_free(rbe_t *be);
/** Whether a fresh covered group must try at once: a value for its key may have come since heard_seq was
 *  `since` (its first try was sent then) and the message found no group, or the cover cannot vouch for that
 *  span (not confirmed then, or more messages since than the ring holds). */
int rn_heard_since(rbe_t *be, const wgroup_t *g, uint64_t since);
/* ---- backend-redis-notify-config.c ---- */
/** Checks (once per connection session) that the node sends the keyspace notifications waits rely on. */
void rn_notify_configure(rnode_t *n);

#endif /* LIBDBR_REDIS_WAIT_H_ */
