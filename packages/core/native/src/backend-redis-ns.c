/*
 * The Redis backend: namespaces and the data calls that do not wait (put, count, directory, iterate, move,
 * remove, stat). They run in the caller's thread as short sequences of commands, each a round trip through
 * the I/O thread (rb_call); see backend-redis.c for routing and redis-backend.h for the layout.
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
#include "redis-backend.h"
#include "util.h"

#define BE(b) ((rbe_t *)(b))

/* ---- helpers ---- */

static rcmd_t *cmd_new(rbe_t *be, int script)
{
  return rcmd_new(be, script);
}

static DBR_Errorcode_t oom(void)
{
  return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
}

/* Runs a command; returns the reply or NULL (error recorded). An error reply is turned into a code. */
static redisReply *call_ok(rbe_t *be, rcmd_t *cmd, const char *what, DBR_Errorcode_t *err)
{
  if (!cmd) {
    *err = oom();
    return NULL;
  }
  redisReply *r = rb_call(be, cmd, err);
  if (*err != DBR_SUCCESS) return NULL;
  if (r->type == REDIS_REPLY_ERROR) {
    *err = rb_reply_error(r, what);
    freeReplyObject(r);
    return NULL;
  }
  return r;
}

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
  rio_task_t task;
  rbe_t *be;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  char name[];
} nsdel_call_t;

static void nsdel_task(rio_task_t *t)
{
  nsdel_call_t *c = (nsdel_call_t *)t;
  rb_wait_ns_deleted(c->be, c->name);
  pthread_mutex_lock(&c->mu);
  c->done = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
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
  c->be = be;
  c->task.fn = nsdel_task;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  rio_post(be->io, &c->task);
  pthread_mutex_lock(&c->mu);
  while (!c->done) pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c);
}

/* "<escaped ns>::<pattern>" */
static char *scan_pattern(const dbr_ns_t *ns, const char *pattern, size_t *len)
{
  size_t pl = strlen(pattern);
  char *p = malloc(ns->esclen + 2 + pl + 1);
  if (!p) return NULL;
  memcpy(p, ns->esc, ns->esclen);
  memcpy(p + ns->esclen, "::", 2);
  memcpy(p + ns->esclen + 2, pattern, pl + 1);
  *len = ns->esclen + 2 + pl;
  return p;
}

/* The tuple name of a key of ns, or NULL if the key is not in ns. */
static const char *name_of_key(const dbr_ns_t *ns, const char *key, size_t klen, size_t *nlen)
{
  if (klen < ns->len + 2 || memcmp(key, ns->name, ns->len) != 0 || memcmp(key + ns->len, "::", 2) != 0)
    return NULL;
  *nlen = klen - ns->len - 2;
  return key + ns->len + 2;
}

/*
 * Walks the keys matching pattern (and of the given TYPE, if not NULL) on every master, one SCAN page at a
 * time: page(ctx, keys, n) gets each page (array of string replies); non-zero stops the walk.
 */
typedef int (*page_fn)(void *ctx, redisReply **keys, size_t n);

static DBR_Errorcode_t scan_all(rbe_t *be, const char *pattern, size_t plen, const char *type, page_fn page,
                                void *ctx)
{
  int nm = atomic_load(&be->nmasters);
  for (int i = 0; i < nm; i++) {
    char cursor[32] = "0";
    do {
      rcmd_t *cmd = cmd_new(be, -1);
      if (!cmd) return oom();
      rcmd_arg_str(cmd, "SCAN");
      rcmd_arg_str(cmd, cursor);
      rcmd_arg_str(cmd, "MATCH");
      rcmd_arg(cmd, pattern, plen);
      rcmd_arg_str(cmd, "COUNT");
      rcmd_arg_str(cmd, SCAN_COUNT);
      if (type) {
        rcmd_arg_str(cmd, "TYPE");
        rcmd_arg_str(cmd, type);
      }
      cmd->master = i;
      DBR_Errorcode_t err;
      redisReply *r = call_ok(be, cmd, "SCAN", &err);
      if (!r) return err;
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
          r->element[1]->type != REDIS_REPLY_ARRAY || (size_t)r->element[0]->len >= sizeof cursor) {
        freeReplyObject(r);
        return dbr_err(DBR_ERR_BE_GENERAL, "redis SCAN: unexpected reply");
      }
      memcpy(cursor, r->element[0]->str, (size_t)r->element[0]->len);
      cursor[r->element[0]->len] = '\0';
      int stop = r->element[1]->elements ? page(ctx, r->element[1]->element, r->element[1]->elements) : 0;
      freeReplyObject(r);
      if (stop) return stop < 0 ? dbr_err_code() : DBR_SUCCESS;
    } while (strcmp(cursor, "0") != 0);
  }
  return DBR_SUCCESS;
}

