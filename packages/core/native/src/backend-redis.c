/*
 * The Redis and Redis Cluster backend of libdbr: nodes, routing and topology. The commands they carry are
 * built with backend-redis-cmd.c; callers' threads wait for them through backend-redis-call.c; opening and
 * closing is backend-redis-open.c.
 *
 * Layout (the Data Broker's, so C and Python programs using the reference library share namespaces):
 *   namespace  HASH at the bare name: id=<name>, refcnt=<attach count>, groups="", flags=0 (1 = delete pending)
 *   tuple      LIST at "<ns>::<name>": put = RPUSH, get = LPOP, read = LINDEX
 * No hash tags are added, so one namespace spreads over every master of a cluster.
 *
 * Threads and connections. The backend owns exactly one thread, the I/O thread (redis-io.c): an epoll loop
 * over every socket. Per master there is one command connection, shared by all callers and pipelined (many
 * requests in flight on one socket), and, once somebody waits for a value, one subscription connection for
 * keyspace notifications. Caller threads never touch a socket: they encode a command (rcmd_t), post it to
 * the loop and wait on a condition variable (rb_call); asynchronous requests are state machines that run
 * in the loop (backend-redis-wait.c). So 1,000 blocked gets cost 1 thread and 2 connections per master.
 *
 * Failure behaviour. A connection that breaks fails its in-flight commands with DBR_ERR_NOCONNECT and
 * reconnects at once; if that fails, the node is "down": commands routed to it fail at once with
 * DBR_ERR_NOCONNECT (so callers learn in time, without queuing behind a dead node), waiters on it are
 * completed with NOCONNECT, and reconnects back off from 50 ms to 2 s. Commands to other masters carry on.
 * A node that accepts connections but does not answer (SIGSTOP) makes synchronous calls fail with
 * DBR_ERR_TIMEOUT at their deadline and asynchronous ones time out through request.c's timer. Logging is
 * one line per node state change (down / back), through log.c's rate limiting.
 *
 * Cluster. CLUSTER SLOTS from the seed (a non-cluster server answers with an error: single mode) gives the
 * slot map; keys go to the master of CRC16(key) % 16384 with {hash tag} rules. MOVED updates the map and
 * schedules a refresh, ASK resends once with ASKING, TRYAGAIN / LOADING retry with a short delay,
 * CLUSTERDOWN fails the call with DBR_ERR_NOCONNECT (never retried forever). A master that stays silent longer
 * than the operation timeout with commands on the wire (hung, or cut off while its connection stays up) makes
 * the safety tick refresh the map, so a replica that took over its slots is followed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"
#include "util.h"

/* ---- nodes ---- */

static void node_on_ready(rconn_t *c);
static void node_on_down(rconn_t *c, DBR_Errorcode_t err, int was_ready);
static const rconn_hooks_t node_hooks = {.on_ready = node_on_ready, .on_down = node_on_down, .on_push = NULL};

rnode_t *rb_node(rbe_t *be, int idx)
{
  return (idx >= 0 && idx < be->nnodes) ? be->nodes[idx] : NULL;
}

rnode_t *rb_master(rbe_t *be, int i)
{
  for (int k = 0; k < be->nnodes; k++)
    if (be->nodes[k]->is_master && i-- == 0) return be->nodes[k];
  return NULL;
}

/* The node for host:port, created (with its command connection) if new. -1 when out of memory. */
int rb_node_get(rbe_t *be, const char *host, int port)
{
  for (int k = 0; k < be->nnodes; k++)
    if (be->nodes[k]->port == port && strcmp(be->nodes[k]->host, host) == 0) return k;
  if (be->nnodes == be->capnodes) {
    int nc = be->capnodes ? be->capnodes * 2 : 8;
    rnode_t **nn = realloc(be->nodes, (size_t)nc * sizeof *nn);
    if (!nn) return -1;
    be->nodes = nn;
    be->capnodes = nc;
  }
  rnode_t *n = calloc(1, sizeof *n);
  if (!n) return -1;
  n->be = be;
  n->idx = be->nnodes;
  snprintf(n->host, sizeof n->host, "%s", host);
  n->port = port;
  n->cmd = rconn_new(be->io, host, port, be->password, be->token, be->op_timeout_ns, &node_hooks, n);
  if (!n->cmd) {
    free(n);
    return -1;
  }
  rbk_node_init(n);
  be->nodes[be->nnodes++] = n;
  return n->idx;
}

