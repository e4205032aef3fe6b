/*
 * The Redis backend: namespaces (create, attach, detach, delete, stat, list). This process's attachment
 * records, and the reaping of dead processes' attachments, are in backend-redis-attach.c. They run in the caller's thread as short sequences of commands, each a round trip through the I/O
 * thread (rb_call); see backend-redis.c for routing and redis-backend.h for the layout. The data calls that do
 * not wait are in backend-redis-data.c.
 *
 * Namespace names are glob-escaped wherever they enter a SCAN pattern, so a namespace "n*" never matches the
 * keys of "nx". Walks over a namespace (directory, iterate, stat, delete, template move/remove) use
 * SCAN MATCH "<escaped ns>::<pattern>" COUNT 1000 TYPE list on every master: O(keys in the database), never
 * blocking the server. dbrxNamespaces scans for hashes and checks their id field: O(keys in the database)
 * plus one HGET per hash; meant for tools and dashboards, not hot paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "glob.h"
#include "log.h"
#include "redis-scan.h"
#include "util.h"

#define BE(b) ((rbe_t *)(b))

void rb_nsstate_unref(rb_nsstate_t *st)
{
  if (st && atomic_fetch_sub(&st->refs, 1) == 1) free(st);
}

DBR_Errorcode_t rb_ns_check(const dbr_ns_t *ns)
{
  if (!atomic_load_explicit(&ns->st->deleted, memory_order_acquire)) return DBR_SUCCESS;
  return dbr_err(DBR_ERR_NSINVAL, "namespace '%s' was deleted; attach to a live namespace", ns->name);
}

static void ns_free(dbr_ns_t *ns)
{
  if (!ns) return;
  free(ns->name);
  free(ns->esc);
  rb_nsstate_unref(ns->st);
  free(ns);
}

static dbr_ns_t *ns_new(const char *name)
{
  dbr_ns_t *ns = calloc(1, sizeof *ns);
  if (!ns) return NULL;
  ns->len = strlen(name);
  ns->name = strdup(name);
  ns->esc = malloc(2 * ns->len + 1);
  ns->st = calloc(1, sizeof *ns->st);
  if (!ns->name || !ns->esc || !ns->st) {
    ns_free(ns);
    return NULL;
  }
  atomic_init(&ns->st->refs, 1);
  ns->esclen = glob_escape(name, ns->len, ns->esc);
  return ns;
}

/* The backend's list of live handles, so a delete can mark every handle of this process on that name. */
static void ns_link(rbe_t *be, dbr_ns_t *ns)
{
  pthread_mutex_lock(&be->ns_mu);
  ns->prev = NULL;
  ns->next = be->live_ns;
  if (be->live_ns) be->live_ns->prev = ns;
  be->live_ns = ns;
  pthread_mutex_unlock(&be->ns_mu);
}

static void ns_unlink(rbe_t *be, dbr_ns_t *ns)
{
  pthread_mutex_lock(&be->ns_mu);
  if (ns->prev)
    ns->prev->next = ns->next;
  else if (be->live_ns == ns)
    be->live_ns = ns->next;
  if (ns->next) ns->next->prev = ns->prev;
  ns->prev = ns->next = NULL;
  pthread_mutex_unlock(&be->ns_mu);
}

typedef struct {
  rb_loop_call_t call; /* first */
  char name[];
} nsdel_call_t;

static void nsdel_task(rio_task_t *t)
{
  nsdel_call_t *c = (nsdel_call_t *)t;
  rb_wait_ns_deleted(c->call.be, c->name);
  rb_loop_call_done(&c->call);
}

/* A namespace was deleted: its handles here go stale (NSINVAL) and its waiters here are failed, before the
 * delete returns. */
static void mark_deleted(rbe_t *be, const char *name)
{
  pthread_mutex_lock(&be->ns_mu);
  for (dbr_ns_t *p = be->live_ns; p; p = p->next)
    if (strcmp(p->name, name) == 0) atomic_store_explicit(&p->st->deleted, 1, memory_order_release);
  pthread_mutex_unlock(&be->ns_mu);
  size_t len = strlen(name);
  nsdel_call_t *c = calloc(1, sizeof *c + len + 1);
  if (!c) return;
  memcpy(c->name, name, len + 1);
  rb_loop_call_run(be, &c->call, nsdel_task);
  free(c);
}

/* Deletes every tuple of a namespace. */
static DBR_Errorcode_t drop_tuples(rbe_t *be, const dbr_ns_t *ns, long long *count)
{
  size_t plen;
  char *pat = rb_scan_pattern(ns, "*", &plen);
  if (!pat) return rb_oom();
  DBR_Errorcode_t err = rb_unlink_matching(be, pat, plen, NULL, count);
  free(pat);
  return err;
}