/* Sends "<verb> <key> [arg]" for each key of a SCAN page, pipelined, and hands every reply to `each` (which
 * may return non-zero to skip the rest). Returns 0, what `each` returned, or -1 (error recorded) if a command
 * failed. The replies are freed here. */
typedef int (*key_reply_fn)(void *ctx, const redisReply *key, const redisReply *reply);

static int per_key(rbe_t *be, redisReply **keys, size_t n, const char *verb, const char *arg, key_reply_fn each,
                   void *ctx)
{
  rcmd_t **cmds = calloc(n, sizeof *cmds);
  redisReply **rs = calloc(n, sizeof *rs);
  DBR_Errorcode_t *errs = calloc(n, sizeof *errs);
  size_t *which = calloc(n, sizeof *which);
  int ret = 0;
  if (!cmds || !rs || !errs || !which) {
    oom();
    ret = -1;
    goto out;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (keys[i]->type != REDIS_REPLY_STRING) continue;
    rcmd_t *c = cmd_new(be, -1);
    if (!c) break;
    rcmd_arg_str(c, verb);
    rcmd_key(c, keys[i]->str, (size_t)keys[i]->len, 1);
    if (arg) rcmd_arg_str(c, arg);
    which[k] = i;
    cmds[k++] = c;
  }
  if (rb_call_many(be, cmds, (int)k, rs, errs) != DBR_SUCCESS) ret = -1;
  for (size_t i = 0; i < k; i++) {
    if (ret == 0 && rs[i]) ret = each(ctx, keys[which[i]], rs[i]);
    if (rs[i]) freeReplyObject(rs[i]);
  }
out:
  free(cmds);
  free(rs);
  free(errs);
  free(which);
  return ret;
}

typedef struct {
  rbe_t *be;
  long long count;
} unlink_ctx_t;

static int unlinked(void *ctx, const redisReply *key, const redisReply *reply)
{
  (void)key;
  if (reply->type == REDIS_REPLY_INTEGER) ((unlink_ctx_t *)ctx)->count += reply->integer;
  return 0;
}

static int unlink_cb(void *ctx, redisReply **keys, size_t n)
{
  unlink_ctx_t *u = ctx;
  return per_key(u->be, keys, n, "UNLINK", NULL, unlinked, u) < 0 ? -1 : 0;
}

/* Deletes every tuple of a namespace. */
static DBR_Errorcode_t drop_tuples(rbe_t *be, const dbr_ns_t *ns, long long *count)
{
  size_t plen;
  char *pat = scan_pattern(ns, "*", &plen);
  if (!pat) return oom();
  unlink_ctx_t u = {be, 0};
  DBR_Errorcode_t err = scan_all(be, pat, plen, NULL, unlink_cb, &u);
  free(pat);
  if (count) *count = u.count;
  return err;
}

/* ---- namespaces ---- */

/*
 * Attachments of dead processes. The reference leaves a namespace undeletable when a process dies attached:
 * its refcnt never comes down. Here every attach also counts itself in a record beside the namespace
 * (ATTACHED_PREFIX + name: token -> attachments), where the token is the CLIENT SETNAME of all of this
 * process's connections. A delete that finds the namespace busy (or the last live detach of a delete-pending
 * one) asks CLIENT LIST on the record's master which tokens still have a connection; the records of the
 * others are dropped and their attachments released. A process whose connections merely broke reconnects at
 * once with the same name; if it was reaped meanwhile, its detach finds no record and releases nothing.
 * Clients of the reference library keep no record and are never reaped. If CLIENT LIST is refused, nothing
 * is reaped.
 */

static char *attached_key(const char *ns, size_t len, size_t *klen)
{
  size_t pl = sizeof ATTACHED_PREFIX - 1;
  char *k = malloc(pl + len + 1);
  if (!k) return NULL;
  memcpy(k, ATTACHED_PREFIX, pl);
  memcpy(k + pl, ns, len + 1);
  *klen = pl + len;
  return k;
}

