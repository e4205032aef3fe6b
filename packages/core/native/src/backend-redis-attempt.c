/*
 * The Redis backend's attempts: the one atomic step a read, get or move-value makes against one key (LINDEX,
 * LPOP or a Lua script that honours the caller's capacity), and, for a template, a SCAN of every master for a
 * matching key that yields a value. Requests (backend-redis-wait.c) make an attempt first, and their waiter
 * group makes one each time a notification says a value may have come; the callback gets the outcome.
 */
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "redis-backend.h"
#include "redis-wait.h"

/* ---- attempts: one atomic step against one key ---- */

static void attempt_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rreq_t *r = cmd->priv;
  r->inflight--;
  DBR_Errorcode_t stop = DBR_SUCCESS;
  if (r->op != DBR_OP_READ) {
    pthread_mutex_lock(&r->be->req_mu);
    r->popping = 0;
    stop = r->stop;
    pthread_mutex_unlock(&r->be->req_mu);
  }
  outcome_t o = {.kind = OUT_NIL};
  if (err != DBR_SUCCESS) {
    o.kind = OUT_ERROR;
    o.err = err;
    if (!rreq_withdrawn(r)) dbr_req_set_error(r->req, cmd->errmsg); /* a withdrawn one is collected as TIMEOUT/CANCELLED */
    if (rep) freeReplyObject(rep);
  } else if (rep->type == REDIS_REPLY_ERROR) {
    o.kind = OUT_ERROR;
    o.err = reply_error_is(rep, "WRONGTYPE") ? DBR_ERR_INVALIDOP : reply_error_code(rep);
    char txt[300];
    reply_text(rep, txt, sizeof txt);
    DBR_LOG(DBR_LOG_DEBUG, "redis: request on %s failed: %s", r->akey, txt);
    freeReplyObject(rep);
  } else if (rep->type == REDIS_REPLY_STRING) {
    o.kind = OUT_VALUE;
    o.reply = rep;
  } else if (rep->type == REDIS_REPLY_INTEGER) {
    o.kind = OUT_SIZE;
    o.size = rep->integer;
    freeReplyObject(rep);
  } else {
    freeReplyObject(rep);
  }
  if (stop != DBR_SUCCESS) {
    o.final = 1;
    if (o.kind != OUT_VALUE) {
      o.kind = OUT_ERROR;
      o.err = stop;
    }
  }
  r->attempt_cb(r, &o);
}

void rw_attempt_key(rreq_t *r, const char *key, size_t klen, attempt_cb_t cb)
{
  rbe_t *be = r->be;
  if (r->akey != key) {
    free(r->akey);
    r->akey = strndup(key, klen);
    r->akeylen = klen;
  }
  rcmd_t *cmd = NULL;
  int fit = r->cap >= 0 && !r->partial;
  switch (r->op) {
  case DBR_OP_GET:
    if (fit) {
      cmd = rcmd_new(be, SCR_POP_FIT);
      if (cmd) {
        rcmd_arg_int(cmd, 1);
        rcmd_key(cmd, key, klen, 1);
        rcmd_arg_int(cmd, r->cap);
      }
    } else {
      cmd = rcmd_new(be, -1);
      if (cmd) {
        rcmd_arg_str(cmd, "LPOP");
        rcmd_key(cmd, key, klen, 1);
      }
    }
    break;
  case DBR_OP_READ:
    cmd = rcmd_new(be, -1);
    if (cmd) {
      rcmd_arg_str(cmd, "LINDEX");
      rcmd_key(cmd, key, klen, 1);
      rcmd_arg_int(cmd, r->index);
    }
    break;
  case DBR_OP_MOVE_VALUE:
    cmd = rcmd_new(be, SCR_MOVE_FIT);
    if (cmd) {
      rcmd_arg_int(cmd, 2);
      rcmd_key(cmd, key, klen, 1);
      rcmd_arg(cmd, r->dkey, r->dkeylen);
      rcmd_arg_int(cmd, fit ? r->cap : -1);
    }
    break;
  default:
    break;
  }
  r->attempt_cb = cb;
  if (!cmd || !r->akey) {
    rcmd_free(cmd);
    outcome_t o = {.kind = OUT_ERROR, .err = DBR_ERR_NOMEMORY};
    cb(r, &o);
    return;
  }
  if (r->op != DBR_OP_READ) {
    /* From here on cancel() lets the reply complete the request instead of withdrawing it. */
    pthread_mutex_lock(&be->req_mu);
    int withdrawn = r->withdrawn;
    if (!withdrawn) r->popping = 1;
    pthread_mutex_unlock(&be->req_mu);
    if (withdrawn) {
      rcmd_free(cmd);
      outcome_t o = {.kind = OUT_NIL, .skipped = 1};
      cb(r, &o);
      return;
    }
  }
  cmd->priv = r;
  cmd->done = attempt_done;
  r->inflight++;
  rb_exec(be, cmd);
}