/* ---- namespaces ---- */

static DBR_Errorcode_t drop_namespace(rbe_t *be, const dbr_ns_t *ns, int only_if_pending)
{
  DBR_Errorcode_t err = drop_tuples(be, ns, NULL);
  if (err != DBR_SUCCESS) return err;
  size_t kl;
  char *k = rb_attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? rcmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "DEL");
    rcmd_key(cmd, k, kl, 1);
  }
  free(k);
  redisReply *r = rb_call_ok(be, cmd, "DEL", &err);
  if (r) freeReplyObject(r);
  if (only_if_pending) {
    cmd = rcmd_new(be, SCR_NS_DROP);
    if (cmd) {
      rcmd_arg_int(cmd, 1);
      rcmd_key(cmd, ns->name, ns->len, 1);
    }
  } else {
    cmd = rcmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "DEL");
      rcmd_key(cmd, ns->name, ns->len, 1);
    }
  }
  r = rb_call_ok(be, cmd, "delete namespace", &err);
  if (r) freeReplyObject(r);
  return r ? DBR_SUCCESS : err;
}

static DBR_Errorcode_t r_ns_create(dbr_backend_t *b, const char *name, dbr_ns_t **out)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return rb_oom();
  rcmd_t *cmd = rcmd_new(be, SCR_NS_CREATE);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, ns->len, 1);
  }
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "create (HSETNX + HMSET)", &err);
  if (!r) {
    ns_free(ns);
    return err == DBR_ERR_INVALIDOP
               ? dbr_err(DBR_ERR_EXISTS, "a key named '%s' already exists in Redis and is not a namespace", name)
               : err;
  }
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  if (v != 1) {
    ns_free(ns);
    return dbr_err(DBR_ERR_EXISTS, "namespace '%s' already exists; attach to it with dbrAttach", name);
  }
  rb_attach_record(be, ns);
  ns_link(be, ns);
  *out = ns;
  return DBR_SUCCESS;
}

/* Runs a one-key namespace script; *v is its integer reply (dflt for any other reply). */
static DBR_Errorcode_t ns_script_int(rbe_t *be, int script, const char *name, size_t len, const char *what,
                                     long long dflt, long long *v)
{
  rcmd_t *cmd = rcmd_new(be, script);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, len, 1);
  }
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, what, &err);
  if (!r) return err;
  *v = r->type == REDIS_REPLY_INTEGER ? r->integer : dflt;
  freeReplyObject(r);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t r_ns_attach(dbr_backend_t *b, const char *name, dbr_ns_t **out)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return rb_oom();
  long long v;
  DBR_Errorcode_t err = ns_script_int(be, SCR_NS_ATTACH, name, ns->len, "attach (EXISTS + HINCRBY)", -9, &v);
  if (err != DBR_SUCCESS) {
    ns_free(ns);
    return err;
  }
  if (v > 0) {
    rb_attach_record(be, ns);
    ns_link(be, ns);
    *out = ns;
    return DBR_SUCCESS;
  }
  ns_free(ns);
  if (v == -1) return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist; create it first with dbrCreate", name);
  if (v == -3)
    return dbr_err(DBR_ERR_NSINVAL,
                   "namespace '%s' is being deleted (pending until its last client detaches); use another name",
                   name);
  return dbr_err(DBR_ERR_NSINVAL, "the Redis key '%s' exists but is not a Data Broker namespace", name);
}

static DBR_Errorcode_t r_ns_detach(dbr_backend_t *b, dbr_ns_t *ns)
{
  rbe_t *be = BE(b);
  ns_unlink(be, ns);
  if (atomic_load(&ns->st->deleted)) { /* deleted by this process: its count went with it */
    ns_free(ns);
    return DBR_SUCCESS;
  }
  /* No record left means a delete reaped us (it saw no connection of ours): our count was released then. */
  int recorded = rb_attach_unrecord(be, ns);
  rcmd_t *cmd = rcmd_new(be, SCR_NS_DETACH);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, ns->name, ns->len, 1);
    rcmd_arg_str(cmd, recorded == 0 ? "0" : "-1");
  }
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "detach (HINCRBY -1)", &err);
  if (!r) {
    ns_free(ns);
    return err;
  }
  long long n = -1, pending = 0;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
      r->element[1]->type == REDIS_REPLY_INTEGER) {
    n = r->element[0]->integer;
    pending = r->element[1]->integer;
  }
  freeReplyObject(r);
  err = DBR_SUCCESS;
  if (pending && n > 0) rb_attach_reap_dead(be, ns->name, ns->len, &n);
  /* The last client of a delete-pending namespace removes it. */
  if (pending && n == 0) {
    err = drop_namespace(be, ns, 1);
    if (err == DBR_SUCCESS) mark_deleted(be, ns->name);
  }
  ns_free(ns);
  return err;
}

