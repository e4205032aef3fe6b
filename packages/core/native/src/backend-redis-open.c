/*
 * Opening and closing the Redis backend: the configuration from the environment, the seed node, the choice
 * between a single server and a cluster (CLUSTER SLOTS), the scripts' digests, and an orderly close (blocked
 * pops drained, connections shut, the I/O thread stopped). Calls into the I/O thread are made with
 * rb_loop_call_run, as nothing else may touch the loop's state.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "queue.h"
#include "redis-backend.h"
#include "redis-wait.h"
#include "util.h"

#define DRAIN_POLLS 100
#define DRAIN_POLL_US 5000

/* A loop call with what opening and closing pass to the I/O thread. */
typedef struct {
  rb_loop_call_t call; /* first */
  const cluster_range_t *ranges;
  int n;
  int busy;
} loop_call_t;

static void apply_slots_task(rio_task_t *t)
{
  loop_call_t *lc = (loop_call_t *)t;
  rb_apply_slots(lc->call.be, lc->ranges, lc->n);
  rb_loop_call_done(&lc->call);
}

static void init_task(rio_task_t *t)
{
  loop_call_t *lc = (loop_call_t *)t;
  rbe_t *be = lc->call.be;
  /* Masters (the single server too) reconnect by themselves: an idle process whose connection dropped would
   * otherwise have none, and a delete elsewhere would take it for dead and reap its attachments. */
  for (int k = 0; k < be->nnodes; k++)
    if (be->nodes[k]->is_master) rconn_set_auto(be->nodes[k]->cmd, 1);
  rb_wait_init(be);
  rb_loop_call_done(&lc->call);
}

/* Closing: blocking pops end within a slice instead of blocking again; busy says whether any is still out, or
 * a command (a give-back) is still on its way to a reachable node. */
static void drain_task(rio_task_t *t)
{
  loop_call_t *lc = (loop_call_t *)t;
  rbe_t *be = lc->call.be;
  be->closing = 1;
  lc->busy = rbk_busy(be);
  for (int k = 0; k < be->nnodes && !lc->busy; k++)
    lc->busy = rconn_state(be->nodes[k]->cmd) == RC_READY && rconn_pending(be->nodes[k]->cmd) > 0;
  rb_loop_call_done(&lc->call);
}

static void shutdown_task(rio_task_t *t)
{
  loop_call_t *lc = (loop_call_t *)t;
  rbe_t *be = lc->call.be;
  be->shutting_down = 1;
  rio_timer_disarm(be->io, &be->refresh_timer);
  rb_wait_shutdown(be);
  for (int k = 0; k < be->nnodes; k++) {
    rconn_shutdown(be->nodes[k]->cmd, DBR_ERR_NOCONNECT);
    if (be->nodes[k]->sub) rconn_shutdown(be->nodes[k]->sub, DBR_ERR_NOCONNECT);
    rbk_node_shutdown(be->nodes[k]);
  }
  rb_loop_call_done(&lc->call);
}

static void redis_destroy(dbr_backend_t *b)
{
  rbe_t *be = (rbe_t *)b;
  if (!be) return;
  if (be->io) {
    loop_call_t lc;
    /* the values that blocked pops of abandoned requests take go back before the connections close */
    rb_loop_call_run(be, &lc.call, drain_task);
    for (int i = 0; i < DRAIN_POLLS && lc.busy; i++) {
      usleep(DRAIN_POLL_US);
      rb_loop_call_run(be, &lc.call, drain_task);
    }
    rb_loop_call_run(be, &lc.call, shutdown_task);
    rio_stop(be->io);
    rb_wait_free(be);
  }
  for (int k = 0; k < be->nnodes; k++) {
    rconn_free(be->nodes[k]->cmd);
    rconn_free(be->nodes[k]->sub);
    rbk_node_free(be->nodes[k]);
    free(be->nodes[k]);
  }
  free(be->nodes);
  rmap_free(&be->groups);
  rmap_free(&be->pgroups);
  rmap_free(&be->covers);
  pthread_mutex_destroy(&be->req_mu);
  pthread_mutex_destroy(&be->ns_mu);
  if (be->password) {
    explicit_bzero(be->password, strlen(be->password));
    free(be->password);
  }
  free(be);
}

