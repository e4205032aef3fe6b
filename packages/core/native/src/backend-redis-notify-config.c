/*
 * Keyspace notifications, per node and once per connection session: CONFIG GET notify-keyspace-events, then
 * CONFIG SET merging in K, g and l where they are missing. A node that refuses (CONFIG renamed or denied)
 * has its waiter groups poll with a backoff instead, logged once. Either way the node's groups are kicked:
 * values may have come while nobody was told. Part of the wait engine (redis-wait.h); I/O thread only.
 */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"
#include "util.h"

static int has_flag(const char *v, char f)
{
  return strchr(v, f) != NULL;
}

static void notify_set(rnode_t *n, int on, const char *why)
{
  rbe_t *be = n->be;
  n->notify = on ? NOTIFY_ON : NOTIFY_OFF;
  if (!on) {
    if (!be->fallback_logged) {
      be->fallback_logged = 1;
      DBR_LOG(DBR_LOG_WARN, "redis %s: keyspace notifications unavailable (%s); blocked gets and reads poll "
              "with a 1-250 ms backoff instead. Allow CONFIG SET or set notify-keyspace-events to include Kgl",
              rconn_name(n->cmd), why);
    }
    for (wgroup_t *g = be->all_groups; g; g = g->all_next)
      if (g->nwait > 0 && rn_group_polls(g) && !rio_timer_armed(&g->poll)) rn_poll_start(g);
  }
  /* Values may have come before notifications were on. */
  rw_kick_node_groups(be, n->idx, 1);
}

static void cfg_set_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rnode_t *n = rb_node(cmd->be, (int)cmd->aux);
  if (!n || cmd->be->shutting_down) {
    if (rep) freeReplyObject(rep);
    return;
  }
  if (err != DBR_SUCCESS) {
    n->notify = NOTIFY_UNKNOWN; /* retried when the node is ready again */
  } else if (rep->type == REDIS_REPLY_ERROR) {
    char txt[300];
    reply_text(rep, txt, sizeof txt);
    notify_set(n, 0, txt);
  } else {
    notify_set(n, 1, NULL);
  }
  if (rep) freeReplyObject(rep);
}

static void cfg_get_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rbe_t *be = cmd->be;
  rnode_t *n = rb_node(be, (int)cmd->aux);
  if (!n || be->shutting_down) {
    if (rep) freeReplyObject(rep);
    return;
  }
  if (err != DBR_SUCCESS) {
    n->notify = NOTIFY_UNKNOWN;
    return;
  }
  char cur[64] = "";
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_STRING &&
      (size_t)rep->element[1]->len < sizeof cur - 8) {
    memcpy(cur, rep->element[1]->str, (size_t)rep->element[1]->len);
    cur[rep->element[1]->len] = '\0';
  } else if (rep->type == REDIS_REPLY_ERROR) {
    /* CONFIG GET refused: try SET anyway (it may be allowed), with our flags only. */
  }
  freeReplyObject(rep);
  int all = has_flag(cur, 'A');
  if (has_flag(cur, 'K') && (all || has_flag(cur, 'g')) && (all || has_flag(cur, 'l'))) {
    notify_set(n, 1, NULL);
    return;
  }
  char want[80];
  snprintf(want, sizeof want, "%s%s%s%s", cur, has_flag(cur, 'K') ? "" : "K", (all || has_flag(cur, 'g')) ? "" : "g",
           (all || has_flag(cur, 'l')) ? "" : "l");
  rcmd_t *set = rcmd_new(be, -1);
  if (!set) return;
  rcmd_arg_str(set, "CONFIG");
  rcmd_arg_str(set, "SET");
  rcmd_arg_str(set, "notify-keyspace-events");
  rcmd_arg_str(set, want);
  set->node = n->idx;
  set->aux = n->idx;
  set->deadline = rio_now_ns() + be->op_timeout_ns;
  set->done = cfg_set_done;
  rb_exec(be, set);
}

void rn_notify_configure(rnode_t *n)
{
  rbe_t *be = n->be;
  if (be->shutting_down || n->notify == NOTIFY_PENDING) return;
  uint64_t session = rconn_session(n->cmd);
  if ((n->notify == NOTIFY_ON || n->notify == NOTIFY_OFF) && n->notify_session == session) return;
  rcmd_t *cmd = rcmd_new(be, -1);
  if (!cmd) return;
  rcmd_arg_str(cmd, "CONFIG");
  rcmd_arg_str(cmd, "GET");
  rcmd_arg_str(cmd, "notify-keyspace-events");
  cmd->node = n->idx;
  cmd->aux = n->idx;
  cmd->deadline = rio_now_ns() + be->op_timeout_ns;
  cmd->done = cfg_get_done;
  n->notify = NOTIFY_PENDING;
  n->notify_session = session;
  rb_exec(be, cmd);
}