/* Counts one attachment of this process (best effort: a failure only makes it unreapable). */
static void record_attach(rbe_t *be, const dbr_ns_t *ns)
{
  size_t kl;
  char *k = attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? cmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "HINCRBY");
    rcmd_key(cmd, k, kl, 1);
    rcmd_arg_str(cmd, be->token);
    rcmd_arg_int(cmd, 1);
  }
  free(k);
  DBR_Errorcode_t err;
  redisReply *r = cmd ? call_ok(be, cmd, "HINCRBY", &err) : NULL;
  if (r)
    freeReplyObject(r);
  else
    DBR_LOG(DBR_LOG_DEBUG, "redis: could not record the attachment to '%s': %s", ns->name, dbr_err_message());
  dbr_err_static(DBR_SUCCESS, NULL);
}

/* Drops one attachment record of this process: 1 if it was there, 0 if it was reaped (or on error: -1). */
static int unrecord_attach(rbe_t *be, const dbr_ns_t *ns)
{
  size_t kl;
  char *k = attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? cmd_new(be, SCR_UNREG) : NULL;
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, k, kl, 1);
    rcmd_arg_str(cmd, be->token);
  }
  free(k);
  DBR_Errorcode_t err;
  redisReply *r = cmd ? call_ok(be, cmd, "detach", &err) : NULL;
  if (!r) return -1;
  int v = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
  freeReplyObject(r);
  return v;
}

/*
 * Releases the attachments of processes that are gone. Returns how many were released (the namespace's
 * refcnt after that in *refcnt), 0 if none (or when it cannot tell).
 */
static long long reap_dead(rbe_t *be, const char *name, size_t len, long long *refcnt)
{
  size_t kl;
  char *k = attached_key(name, len, &kl);
  if (!k) return 0;
  long long total = 0;
  redisReply *list = NULL, *recs = NULL, *r = NULL;
  rcmd_t *reap = NULL;
  DBR_Errorcode_t err;
  rcmd_t *cmd = cmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "HGETALL");
    rcmd_key(cmd, k, kl, 1);
  }
  recs = call_ok(be, cmd, "HGETALL", &err);
  if (!recs || recs->type != REDIS_REPLY_ARRAY || recs->elements < 2) goto out;
  cmd = cmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "CLIENT");
    rcmd_arg_str(cmd, "LIST");
    rcmd_key(cmd, k, kl, 0); /* on the record's master */
  }
  list = call_ok(be, cmd, "CLIENT LIST", &err);
  if (!list || list->type != REDIS_REPLY_STRING) goto out;
  reap = cmd_new(be, SCR_REAP);
  if (!reap) goto out;
  rcmd_arg_int(reap, 1);
  rcmd_key(reap, k, kl, 1);
  int dead = 0;
  for (size_t i = 0; i + 1 < recs->elements; i += 2) {
    redisReply *tok = recs->element[i];
    if (tok->type != REDIS_REPLY_STRING || tok->len == 0 || tok->len > 100) continue;
    if (strcmp(tok->str, be->token) == 0) continue;
    char needle[128];
    snprintf(needle, sizeof needle, " name=%s ", tok->str);
    if (strstr(list->str, needle)) continue;
    rcmd_arg(reap, tok->str, (size_t)tok->len);
    dead++;
  }
  if (dead == 0) goto out;
  r = call_ok(be, reap, "reap", &err);
  reap = NULL;
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer <= 0) goto out;
  total = r->integer;
  freeReplyObject(r);
  cmd = cmd_new(be, SCR_NS_RELEASE);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, len, 1);
    rcmd_arg_int(cmd, -total);
  }
  r = call_ok(be, cmd, "release", &err);
  if (r && r->type == REDIS_REPLY_INTEGER) *refcnt = r->integer;
  DBR_LOG(DBR_LOG_INFO, "redis: released %lld attachment(s) of %d dead process(es) from namespace '%s'", total,
          dead, name);
out:
  if (reap) rcmd_free(reap);
  if (r) freeReplyObject(r);
  if (list) freeReplyObject(list);
  if (recs) freeReplyObject(recs);
  free(k);
  dbr_err_static(DBR_SUCCESS, NULL);
  return total;
}