/* DBR_BLOCKING_POOL: 0-64 connections per node for server-side blocking pops (default 4). */
static int blocking_pool_from_env(void)
{
  const char *s = getenv("DBR_BLOCKING_POOL");
  if (s && *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v >= 0 && v <= 64) return (int)v;
    DBR_LOG(DBR_LOG_WARN, "DBR_BLOCKING_POOL: expected 0-64, got \"%s\"; using %d", s, DBR_BLOCKING_POOL_DEFAULT);
  }
  return DBR_BLOCKING_POOL_DEFAULT;
}

/* DBR_SPIN_US: 0-10000 microseconds the I/O thread stays awake after activity (see rio_start; default 100). */
static int64_t spin_ns_from_env(void)
{
  const char *s = getenv("DBR_SPIN_US");
  if (s && *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == '\0' && v >= 0 && v <= 10000) return (int64_t)v * 1000;
    DBR_LOG(DBR_LOG_WARN, "DBR_SPIN_US: expected 0-10000, got \"%s\"; using %d", s, DBR_SPIN_US_DEFAULT);
  }
  return (int64_t)DBR_SPIN_US_DEFAULT * 1000;
}

DBR_Errorcode_t dbr_backend_redis_open(dbr_backend_t **out, const char *server, const char *password)
{
  *out = NULL;
  rbe_t *be = calloc(1, sizeof *be);
  if (!be) return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
  pthread_mutex_init(&be->req_mu, NULL);
  pthread_mutex_init(&be->ns_mu, NULL);
  be->base.name = "redis";
  be->base.destroy = redis_destroy;
  be->op_timeout_ns = dbr_env_timeout_ns();
  be->block_pool = blocking_pool_from_env();
  be->max_value = 512LL * 1024 * 1024;
  {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)be;
    snprintf(be->token, sizeof be->token, "libdbr-%ld-%08x", (long)getpid(), (unsigned)(x >> 32));
  }
  rb_topology_init(be);
  for (int i = 0; i < CLUSTER_SLOTS; i++) be->slots[i] = 0;
  if (!server || cluster_split_hostport(server, strlen(server), be->seed_host, sizeof be->seed_host,
                                        &be->seed_port) != 0 ||
      be->seed_host[0] == '\0') {
    redis_destroy(&be->base);
    return dbr_err(DBR_ERR_INVALID, "DBR_SERVER: expected sock://host:port or redis://host:port, got \"%s\"",
                   server ? server : "");
  }
  if (password && *password) {
    be->password = strdup(password);
    if (!be->password) {
      redis_destroy(&be->base);
      return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
    }
  }
  char why[200];
  be->io = rio_start(dbr_queue_hold_wakes, dbr_queue_release_wakes, spin_ns_from_env(), why, sizeof why);
  if (!be->io) {
    redis_destroy(&be->base);
    return dbr_err(DBR_ERR_GENERIC, "cannot start the Redis I/O thread: %s", why);
  }
  /* Nothing runs in the loop yet, so the seed node can be made here. */
  if (rb_node_get(be, be->seed_host, be->seed_port) != 0) {
    redis_destroy(&be->base);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
  }
  be->nodes[0]->is_master = 1;
  atomic_store(&be->nmasters, 1);

  DBR_Errorcode_t err;
  rcmd_t *cmd = rcmd_new(be, -1);
  if (!cmd) {
    redis_destroy(&be->base);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
  }
  rcmd_arg_str(cmd, "PING");
  cmd->node = 0;
  redisReply *r = rb_call(be, cmd, &err);
  if (err != DBR_SUCCESS || !r || r->type == REDIS_REPLY_ERROR) {
    if (r) {
      char txt[300];
      reply_text(r, txt, sizeof txt);
      err = reply_error_code(r);
      freeReplyObject(r);
      dbr_err(err, "redis %s:%d refused PING: %s", be->seed_host, be->seed_port, txt);
    } else if (err == DBR_ERR_TIMEOUT) {
      err = DBR_ERR_NOCONNECT;
      dbr_err(err, "redis %s:%d did not answer within DBR_TIMEOUT; is it running (and not stopped)?",
              be->seed_host, be->seed_port);
    } else if (err == DBR_ERR_NOCONNECT) {
      char msg[768];
      snprintf(msg, sizeof msg, "%s", dbr_err_message());
      dbr_err(err, "cannot connect to redis (DBR_SERVER=%s): %s; start redis-server there or fix DBR_SERVER",
              server, msg);
    }
    redis_destroy(&be->base);
    return err;
  }
  freeReplyObject(r);

  /* Cluster or single server? A server without cluster support answers CLUSTER SLOTS with an error. */
  cmd = rcmd_new(be, -1);
  if (!cmd) {
    redis_destroy(&be->base);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
  }
  rcmd_arg_str(cmd, "CLUSTER");
  rcmd_arg_str(cmd, "SLOTS");
  cmd->node = 0;
  r = rb_call(be, cmd, &err);
  if (err != DBR_SUCCESS) {
    redis_destroy(&be->base);
    return err;
  }
  if (r->type == REDIS_REPLY_ARRAY) {
    cluster_range_t *ranges = NULL;
    int n = cluster_parse_slots(r, be->seed_host, &ranges, why, sizeof why);
    freeReplyObject(r);
    if (n <= 0) {
      free(ranges);
      redis_destroy(&be->base);
      return dbr_err(DBR_ERR_NOCONNECT, "redis %s:%d is a cluster node but %s", be->seed_host, be->seed_port,
                     n == 0 ? "no hash slots are assigned (create the cluster first)" : why);
    }
    be->cluster = 1;
    be->base.name = "redis-cluster";
    loop_call_t lc = {.ranges = ranges, .n = n};
    rb_loop_call_run(be, &lc.call, apply_slots_task);
    free(ranges);
  } else {
    freeReplyObject(r);
  }

  /* Script digests: EVALSHA everywhere, EVAL where a node answers NOSCRIPT (which also caches it there). */
  for (int i = 0; i < SCR_COUNT; i++) {
    cmd = rcmd_new(be, -1);
    if (!cmd) break;
    rcmd_arg_str(cmd, "SCRIPT");
    rcmd_arg_str(cmd, "LOAD");
    rcmd_arg_str(cmd, rb_script_src[i]);
    cmd->node = 0;
    r = rb_call(be, cmd, &err);
    if (r && r->type == REDIS_REPLY_STRING && r->len == 40) memcpy(be->sha[i], r->str, 40);
    if (r) freeReplyObject(r);
  }
  /* The largest value the server takes (CONFIG may be refused: keep the default then). */
  cmd = rcmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "CONFIG");
    rcmd_arg_str(cmd, "GET");
    rcmd_arg_str(cmd, "proto-max-bulk-len");
    cmd->node = 0;
    r = rb_call(be, cmd, &err);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->type == REDIS_REPLY_STRING) {
      long long v = strtoll(r->element[1]->str, NULL, 10);
      if (v > 0) be->max_value = v - 64; /* room for the command around the value */
    }
    if (r) freeReplyObject(r);
  }
  dbr_err_static(DBR_SUCCESS, NULL);

  rb_ns_install(&be->base);
  rb_data_install(&be->base);
  rb_wait_install(&be->base);
  loop_call_t lc = {0};
  rb_loop_call_run(be, &lc.call, init_task);
  atomic_store(&be->opened, 1);
  *out = &be->base;
  return DBR_SUCCESS;
}
