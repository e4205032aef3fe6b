/*
 * The Redis backend's attachment records (see below): part of the namespace protocol of backend-redis-ns.c.
 * They run in the caller's thread (rb_call_ok).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-scan.h"
#include "util.h"

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

char *rb_attached_key(const char *ns, size_t len, size_t *klen)
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
void rb_attach_record(rbe_t *be, const dbr_ns_t *ns)
{
  size_t kl;
  char *k = rb_attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? rcmd_new(be, -1) : NULL;
  if (cmd) {
    rcmd_arg_str(cmd, "HINCRBY");
    rcmd_key(cmd, k, kl, 1);
    rcmd_arg_str(cmd, be->token);
    rcmd_arg_int(cmd, 1);
  }
  free(k);
  DBR_Errorcode_t err;
  redisReply *r = cmd ? rb_call_ok(be, cmd, "HINCRBY", &err) : NULL;
  if (r)
    freeReplyObject(r);
  else
    DBR_LOG(DBR_LOG_DEBUG, "redis: could not record the attachment to '%s': %s", ns->name, dbr_err_message());
  dbr_err_static(DBR_SUCCESS, NULL);
}

/* Drops one attachment record of this process: 1 if it was there, 0 if it was reaped (or on error: -1). */
int rb_attach_unrecord(rbe_t *be, const dbr_ns_t *ns)
{
  size_t kl;
  char *k = rb_attached_key(ns->name, ns->len, &kl);
  rcmd_t *cmd = k ? rcmd_new(be, SCR_UNREG) : NULL;
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, k, kl, 1);
    rcmd_arg_str(cmd, be->token);
  }
  free(k);
  DBR_Errorcode_t err;
  redisReply *r = cmd ? rb_call_ok(be, cmd, "detach", &err) : NULL;
  if (!r) return -1;
  int v = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
  freeReplyObject(r);
  return v;
}

/*
 * Releases the attachments of processes that are gone. Returns how many were released (the namespace's
 * refcnt after that in *refcnt), 0 if none (or when it cannot tell).
 */
long long rb_attach_reap_dead(rbe_t *be, const char *name, size_t len, long long *refcnt)
{
  size_t kl;
  char *k = rb_attached_key(name, len, &kl);
  if (!k) return 0;
  long long total = 0;
  redisReply *list = NULL, *recs = NULL, *r = NULL;
  rcmd_t *reap = NULL;
  DBR_Errorcode_t err;
  rcmd_t *cmd = rcmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "HGETALL");
    rcmd_key(cmd, k, kl, 1);
  }
  recs = rb_call_ok(be, cmd, "HGETALL", &err);
  if (!recs || recs->type != REDIS_REPLY_ARRAY || recs->elements < 2) goto out;
  cmd = rcmd_new(be, -1);
  if (cmd) {
    rcmd_arg_str(cmd, "CLIENT");
    rcmd_arg_str(cmd, "LIST");
    rcmd_key(cmd, k, kl, 0); /* on the record's master */
  }
  list = rb_call_ok(be, cmd, "CLIENT LIST", &err);
  if (!list || list->type != REDIS_REPLY_STRING) goto out;
  reap = rcmd_new(be, SCR_REAP);
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
  r = rb_call_ok(be, reap, "reap", &err);
  reap = NULL;
  if (!r || r->type != REDIS_REPLY_INTEGER || r->integer <= 0) goto out;
  total = r->integer;
  freeReplyObject(r);
  cmd = rcmd_new(be, SCR_NS_RELEASE);
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, name, len, 1);
    rcmd_arg_int(cmd, -total);
  }
  r = rb_call_ok(be, cmd, "release", &err);
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