static DBR_Errorcode_t r_ns_delete(dbr_backend_t *b, const char *name, int own)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return rb_oom();
  long long v;
  DBR_Errorcode_t err = ns_script_int(be, SCR_NS_DELETE, name, ns->len, "delete (HSET flags 1)", -2, &v);
  if (err != DBR_SUCCESS) {
    ns_free(ns);
    return err;
  }
  if (v == -1) {
    ns_free(ns);
    return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist (already deleted?)", name);
  }
  if (v == -2) {
    ns_free(ns);
    return dbr_err(DBR_ERR_NSINVAL, "the Redis key '%s' exists but is not a Data Broker namespace", name);
  }
  long long caller = own > 0 ? 1 : 0;
  if (v > caller) rb_attach_reap_dead(be, name, ns->len, &v);
  if (v > caller) {
    ns_free(ns);
    return dbr_err(DBR_ERR_NSBUSY,
                   "namespace '%s' has %lld attached clients; it will be deleted when the last one detaches", name,
                   v);
  }
  /* Nobody but the caller is attached: delete now (attachers are refused from here on: flags=1). */
  err = drop_namespace(be, ns, 0);
  if (err == DBR_SUCCESS) mark_deleted(be, name);
  ns_free(ns);
  return err;
}

typedef struct {
  rbe_t *be;
  int64_t names, values;
} stat_ctx_t;

static int stat_len(void *ctx, const redisReply *key, const redisReply *reply)
{
  (void)key;
  stat_ctx_t *s = ctx;
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
    s->names++;
    s->values += reply->integer;
  }
  return 0;
}

static int stat_page(void *ctx, redisReply **keys, size_t n)
{
  stat_ctx_t *s = ctx;
  return rb_per_key(s->be, keys, n, "LLEN", NULL, stat_len, s) < 0 ? -1 : 0;
}

static DBR_Errorcode_t r_ns_stat(dbr_backend_t *b, dbr_ns_t *ns, dbrx_stat_t *st)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  rcmd_t *cmd = rcmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "HMGET");
    rcmd_key(cmd, ns->name, ns->len, 1);
    rcmd_arg_str(cmd, "refcnt");
    rcmd_arg_str(cmd, "flags");
  }
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "HMGET", &err);
  if (!r) return err;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING) {
    freeReplyObject(r);
    return dbr_err(DBR_ERR_NSINVAL, "namespace '%s' was deleted; attach to a live namespace", ns->name);
  }
  st->refcnt = strtoll(r->element[0]->str, NULL, 10);
  st->flags = r->element[1]->type == REDIS_REPLY_STRING ? strtoll(r->element[1]->str, NULL, 10) : 0;
  freeReplyObject(r);
  size_t plen;
  char *pat = rb_scan_pattern(ns, "*", &plen);
  if (!pat) return rb_oom();
  stat_ctx_t s = {be, 0, 0};
  err = rb_scan_all(be, pat, plen, "list", stat_page, &s);
  free(pat);
  st->names = s.names;
  st->values = s.values;
  st->bytes = -1;
  return err;
}

typedef struct {
  rbe_t *be;
  dbr_name_sink_fn sink;
  void *ctx;
} list_ctx_t;

/* A namespace is a hash whose id field is its own name (what the Data Broker writes at create). */
static int list_one(void *ctx, const redisReply *key, const redisReply *reply)
{
  list_ctx_t *l = ctx;
  if (key->len == 0 || key->len > DBR_MAX_KEY_LEN || reply->type != REDIS_REPLY_STRING || reply->len != key->len ||
      memcmp(reply->str, key->str, (size_t)key->len) != 0)
    return 0;
  return l->sink(l->ctx, key->str, (size_t)key->len) ? 1 : 0;
}

static int list_page(void *ctx, redisReply **keys, size_t n)
{
  list_ctx_t *l = ctx;
  return rb_per_key(l->be, keys, n, "HGET", "id", list_one, l);
}

static DBR_Errorcode_t r_ns_list(dbr_backend_t *b, const char *pattern, dbr_name_sink_fn sink, void *ctx)
{
  list_ctx_t l = {BE(b), sink, ctx};
  return rb_scan_all(BE(b), pattern, strlen(pattern), "hash", list_page, &l);
}

void rb_ns_install(dbr_backend_t *b)
{
  b->ns_create = r_ns_create;
  b->ns_attach = r_ns_attach;
  b->ns_detach = r_ns_detach;
  b->ns_delete = r_ns_delete;
  b->ns_stat = r_ns_stat;
  b->ns_list = r_ns_list;
}