/* Deletes the tuples, the attachment records and the hash of a namespace. */
static DBR_Errorcode_t drop_namespace(rbe_t *be, const dbr_ns_t *ns, int only_if_pending)
{
  DBR_Errorcode_t err = drop_tuples(be, ns, NULL);
  if (err != DBR_SUCCESS) return err;
  size_t kl;
  char *k = attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? cmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "DEL");
    rcmd_key(cmd, k, kl, 1);
  }
  free(k);
  redisReply *r = call_ok(be, cmd, "DEL", &err);
  if (r) freeReplyObject(r);
  if (only_if_pending) {
    cmd = cmd_new(be, SCR_NS_DROP);
    if (cmd) {
      rcmd_arg_int(cmd, 1);
      rcmd_key(cmd, ns->name, ns->len, 1);
    }
  } else {
    cmd = cmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "DEL");
      rcmd_key(cmd, ns->name, ns->len, 1);
    }
  }
  r = call_ok(be, cmd, "delete namespace", &err);
  if (r) freeReplyObject(r);
  return r ? DBR_SUCCESS : err;
}

static DBR_Errorcode_t r_ns_create(dbr_backend_t *b, const char *name, dbr_ns_t **out)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return oom();
  rcmd_t *cmd = cmd_new(be, SCR_NS_CREATE);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, ns->len, 1);
  }
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "create (HSETNX + HMSET)", &err);
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
  record_attach(be, ns);
  ns_link(be, ns);
  *out = ns;
  return DBR_SUCCESS;
}

/* Runs a one-key namespace script; *v is its integer reply (dflt for any other reply). */
static DBR_Errorcode_t ns_script_int(rbe_t *be, int script, const char *name, size_t len, const char *what,
                                     long long dflt, long long *v)
{
  rcmd_t *cmd = cmd_new(be, script);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, len, 1);
  }
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, what, &err);
  if (!r) return err;
  *v = r->type == REDIS_REPLY_INTEGER ? r->integer : dflt;
  freeReplyObject(r);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t r_ns_attach(dbr_backend_t *b, const char *name, dbr_ns_t **out)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return oom();
  long long v;
  DBR_Errorcode_t err = ns_script_int(be, SCR_NS_ATTACH, name, ns->len, "attach (EXISTS + HINCRBY)", -9, &v);
  if (err != DBR_SUCCESS) {
    ns_free(ns);
    return err;
  }
  if (v > 0) {
    record_attach(be, ns);
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
  int recorded = unrecord_attach(be, ns);
  rcmd_t *cmd = cmd_new(be, SCR_NS_DETACH);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, ns->name, ns->len, 1);
    rcmd_arg_str(cmd, recorded == 0 ? "0" : "-1");
  }
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "detach (HINCRBY -1)", &err);
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
  if (pending && n > 0) reap_dead(be, ns->name, ns->len, &n);
  /* The last client of a delete-pending namespace removes it. */
  if (pending && n == 0) {
    err = drop_namespace(be, ns, 1);
    if (err == DBR_SUCCESS) mark_deleted(be, ns->name);
  }
  ns_free(ns);
  return err;
}

static DBR_Errorcode_t r_ns_delete(dbr_backend_t *b, const char *name)
{
  rbe_t *be = BE(b);
  dbr_ns_t *ns = ns_new(name);
  if (!ns) return oom();
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
  if (v > 1) reap_dead(be, name, ns->len, &v);
  if (v > 1) {
    ns_free(ns);
    return dbr_err(DBR_ERR_NSBUSY,
                   "namespace '%s' has %lld attached clients; it will be deleted when the last one detaches", name,
                   v);
  }
  /* At most the caller is attached: delete now (attachers are refused from here on: flags=1). */
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
  return per_key(s->be, keys, n, "LLEN", NULL, stat_len, s) < 0 ? -1 : 0;
}

static DBR_Errorcode_t r_ns_stat(dbr_backend_t *b, dbr_ns_t *ns, dbrx_stat_t *st)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  rcmd_t *cmd = cmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "HMGET");
    rcmd_key(cmd, ns->name, ns->len, 1);
    rcmd_arg_str(cmd, "refcnt");
    rcmd_arg_str(cmd, "flags");
  }
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "HMGET", &err);
  if (!r) return err;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING) {
    freeReplyObject(r);
    return dbr_err(DBR_ERR_NSINVAL, "namespace '%s' was deleted; attach to a live namespace", ns->name);
  }
  st->refcnt = strtoll(r->element[0]->str, NULL, 10);
  st->flags = r->element[1]->type == REDIS_REPLY_STRING ? strtoll(r->element[1]->str, NULL, 10) : 0;
  freeReplyObject(r);
  size_t plen;
  char *pat = scan_pattern(ns, "*", &plen);
  if (!pat) return oom();
  stat_ctx_t s = {be, 0, 0};
  err = scan_all(be, pat, plen, "list", stat_page, &s);
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
  return per_key(l->be, keys, n, "HGET", "id", list_one, l);
}