/* ---- template attempts: SCAN every master for a matching key that yields a value ---- */

static void scan_step(rreq_t *r);

static void scan_finish(rreq_t *r, outcome_t *o)
{
  if (r->scan_page) {
    freeReplyObject(r->scan_page);
    r->scan_page = NULL;
  }
  r->scan_cb(r, o);
}

static void scan_key_done(rreq_t *r, outcome_t *o)
{
  if (o->kind == OUT_NIL && !rreq_withdrawn(r) && !r->be->shutting_down) {
    scan_step(r);
    return;
  }
  scan_finish(r, o);
}

static void scan_reply(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rreq_t *r = cmd->priv;
  r->inflight--;
  if (err != DBR_SUCCESS || !rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
      rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_ARRAY ||
      (size_t)rep->element[0]->len >= sizeof r->scan_cursor) {
    outcome_t o = {.kind = OUT_ERROR, .err = err != DBR_SUCCESS ? err : DBR_ERR_BE_GENERAL};
    if (rep && rep->type == REDIS_REPLY_ERROR) o.err = reply_error_code(rep);
    if (rep) freeReplyObject(rep);
    scan_finish(r, &o);
    return;
  }
  memcpy(r->scan_cursor, rep->element[0]->str, (size_t)rep->element[0]->len);
  r->scan_cursor[rep->element[0]->len] = '\0';
  r->scan_page = rep;
  r->scan_pos = 0;
  scan_step(r);
}

static void scan_step(rreq_t *r)
{
  rbe_t *be = r->be;
  if (rreq_withdrawn(r)) {
    outcome_t o = {.kind = OUT_NIL};
    scan_finish(r, &o);
    return;
  }
  if (r->scan_page) {
    redisReply *keys = r->scan_page->element[1];
    while (r->scan_pos < keys->elements) {
      redisReply *k = keys->element[r->scan_pos++];
      if (k->type != REDIS_REPLY_STRING) continue;
      rw_attempt_key(r, k->str, (size_t)k->len, scan_key_done);
      return;
    }
    freeReplyObject(r->scan_page);
    r->scan_page = NULL;
    if (strcmp(r->scan_cursor, "0") == 0) {
      r->scan_master++;
      if (!rb_master(be, r->scan_master)) {
        outcome_t o = {.kind = OUT_NIL};
        scan_finish(r, &o);
        return;
      }
    }
  }
  rcmd_t *cmd = rcmd_new(be, -1);
  if (!cmd) {
    outcome_t o = {.kind = OUT_ERROR, .err = DBR_ERR_NOMEMORY};
    scan_finish(r, &o);
    return;
  }
  rcmd_arg_str(cmd, "SCAN");
  rcmd_arg_str(cmd, r->scan_cursor);
  rcmd_arg_str(cmd, "MATCH");
  rcmd_arg(cmd, r->pat, r->patlen);
  rcmd_arg_str(cmd, "COUNT");
  rcmd_arg_str(cmd, SCAN_COUNT);
  rcmd_arg_str(cmd, "TYPE");
  rcmd_arg_str(cmd, "list");
  cmd->master = r->scan_master;
  cmd->priv = r;
  cmd->done = scan_reply;
  r->inflight++;
  rb_exec(be, cmd);
}

void rw_scan_attempt(rreq_t *r, attempt_cb_t cb)
{
  r->scan_cb = cb;
  r->scan_master = 0;
  strcpy(r->scan_cursor, "0");
  if (r->scan_page) freeReplyObject(r->scan_page);
  r->scan_page = NULL;
  scan_step(r);
}