static void node_on_ready(rconn_t *c)
{
  rnode_t *n = rconn_owner(c);
  if (n->was_down) {
    if (n->be->opened) DBR_LOG(DBR_LOG_WARN, "redis node %s is reachable again", rconn_name(c));
    n->was_down = 0;
  }
  rb_wait_node_ready(n);
}

static void node_on_down(rconn_t *c, DBR_Errorcode_t err, int was_ready)
{
  rnode_t *n = rconn_owner(c);
  rbe_t *be = n->be;
  if (be->shutting_down) return;
  n->notify = NOTIFY_UNKNOWN;
  if (was_ready) {
    DBR_LOG(DBR_LOG_INFO, "redis: lost the connection to %s (%s); reconnecting", rconn_name(c),
            rconn_last_error(c));
  } else {
    if (!n->was_down && be->opened) {
      DBR_LOG(DBR_LOG_WARN, "redis node %s; calls routed to it fail until it is back (retrying with backoff)",
              rconn_last_error(c));
    }
    n->was_down = 1;
    rb_wait_node_down(n, err, rconn_last_error(c));
  }
  if (be->cluster) rb_topology_refresh(be);
}

int rb_node_of_key(rbe_t *be, const char *key, size_t len)
{
  if (!be->cluster) return be->nnodes > 0 ? 0 : -1;
  return be->slots[cluster_key_slot(key, len)];
}

/* ---- routing ---- */

static void send_cmd(rbe_t *be, rcmd_t *cmd);

static void maybe_free(rcmd_t *cmd)
{
  if (cmd->finished && !cmd->in_flight && !rio_timer_armed(&cmd->retry_timer)) {
    rio_timer_disarm(cmd->be->io, &cmd->deadline_timer);
    rcmd_free(cmd);
  }
}

static void finish(rcmd_t *cmd, redisReply *r, DBR_Errorcode_t err)
{
  if (cmd->finished) {
    if (r) freeReplyObject(r);
    maybe_free(cmd);
    return;
  }
  cmd->finished = 1;
  rio_timer_disarm(cmd->be->io, &cmd->deadline_timer);
  rio_timer_disarm(cmd->be->io, &cmd->retry_timer);
  cmd->done(cmd, r, err);
  maybe_free(cmd);
}

static void fail_task(rio_task_t *t)
{
  rcmd_t *cmd = (rcmd_t *)((char *)t - offsetof(rcmd_t, task));
  finish(cmd, NULL, cmd->fail_err);
}

/* Fails the command after the current callback (done never runs inside rb_exec). */
static void fail_later(rcmd_t *cmd, DBR_Errorcode_t err, const char *fmt, const char *detail)
{
  snprintf(cmd->errmsg, sizeof cmd->errmsg, fmt, detail ? detail : "");
  cmd->fail_err = err; /* not aux: that is the owner's (a node index, a batch's group) */
  cmd->task.fn = fail_task;
  rio_defer(cmd->be->io, &cmd->task);
}

static void deadline_fired(rio_timer_t *t)
{
  rcmd_t *cmd = (rcmd_t *)((char *)t - offsetof(rcmd_t, deadline_timer));
  rnode_t *n = rb_node(cmd->be, cmd->node);
  snprintf(cmd->errmsg, sizeof cmd->errmsg, "no reply from redis node %s within the timeout (DBR_TIMEOUT); the "
           "server may be stopped or overloaded", n ? rconn_name(n->cmd) : "?");
  finish(cmd, NULL, DBR_ERR_TIMEOUT);
}

static void retry_fired(rio_timer_t *t)
{
  rcmd_t *cmd = (rcmd_t *)((char *)t - offsetof(rcmd_t, retry_timer));
  if (cmd->finished) {
    maybe_free(cmd);
    return;
  }
  send_cmd(cmd->be, cmd);
}