static DBR_Errorcode_t r_ns_list(dbr_backend_t *b, const char *pattern, dbr_name_sink_fn sink, void *ctx)
{
  list_ctx_t l = {BE(b), sink, ctx};
  return scan_all(BE(b), pattern, strlen(pattern), "hash", list_page, &l);
}

/* ---- data ---- */

static DBR_Errorcode_t r_put(dbr_backend_t *b, dbr_ns_t *ns, const char *name, const void *buf, int64_t size)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  if (rb_check_size(be, size) != DBR_SUCCESS) return DBR_ERR_NOMEMORY;
  size_t klen;
  char *key = tuple_key(ns, name, &klen);
  rcmd_t *cmd = key ? cmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "RPUSH");
    rcmd_key(cmd, key, klen, 1);
    rcmd_arg(cmd, buf, (size_t)size);
  }
  free(key);
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "put (RPUSH)", &err);
  if (r) freeReplyObject(r);
  return err;
}

static DBR_Errorcode_t r_put_if_absent(dbr_backend_t *b, dbr_ns_t *ns, const char *name, const void *buf,
                                       int64_t size, int *stored)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  if (rb_check_size(be, size) != DBR_SUCCESS) return DBR_ERR_NOMEMORY;
  size_t klen;
  char *key = tuple_key(ns, name, &klen);
  rcmd_t *cmd = key ? cmd_new(be, SCR_PUT_IF_ABSENT) : NULL;
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, key, klen, 1);
    rcmd_arg(cmd, buf, (size_t)size);
  }
  free(key);
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "put-if-absent (EXISTS + RPUSH)", &err);
  if (!r) return err;
  *stored = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  freeReplyObject(r);
  return DBR_SUCCESS;
}

int rb_build_put_many(rbe_t *be, const dbr_ns_t *ns, const void *packed, int64_t len, rcmd_t ***out)
{
  const unsigned char *p = packed, *end = p + len;
  rmap_t byname = {0};
  rcmd_t **cmds = NULL;
  int n = 0, cap = 0;
  while (p + 12 <= end) {
    uint32_t nl = dbr_rd32(p);
    uint64_t vl = dbr_rd64(p + 4);
    const char *name = (const char *)p + 12;
    const unsigned char *val = p + 12 + nl;
    p = val + vl;
    if ((int64_t)vl > be->max_value) goto fail;
    intptr_t idx = (intptr_t)rmap_get(&byname, name, nl);
    if (idx == 0) {
      if (n == cap) {
        int nc = cap ? cap * 2 : 8;
        rcmd_t **nv = realloc(cmds, (size_t)nc * sizeof *nv);
        if (!nv) goto fail;
        cmds = nv;
        cap = nc;
      }
      rcmd_t *c = rcmd_new(be, -1);
      if (!c) goto fail;
      cmds[n++] = c;
      rcmd_arg_str(c, "RPUSH");
      char *key = malloc(ns->len + 2 + nl);
      if (!key) goto fail;
      memcpy(key, ns->name, ns->len);
      memcpy(key + ns->len, "::", 2);
      memcpy(key + ns->len + 2, name, nl);
      rcmd_key(c, key, ns->len + 2 + nl, 1);
      free(key);
      idx = n;
      if (rmap_put(&byname, name, nl, (void *)idx) != 0) goto fail;
    }
    rcmd_arg(cmds[idx - 1], val, (size_t)vl);
  }
  rmap_free(&byname);
  for (int i = 0; i < n; i++)
    if (cmds[i]->body.oom) goto fail_nomap;
  *out = cmds;
  return n;
fail:
  rmap_free(&byname);
fail_nomap:
  for (int i = 0; i < n; i++) rcmd_free(cmds[i]);
  free(cmds);
  return -1;
}

