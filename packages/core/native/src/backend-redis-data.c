/*
 * The Redis backend: the data calls that do not wait (put, put-if-absent, put-many, count, directory, iterate,
 * move, remove). They run in the caller's thread as short sequences of commands, each a round trip through
 * the I/O thread (rb_call); walks over a namespace SCAN every master (redis-scan.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "glob.h"
#include "log.h"
#include "redis-scan.h"

#define BE(b) ((rbe_t *)(b))

/* ---- data ---- */

static DBR_Errorcode_t r_put(dbr_backend_t *b, dbr_ns_t *ns, const char *name, const void *buf, int64_t size)
{
  rbe_t *be = BE(b);
  if (rb_ns_check(ns) != DBR_SUCCESS) return DBR_ERR_NSINVAL;
  if (rb_check_size(be, size) != DBR_SUCCESS) return DBR_ERR_NOMEMORY;
  rcmd_t *cmd = rb_tuple_cmd(be, "RPUSH", ns, name);
  if (cmd) rcmd_arg(cmd, buf, (size_t)size);
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "put (RPUSH)", &err);
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
  rcmd_t *cmd = key ? rcmd_new(be, SCR_PUT_IF_ABSENT) : NULL;
  if (cmd) {
    rcmd_arg_int(cmd, 1);
    rcmd_key(cmd, key, klen, 1);
    rcmd_arg(cmd, buf, (size_t)size);
  }
  free(key);
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "put-if-absent (EXISTS + RPUSH)", &err);
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
    return rb_oom();
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
  rcmd_t *cmd = rb_tuple_cmd(be, "LLEN", ns, name);
  DBR_Errorcode_t err;
  redisReply *r = rb_call_ok(be, cmd, "LLEN", &err);
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
    const char *name = rb_name_of_key(d->ns, keys[i]->str, (size_t)keys[i]->len, &nl);
    if (!name || nl == 0 || nl > DBR_MAX_KEY_LEN) continue;
    if (rmap_get(&d->seen, name, nl)) continue;
    if (rmap_put(&d->seen, name, nl, (void *)1) != 0) {
      rb_oom();
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
  char *pat = rb_scan_pattern(ns, pattern, &splen);
  if (!pat) return rb_oom();
  dir_ctx_t d = {ns, sink, ctx, {0}};
  DBR_Errorcode_t err = rb_scan_all(be, pat, splen, "list", dir_page, &d);
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
    if (!it) return rb_oom();
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
        const char *name = k->type == REDIS_REPLY_STRING ? rb_name_of_key(ns, k->str, (size_t)k->len, &nl) : NULL;
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
    if (!pat && !(pat = rb_scan_pattern(ns, pattern, &splen))) return rb_oom();
    rcmd_t *cmd = rcmd_new(be, -1);
    if (!cmd) {
      free(pat);
      return rb_oom();
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
    redisReply *r = rb_call_ok(be, cmd, "SCAN", &err);
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

static void pop_back_done(rcmd_t *cmd, redisReply *r, DBR_Errorcode_t err)
{
  if (err != DBR_SUCCESS || (r && r->type == REDIS_REPLY_ERROR))
    DBR_LOG(DBR_LOG_ERROR, "redis move: could not give back the values of a pop that timed out to '%s': %s",
            cmd->key, err != DBR_SUCCESS ? cmd->errmsg : r->str);
  if (r) freeReplyObject(r);
}

/* The reply of a move's pop that ran after its call timed out: its values go back at the head of the list. */
static void pop_came_late(rcmd_t *cmd, redisReply *r)
{
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
    rcmd_t *back = rcmd_new(cmd->be, -1);
    if (back) {
      rcmd_arg_str(back, "LPUSH");
      rcmd_key(back, cmd->key, cmd->keylen, 1);
      for (size_t i = r->elements; i > 0; i--) rcmd_arg(back, r->element[i - 1]->str, (size_t)r->element[i - 1]->len);
      back->done = pop_back_done;
      rb_exec(cmd->be, back);
    } else {
      DBR_LOG(DBR_LOG_ERROR, "redis move: out of memory giving back %zu values to '%s'", r->elements, cmd->key);
    }
  }
  freeReplyObject(r);
}

/* Moves every value of src_key to the tail of dst_key. Returns the number moved, or -1 (error recorded). */
static long long move_key(rbe_t *be, const char *src_key, size_t slen, const char *dst_key, size_t dlen)
{
  DBR_Errorcode_t err;
  if (!be->cluster || cluster_key_slot(src_key, slen) == cluster_key_slot(dst_key, dlen)) {
    rcmd_t *cmd = rcmd_new(be, SCR_MOVE_LIST);
    if (cmd) {
      rcmd_arg_int(cmd, 2);
      rcmd_key(cmd, src_key, slen, 1);
      rcmd_arg(cmd, dst_key, dlen);
    }
    redisReply *r = rb_call_ok(be, cmd, "move", &err);
    if (!r) return -1;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return n;
  }
  /* Different cluster slots: no single atomic step exists. Pop a batch (so no concurrent get sees it twice),
   * push it, and give it back at the head if the push fails. Order is kept. */
  long long total = 0;
  for (;;) {
    rcmd_t *cmd = rcmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "LPOP");
      rcmd_key(cmd, src_key, slen, 1);
      rcmd_arg_str(cmd, "256");
      cmd->late = pop_came_late;
    }
    redisReply *r = rb_call_ok(be, cmd, "move (LPOP)", &err);
    if (!r) return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      freeReplyObject(r);
      return total;
    }
    rcmd_t *push = rcmd_new(be, -1);
    if (push) {
      rcmd_arg_str(push, "RPUSH");
      rcmd_key(push, dst_key, dlen, 1);
      for (size_t i = 0; i < r->elements; i++) rcmd_arg(push, r->element[i]->str, (size_t)r->element[i]->len);
    }
    redisReply *pr = rb_call_ok(be, push, "move (RPUSH)", &err);
    if (!pr) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", dbr_err_message());
      rcmd_t *back = rcmd_new(be, -1);
      if (back) {
        rcmd_arg_str(back, "LPUSH");
        rcmd_key(back, src_key, slen, 1);
        for (size_t i = r->elements; i > 0; i--)
          rcmd_arg(back, r->element[i - 1]->str, (size_t)r->element[i - 1]->len);
      }
      DBR_Errorcode_t e2;
      redisReply *br = rb_call_ok(be, back, "move (LPUSH back)", &e2);
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
        rb_oom();
        return -1;
      }
      m->keys = nk;
      m->cap = nc;
    }
    m->keys[m->n] = strndup(keys[i]->str, (size_t)keys[i]->len);
    if (!m->keys[m->n]) {
      rb_oom();
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
    long long n = (sk && dk) ? move_key(be, sk, sl, dk, dl) : (rb_oom(), -1);
    free(sk);
    free(dk);
    if (n < 0) return dbr_err_code();
    if (n == 0) return dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to move", name);
    return DBR_SUCCESS;
  }
  /* Collect first, then move: the walk is not disturbed by the keys it removes. */
  size_t plen;
  char *pat = rb_scan_pattern(src, tmpl, &plen);
  if (!pat) return rb_oom();
  move_ctx_t m = {be, src, dst, 0, NULL, 0, 0};
  err = rb_scan_all(be, pat, plen, "list", collect_page, &m);
  free(pat);
  for (size_t i = 0; i < m.n; i++) {
    if (err == DBR_SUCCESS) {
      size_t nl, dl;
      const char *nm = rb_name_of_key(src, m.keys[i], strlen(m.keys[i]), &nl);
      if (nm) {
        char *dk = tuple_key(dst, nm, &dl);
        long long k = dk ? move_key(be, m.keys[i], strlen(m.keys[i]), dk, dl) : (rb_oom(), -1);
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
    redisReply *r = rb_call_ok(be, rb_tuple_cmd(be, "UNLINK", ns, name), "remove (UNLINK)", &err);
    if (!r) return err;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    if (n == 0) return dbr_err(DBR_ERR_UNAVAIL, "no value under '%s' to remove", name);
    return DBR_SUCCESS;
  }
  size_t plen;
  char *pat = rb_scan_pattern(ns, tmpl, &plen);
  if (!pat) return rb_oom();
  long long removed = 0;
  err = rb_unlink_matching(be, pat, plen, "list", &removed);
  free(pat);
  if (err != DBR_SUCCESS) return err;
  if (removed == 0) return dbr_err(DBR_ERR_UNAVAIL, "no tuple name matches '%s': nothing to remove", tmpl);
  return DBR_SUCCESS;
}

void rb_data_install(dbr_backend_t *b)
{
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