static void on_conn_reply(rconn_t *c, void *priv, redisReply *r, DBR_Errorcode_t err)
{
  rcmd_t *cmd = priv;
  rbe_t *be = cmd->be;
  cmd->in_flight = 0;
  if (cmd->finished) {
    if (r && cmd->late)
      cmd->late(cmd, r);
    else if (r)
      freeReplyObject(r);
    maybe_free(cmd);
    return;
  }
  if (!r) {
    snprintf(cmd->errmsg, sizeof cmd->errmsg, "%s", rconn_last_error(c));
    finish(cmd, NULL, err);
    return;
  }
  if (r->type == REDIS_REPLY_ERROR && r->str) {
    int slot = 0, port = 0;
    char host[CLUSTER_HOST_MAX];
    cluster_redir_t rd =
        be->cluster ? cluster_parse_redirect(r->str, (size_t)r->len, rconn_host(c), &slot, host, sizeof host, &port)
                    : CLUSTER_REDIR_NONE;
    if (rd != CLUSTER_REDIR_NONE) {
      if (++cmd->redirects > 5) {
        reply_text(r, cmd->errmsg, sizeof cmd->errmsg);
        freeReplyObject(r);
        finish(cmd, NULL, DBR_ERR_NOCONNECT);
        return;
      }
      int idx = rb_node_get(be, host, port);
      freeReplyObject(r);
      if (idx < 0) {
        snprintf(cmd->errmsg, sizeof cmd->errmsg, "out of memory");
        finish(cmd, NULL, DBR_ERR_NOMEMORY);
        return;
      }
      if (rd == CLUSTER_REDIR_MOVED) {
        be->slots[slot] = (int16_t)idx;
        be->map_moved = 1;
        if (!be->nodes[idx]->is_master) {
          be->nodes[idx]->is_master = 1;
          rconn_set_auto(be->nodes[idx]->cmd, 1);
        }
        rb_topology_refresh(be);
      } else {
        cmd->ask_node = idx;
      }
      send_cmd(be, cmd);
      return;
    }
    if (reply_error_is(r, "TRYAGAIN") || reply_error_is(r, "LOADING")) {
      if (++cmd->retries <= 50) {
        int64_t delay = reply_error_is(r, "LOADING") ? 100000000LL : 20000000LL;
        freeReplyObject(r);
        rio_timer_arm(be->io, &cmd->retry_timer, rio_now_ns() + delay);
        return;
      }
    }
    if (reply_error_is(r, "NOSCRIPT") && cmd->script >= 0 && !cmd->use_eval) {
      freeReplyObject(r);
      cmd->use_eval = 1;
      send_cmd(be, cmd);
      return;
    }
    if (reply_error_is(r, "CLUSTERDOWN")) {
      char txt[300];
      reply_text(r, txt, sizeof txt);
      snprintf(cmd->errmsg, sizeof cmd->errmsg, "the Redis Cluster is down (%s, from %s)", txt, rconn_name(c));
      freeReplyObject(r);
      rb_topology_refresh(be);
      finish(cmd, NULL, DBR_ERR_NOCONNECT);
      return;
    }
  }
  finish(cmd, r, DBR_SUCCESS);
}

static const char asking_cmd[] = "*1\r\n$6\r\nASKING\r\n";
static const char crlf[] = "\r\n";