static DBR_Errorcode_t r_put_many(dbr_backend_t *b, dbr_ns_t *ns, const void *packed, int64_t len)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  rcmd_t **cmds;
  int n = rb_build_put_many(be, ns, packed, len, &cmds);
  if (n < 0)
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory for the batch, or a value in it is larger than Redis accepts "
                   "(%lld bytes)", (long long)be->max_value);
  if (n == 0) {
    free(cmds);
    return DBR_SUCCESS;
  }
  redisReply **rs = calloc((size_t)n, sizeof *rs);
  DBR_Errorcode_t *errs = calloc((size_t)n, sizeof *errs);
  if (!rs || !errs) {
    for (int i = 0; i < n; i++) rcmd_free(cmds[i]);
    free(cmds);
    free(rs);
    free(errs);
    return oom();
  }
  DBR_Errorcode_t err = rb_call_many(be, cmds, n, rs, errs);
  for (int i = 0; i < n; i++) {
    if (rs[i] && rs[i]->type == REDIS_REPLY_ERROR && err == DBR_SUCCESS) err = rb_reply_error(rs[i], "RPUSH");
    if (rs[i]) freeReplyObject(rs[i]);
  }
  free(cmds);
  free(rs);
  free(errs);
  return err;
}

static DBR_Errorcode_t r_count(dbr_backend_t *b, dbr_ns_t *ns, const char *name, int64_t *count)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  size_t klen;
  char *key = tuple_key(ns, name, &klen);
  rcmd_t *cmd = key ? cmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "LLEN");
    rcmd_key(cmd, key, klen, 1);
  }
  free(key);
  DBR_Errorcode_t err;
  redisReply *r = call_ok(be, cmd, "LLEN", &err);
  if (!r) return err;
  *count = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
  freeReplyObject(r);
  return DBR_SUCCESS;
}

typedef struct {
  const dbr_ns_t *ns;
  dbr_name_sink_fn sink;
  void *ctx;
  rmap_t seen; /* SCAN may return a key twice */
} dir_ctx_t;

static int dir_page(void *ctx, redisReply **keys, size_t n)
{
  dir_ctx_t *d = ctx;
  for (size_t i = 0; i < n; i++) {
    if (keys[i]->type != REDIS_REPLY_STRING) continue;
    size_t nl;
    const char *name = name_of_key(d->ns, keys[i]->str, (size_t)keys[i]->len, &nl);
    if (!name || nl == 0 || nl > DBR_MAX_KEY_LEN) continue;
    if (rmap_get(&d->seen, name, nl)) continue;
    if (rmap_put(&d->seen, name, nl, (void *)1) != 0) {
      oom();
      return -1;
    }
    if (d->sink(d->ctx, name, nl)) return 1;
  }
  return 0;
}

static DBR_Errorcode_t r_directory(dbr_backend_t *b, dbr_ns_t *ns, const char *pattern, dbr_name_sink_fn sink,
                                   void *ctx)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  size_t plen = strlen(pattern);
  char lit[DBR_MAX_KEY_LEN + 2];
  size_t llen;
  if (plen <= DBR_MAX_KEY_LEN && glob_literal(pattern, plen, lit, &llen)) {
    /* One possible name: ask for it instead of scanning. */
    int64_t count = 0;
    DBR_Errorcode_t err = r_count(b, ns, lit, &count);
    if (err != DBR_SUCCESS) return err;
    if (count > 0 && llen > 0) sink(ctx, lit, llen);
    return DBR_SUCCESS;
  }
  size_t splen;
  char *pat = scan_pattern(ns, pattern, &splen);
  if (!pat) return oom();
  dir_ctx_t d = {ns, sink, ctx, {0}};
  DBR_Errorcode_t err = scan_all(be, pat, splen, "list", dir_page, &d);
  rmap_free(&d.seen);
  free(pat);
  return err;
}

/* ---- iteration ---- */

typedef struct {
  int master;
  char cursor[32];
  redisReply *page; /* the current SCAN reply */
  size_t pos;
} riter_t;

static void r_iterate_free(dbr_backend_t *b, void *cursor)
{
  riter_t *it = cursor;
  if (!it) return;
  if (it->page) freeReplyObject(it->page);
  free(it);
}

