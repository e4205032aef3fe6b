/*
 * The Redis backend's key walks, shared by the namespace calls (backend-redis-ns.c) and the data calls
 * (backend-redis-data.c): one command with its error reply turned into a code, SCAN over every master, and a
 * pipelined command per key of a SCAN page. See redis-scan.h.
 */
#include <stdlib.h>
#include <string.h>
#include "redis-scan.h"

/* Runs a command; returns the reply or NULL (error recorded). An error reply is turned into a code. */
redisReply *rb_call_ok(rbe_t *be, rcmd_t *cmd, const char *what, DBR_Errorcode_t *err)
{
  if (!cmd) {
    *err = rb_oom();
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

/* "<escaped ns>::<pattern>" */
char *rb_scan_pattern(const dbr_ns_t *ns, const char *pattern, size_t *len)
{
  return rb_join_key(ns->esc, ns->esclen, pattern, len);
}

/* The tuple name of a key of ns, or NULL if the key is not in ns. */
const char *rb_name_of_key(const dbr_ns_t *ns, const char *key, size_t klen, size_t *nlen)
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
DBR_Errorcode_t rb_scan_all(rbe_t *be, const char *pattern, size_t plen, const char *type, rb_page_fn page,
                                void *ctx)
{
  int nm = atomic_load(&be->nmasters);
  for (int i = 0; i < nm; i++) {
    char cursor[32] = "0";
    do {
      rcmd_t *cmd = rcmd_new(be, -1);
      if (!cmd) return rb_oom();
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
      redisReply *r = rb_call_ok(be, cmd, "SCAN", &err);
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
int rb_per_key(rbe_t *be, redisReply **keys, size_t n, const char *verb, const char *arg, rb_key_reply_fn each,
                   void *ctx)
{
  rcmd_t **cmds = calloc(n, sizeof *cmds);
  redisReply **rs = calloc(n, sizeof *rs);
  DBR_Errorcode_t *errs = calloc(n, sizeof *errs);
  size_t *which = calloc(n, sizeof *which);
  int ret = 0;
  if (!cmds || !rs || !errs || !which) {
    rb_oom();
    ret = -1;
    goto out;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (keys[i]->type != REDIS_REPLY_STRING) continue;
    rcmd_t *c = rcmd_new(be, -1);
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

static int unlink_page(void *ctx, redisReply **keys, size_t n)
{
  unlink_ctx_t *u = ctx;
  return rb_per_key(u->be, keys, n, "UNLINK", NULL, unlinked, u) < 0 ? -1 : 0;
}

DBR_Errorcode_t rb_unlink_matching(rbe_t *be, const char *pattern, size_t plen, const char *type, long long *count)
{
  unlink_ctx_t u = {be, 0};
  DBR_Errorcode_t err = rb_scan_all(be, pattern, plen, type, unlink_page, &u);
  if (count) *count = u.count;
  return err;
}