static void send_cmd(rbe_t *be, rcmd_t *cmd)
{
  if (be->shutting_down) {
    fail_later(cmd, DBR_ERR_NOCONNECT, "the library is shutting down the Redis backend%s", "");
    return;
  }
  if (cmd->body.oom) {
    fail_later(cmd, DBR_ERR_NOMEMORY, "out of memory%s", "");
    return;
  }
  int idx;
  int asking = 0;
  if (cmd->ask_node >= 0) {
    idx = cmd->ask_node;
    asking = 1;
  } else if (cmd->key) {
    idx = rb_node_of_key(be, cmd->key, cmd->keylen);
    if (idx < 0) {
      rb_topology_refresh(be);
      fail_later(cmd, DBR_ERR_NOCONNECT, "no Redis Cluster master serves the hash slot of this key%s "
                 "(CLUSTERDOWN?)", "");
      return;
    }
  } else if (cmd->master >= 0) {
    rnode_t *m = rb_master(be, cmd->master);
    if (!m) {
      fail_later(cmd, DBR_ERR_UNAVAIL, "no such master%s", "");
      return;
    }
    idx = m->idx;
  } else {
    idx = cmd->node;
  }
  rnode_t *n = rb_node(be, idx);
  if (!n) {
    fail_later(cmd, DBR_ERR_NOCONNECT, "no such Redis node%s", "");
    return;
  }
  cmd->node = idx;

  struct iovec iov[4];
  int niov = 0;
  long long argc = cmd->argc;
  if (cmd->script >= 0) {
    const char *src = rb_script_src[cmd->script];
    if (!cmd->use_eval && be->sha[cmd->script][0]) {
      cmd->hdr_len = resp_array_header(cmd->hdr, argc + 2);
      static const char evalsha[] = "$7\r\nEVALSHA\r\n$40\r\n";
      memcpy(cmd->hdr + cmd->hdr_len, evalsha, sizeof evalsha - 1);
      cmd->hdr_len += sizeof evalsha - 1;
      memcpy(cmd->hdr + cmd->hdr_len, be->sha[cmd->script], 40);
      memcpy(cmd->hdr + cmd->hdr_len + 40, "\r\n", 2);
      cmd->hdr_len += 42;
      iov[niov++] = (struct iovec){cmd->hdr, cmd->hdr_len};
    } else {
      cmd->hdr_len = resp_array_header(cmd->hdr, argc + 2);
      cmd->hdr_len += (size_t)snprintf(cmd->hdr + cmd->hdr_len, sizeof cmd->hdr - cmd->hdr_len,
                                       "$4\r\nEVAL\r\n$%zu\r\n", strlen(src));
      iov[niov++] = (struct iovec){cmd->hdr, cmd->hdr_len};
      iov[niov++] = (struct iovec){(void *)src, strlen(src)};
      iov[niov++] = (struct iovec){(void *)crlf, 2};
    }
  } else {
    cmd->hdr_len = resp_array_header(cmd->hdr, argc);
    iov[niov++] = (struct iovec){cmd->hdr, cmd->hdr_len};
  }
  iov[niov++] = (struct iovec){cmd->body.p, cmd->body.len};

  if (asking) {
    struct iovec a = {(void *)asking_cmd, sizeof asking_cmd - 1};
    if (rconn_send(n->cmd, &a, 1, NULL, NULL) != DBR_SUCCESS) {
      fail_later(cmd, rconn_last_code(n->cmd) ? rconn_last_code(n->cmd) : DBR_ERR_NOCONNECT, "%s",
                 rconn_last_error(n->cmd));
      return;
    }
    cmd->ask_node = -1;
  }
  DBR_Errorcode_t err = rconn_send(n->cmd, iov, niov, on_conn_reply, cmd);
  if (err != DBR_SUCCESS) {
    const char *why = rconn_last_error(n->cmd);
    fail_later(cmd, err, "%s", why[0] ? why : "cannot queue the command");
    return;
  }
  cmd->in_flight = 1;
}

void rb_exec(rbe_t *be, rcmd_t *cmd)
{
  cmd->deadline_timer.fn = deadline_fired;
  cmd->retry_timer.fn = retry_fired;
  if (cmd->deadline > 0) rio_timer_arm(be->io, &cmd->deadline_timer, cmd->deadline);
  send_cmd(be, cmd);
}

/* ---- topology ---- */