static DBR_Errorcode_t r_iterate(dbr_backend_t *b, dbr_ns_t *ns, void **cursor, const char *pattern,
                                 char *name_out)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  riter_t *it = *cursor;
  if (!it) {
    it = calloc(1, sizeof *it);
    if (!it) return oom();
    strcpy(it->cursor, "0");
    *cursor = it;
  }
  size_t splen;
  char *pat = NULL;
  for (;;) {
    if (it->page) {
      redisReply *keys = it->page->element[1];
      while (it->pos < keys->elements) {
        redisReply *k = keys->element[it->pos++];
        size_t nl;
        const char *name = k->type == REDIS_REPLY_STRING ? name_of_key(ns, k->str, (size_t)k->len, &nl) : NULL;
        if (!name || nl == 0 || nl > DBR_MAX_KEY_LEN) continue;
        memcpy(name_out, name, nl);
        name_out[nl] = '\0';
        free(pat);
        return DBR_SUCCESS;
      }
      freeReplyObject(it->page);
      it->page = NULL;
      if (strcmp(it->cursor, "0") == 0 && ++it->master >= atomic_load(&be->nmasters)) {
        free(pat);
        r_iterate_free(b, it);
        *cursor = NULL;
        return DBR_ERR_UNAVAIL;
      }
    }
    if (!pat && !(pat = scan_pattern(ns, pattern, &splen))) return oom();
    rcmd_t *cmd = cmd_new(be, -1);
    if (!cmd) {
      free(pat);
      return oom();
    }
    rcmd_arg_str(cmd, "SCAN");
    rcmd_arg_str(cmd, it->cursor);
    rcmd_arg_str(cmd, "MATCH");
    rcmd_arg(cmd, pat, splen);
    rcmd_arg_str(cmd, "COUNT");
    rcmd_arg_str(cmd, SCAN_COUNT);
    rcmd_arg_str(cmd, "TYPE");
    rcmd_arg_str(cmd, "list");
    cmd->master = it->master;
    DBR_Errorcode_t err;
    redisReply *r = call_ok(be, cmd, "SCAN", &err);
    if (!r) {
      free(pat);
      return err;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY || (size_t)r->element[0]->len >= sizeof it->cursor) {
      freeReplyObject(r);
      free(pat);
      return dbr_err(DBR_ERR_BE_GENERAL, "redis SCAN: unexpected reply");
    }
    memcpy(it->cursor, r->element[0]->str, (size_t)r->element[0]->len);
    it->cursor[r->element[0]->len] = '\0';
    it->page = r;
    it->pos = 0;
  }
}

/* ---- move and remove ---- */

/* Moves every value of src_key to the tail of dst_key. Returns the number moved, or -1 (error recorded). */
static long long move_key(rbe_t *be, const char *src_key, size_t slen, const char *dst_key, size_t dlen)
{
  DBR_Errorcode_t err;
  if (!be->cluster || cluster_key_slot(src_key, slen) == cluster_key_slot(dst_key, dlen)) {
    rcmd_t *cmd = cmd_new(be, SCR_MOVE_LIST);
    if (cmd) {
      rcmd_arg_int(cmd, 2);
      rcmd_key(cmd, src_key, slen, 1);
      rcmd_arg(cmd, dst_key, dlen);
    }
    redisReply *r = call_ok(be, cmd, "move", &err);
    if (!r) return -1;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return n;
  }
  /* Different cluster slots: no single atomic step exists. Pop a batch (so no concurrent get sees it twice),
   * push it, and give it back at the head if the push fails. Order is kept. */
  long long total = 0;
  for (;;) {
    rcmd_t *cmd = cmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "LPOP");
      rcmd_key(cmd, src_key, slen, 1);
      rcmd_arg_str(cmd, "256");
    }
    redisReply *r = call_ok(be, cmd, "move (LPOP)", &err);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      freeReplyObject(r);
      return total;
    }
    rcmd_t *push = cmd_new(be, -1);
    if (push) {
      rcmd_arg_str(push, "RPUSH");
      rcmd_key(push, dst_key, dlen, 1);
      for (size_t i = 0; i < r->elements; i++) rcmd_arg(push, r->element[i]->str, (size_t)r->element[i]->len);
    }
    redisReply *pr = call_ok(be, push, "move (RPUSH)", &err);
    if (!pr) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", dbr_err_message());
      rcmd_t *back = cmd_new(be, -1);
      if (back) {
        rcmd_arg_str(back, "LPUSH");
        rcmd_key(back, src_key, slen, 1);
        for (size_t i = r->elements; i > 0; i--)
          rcmd_arg(back, r->element[i - 1]->str, (size_t)r->element[i - 1]->len);
      }
      DBR_Errorcode_t e2;
      redisReply *br = call_ok(be, back, "move (LPUSH back)", &e2);
      if (br)
        freeReplyObject(br);
      else
        DBR_LOG(DBR_LOG_ERROR, "redis move: could not give %zu values back to '%s': %s", r->elements, src_key,
                dbr_err_message());
      freeReplyObject(r);
      dbr_err(err, "%s", msg);
      return -1;
    }
    freeReplyObject(pr);
    total += (long long)r->elements;
    freeReplyObject(r);
  }
}

typedef struct {
  rbe_t *be;
  const dbr_ns_t *src, *dst;
  long long moved;
  char **keys;
  size_t n, cap;
} move_ctx_t;