void rb_apply_slots(rbe_t *be, const cluster_range_t *ranges, int n)
{
  int16_t map[CLUSTER_SLOTS];
  for (int i = 0; i < CLUSTER_SLOTS; i++) map[i] = -1;
  char *is_master = calloc((size_t)be->nnodes + (size_t)n + 1, 1);
  if (!is_master) return;
  int changed = be->map_moved;
  for (int i = 0; i < n; i++) {
    int idx = rb_node_get(be, ranges[i].host, ranges[i].port);
    if (idx < 0) continue;
    is_master[idx] = 1;
    for (int s = ranges[i].start; s <= ranges[i].end; s++) map[s] = (int16_t)idx;
  }
  for (int k = 0; k < be->nnodes; k++) {
    rnode_t *nd = be->nodes[k];
    int m = is_master[k];
    if (m != nd->is_master) {
      changed = 1;
      nd->is_master = m;
      rconn_set_auto(nd->cmd, m);
      if (nd->sub) rconn_set_auto(nd->sub, m);
    }
  }
  int nm = 0;
  for (int k = 0; k < be->nnodes; k++) nm += be->nodes[k]->is_master;
  atomic_store(&be->nmasters, nm);
  free(is_master);
  /* an unchanged map (a periodic check, a master that stays silent) leaves waiters and subscriptions be */
  changed |= memcmp(be->slots, map, sizeof map) != 0;
  memcpy(be->slots, map, sizeof map);
  be->map_moved = 0;
  if (changed) rb_wait_topology_changed(be);
}

static void refresh_done(rcmd_t *cmd, redisReply *r, DBR_Errorcode_t err)
{
  rbe_t *be = cmd->be;
  be->refreshing = 0;
  be->last_refresh = rio_now_ns();
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
    cluster_range_t *ranges = NULL;
    char why[200];
    rnode_t *n = rb_node(be, cmd->node);
    int k = cluster_parse_slots(r, n ? n->host : be->seed_host, &ranges, why, sizeof why);
    if (k > 0) rb_apply_slots(be, ranges, k);
    free(ranges);
  } else if (!be->shutting_down) {
    be->refresh_again = 1; /* try another node soon */
  }
  if (r) freeReplyObject(r);
  if (be->refresh_again && !be->shutting_down) {
    be->refresh_again = 0;
    rb_topology_refresh(be);
  }
}

static void refresh_fired(rio_timer_t *t);

void rb_topology_init(rbe_t *be)
{
  be->refresh_timer.fn = refresh_fired;
}

static void refresh_fired(rio_timer_t *t)
{
  rbe_t *be = (rbe_t *)((char *)t - offsetof(rbe_t, refresh_timer));
  rb_topology_refresh(be);
}

void rb_topology_refresh(rbe_t *be)
{
  static __thread unsigned rot;
  if (!be->cluster || be->shutting_down) return;
  if (be->refreshing) {
    be->refresh_again = 1;
    return;
  }
  int64_t now = rio_now_ns(), next = be->last_refresh + 250000000LL;
  if (now < next) {
    if (!rio_timer_armed(&be->refresh_timer)) rio_timer_arm(be->io, &be->refresh_timer, next);
    return;
  }
  /* Ask a node with a working connection that answers, rotating so one bad node cannot pin the refresh. */
  int pick = -1;
  for (int k = 0; k < be->nnodes && pick < 0; k++) {
    int i = (int)((rot + (unsigned)k) % (unsigned)be->nnodes);
    rconn_t *c = be->nodes[i]->cmd;
    if (rconn_state(c) == RC_READY && rconn_silent_ns(c, now) <= be->op_timeout_ns) pick = i;
  }
  if (pick < 0) pick = (int)(rot % (unsigned)be->nnodes);
  rot++;
  rcmd_t *cmd = rcmd_new(be, -1);
  if (!cmd) return;
  rcmd_arg_str(cmd, "CLUSTER");
  rcmd_arg_str(cmd, "SLOTS");
  cmd->node = pick;
  cmd->deadline = now + be->op_timeout_ns;
  cmd->done = refresh_done;
  be->refreshing = 1;
  be->last_refresh = now;
  rb_exec(be, cmd);
}

/* A master that stays silent with commands on the wire (hung, or cut off while its connection stays up) may
 * have been failed over: nothing else would tell (no MOVED, no broken connection), so ask for the map. */
void rb_topology_check(rbe_t *be, int64_t now)
{
  if (!be->cluster) return;
  for (int k = 0; k < be->nnodes; k++) {
    rnode_t *n = be->nodes[k];
    if (n->is_master && rconn_silent_ns(n->cmd, now) > be->op_timeout_ns) {
      rb_topology_refresh(be);
      return;
    }
  }
}