static int collect_page(void *ctx, redisReply **keys, size_t n)
{
  move_ctx_t *m = ctx;
  for (size_t i = 0; i < n; i++) {
    if (keys[i]->type != REDIS_REPLY_STRING) continue;
    if (m->n == m->cap) {
      size_t nc = m->cap ? m->cap * 2 : 64;
      char **nk = realloc(m->keys, nc * sizeof *nk);
      if (!nk) {
        oom();
        return -1;
      }
      m->keys = nk;
      m->cap = nc;
    }
    m->keys[m->n] = strndup(keys[i]->str, (size_t)keys[i]->len);
    if (!m->keys[m->n]) {
      oom();
      return -1;
    }
    m->n++;
  }
  return 0;
}

static DBR_Errorcode_t r_move(dbr_backend_t *b, dbr_ns_t *src, const char *name, const char *tmpl, dbr_ns_t *dst)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(src) != DBR_SUCCESS || rb_ns_check(dst) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  DBR_Errorcode_t err = DBR_SUCCESS;
  if (name) {
    size_t sl, dl;
    char *sk = tuple_key(src, name, &sl), *dk = tuple_key(dst, name, &dl);
    long long n = (sk && dk) ? move_key(be, sk, sl, dk, dl) : (oom(), -1);
    free(sk);
    free(dk);
    if (n < 0) return dbr_err_code();
    if (n == 0) return dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to move", name);
    return DBR_SUCCESS;
  }
  /* Collect first, then move: the walk is not disturbed by the keys it removes. */
  size_t plen;
  char *pat = scan_pattern(src, tmpl, &plen);
  if (!pat) return oom();
  move_ctx_t m = {be, src, dst, 0, NULL, 0, 0};
  err = scan_all(be, pat, plen, "list", collect_page, &m);
  free(pat);
  for (size_t i = 0; i < m.n; i++) {
    if (err == DBR_SUCCESS) {
      size_t nl, dl;
      const char *nm = name_of_key(src, m.keys[i], strlen(m.keys[i]), &nl);
      if (nm) {
        char *dk = tuple_key(dst, nm, &dl);
        long long k = dk ? move_key(be, m.keys[i], strlen(m.keys[i]), dk, dl) : (oom(), -1);
        free(dk);
        if (k < 0)
          err = dbr_err_code();
        else
          m.moved += k;
      }
    }
    free(m.keys[i]);
  }
  free(m.keys);
  if (err != DBR_SUCCESS) return err;
  if (m.moved == 0) return dbr_err(DBR_ERR_UNAVAIL, "no tuple name matches '%s': nothing to move", tmpl);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t r_remove(dbr_backend_t *b, dbr_ns_t *ns, const char *name, const char *tmpl)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  DBR_Errorcode_t err;
  if (name) {
    size_t kl;
    char *key = tuple_key(ns, name, &kl);
    rcmd_t *cmd = key ? cmd_new(be, -1) : NULL;
    if (cmd) {
      rcmd_arg_str(cmd, "UNLINK");
      rcmd_key(cmd, key, kl, 1);
    }
    free(key);
    redisReply *r = call_ok(be, cmd, "remove (UNLINK)", &err);
    if (!r) return err;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    if (n == 0) return dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to remove", name);
    return DBR_SUCCESS;
  }
  size_t plen;
  char *pat = scan_pattern(ns, tmpl, &plen);
  if (!pat) return oom();
  unlink_ctx_t u = {be, 0};
  err = scan_all(be, pat, plen, "list", unlink_cb, &u);
  free(pat);
  if (err != DBR_SUCCESS) return err;
  if (u.count == 0) return dbr_err(DBR_ERR_UNAVAIL, "no tuple name matches '%s': nothing to remove", tmpl);
  return DBR_SUCCESS;
}

void rb_ns_install(dbr_backend_t *b)
{
  b->ns_create = r_ns_create;
  b->ns_attach = r_ns_attach;
  b->ns_detach = r_ns_detach;
  b->ns_delete = r_ns_delete;
  b->ns_stat = r_ns_stat;
  b->ns_list = r_ns_list;
  b->put = r_put;
  b->put_if_absent = r_put_if_absent;
  b->put_many = r_put_many;
  b->count = r_count;
  b->directory = r_directory;
  b->iterate = r_iterate;
  b->iterate_free = r_iterate_free;
  b->move = r_move;
  b->remove = r_remove;
}
