/*
 * The Redis backend's batches: move-many (one Lua script fills every destination) and pop-put-many (one Lua
 * call per hash slot runs that slot's steps in batch order), with their completions.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "cluster.h"
#include "redis-proto.h"
#include "redis-request.h"
#include "util.h"

static void free_owned(void *p)
{
  free(p);
}

/* Completes a batch with a buffer it then owns (NULL: an empty value), unless it was withdrawn. */
static void finish_owned(rreq_t *r, DBR_Errorcode_t status, unsigned char *buf, int64_t len)
{
  static unsigned char empty;
  pthread_mutex_lock(&r->be->req_mu);
  int skip = r->withdrawn || r->completing;
  if (!skip) {
    r->completing = 1;
    r->req->backend_data = NULL;
  }
  pthread_mutex_unlock(&r->be->req_mu);
  r->done = 1;
  if (skip || status != DBR_SUCCESS) {
    free(buf);
    if (!skip) dbr_req_complete(r->req, status, NULL, 0);
    return;
  }
  dbr_value_t v = {.data = buf ? buf : &empty, .len = len, .release = buf ? free_owned : NULL, .owner = buf};
  if (!dbr_req_complete(r->req, status, &v, len)) free(buf);
}

static DBR_Errorcode_t batch_reply_error(rreq_t *r, rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  if (err == DBR_SUCCESS && rep && rep->type == REDIS_REPLY_ERROR)
    err = reply_error_is(rep, "WRONGTYPE") ? DBR_ERR_INVALIDOP : reply_error_code(rep);
  if (err != DBR_SUCCESS && !rreq_withdrawn(r)) dbr_req_set_error(r->req, cmd->errmsg);
  return err;
}

/* The script's reply is the moved values, in destination order: pack them as length + bytes. */
void rb_move_many_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rreq_t *r = cmd->priv;
  r->inflight--;
  err = batch_reply_error(r, cmd, rep, err);
  if (err == DBR_SUCCESS && (!rep || rep->type != REDIS_REPLY_ARRAY)) err = DBR_ERR_BE_GENERAL;
  unsigned char *buf = NULL;
  int64_t len = 0;
  if (err == DBR_SUCCESS && rep->elements > 0) {
    for (size_t i = 0; i < rep->elements; i++) len += 8 + (int64_t)rep->element[i]->len;
    buf = malloc((size_t)len);
    if (buf == NULL) {
      err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for the result of a move-many (%zu values moved stay where "
                    "they went)", rep->elements);
    } else {
      unsigned char *p = buf;
      for (size_t i = 0; i < rep->elements; i++) {
        uint64_t n = rep->element[i]->len;
        for (int b = 0; b < 8; b++) *p++ = (unsigned char)(n >> (8 * b));
        memcpy(p, rep->element[i]->str, n);
        p += n;
      }
    }
  }
  if (rep) freeReplyObject(rep);
  finish_owned(r, err, buf, len);
  rreq_release(r);
}

/* One hash slot's script reply: a DBRX_STEP_* code per step, in the order of the slot's steps (cmd->aux: its group). */
void rb_steps_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err)
{
  rreq_t *r = cmd->priv;
  r->inflight--;
  err = batch_reply_error(r, cmd, rep, err);
  const int *idx = r->step_groups[cmd->aux];
  if (err == DBR_SUCCESS && (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)idx[0]))
    err = DBR_ERR_BE_GENERAL;
  if (err == DBR_SUCCESS) {
    for (size_t i = 0; i < rep->elements; i++)
      r->steps_out[idx[1 + i]] = rep->element[i]->type == REDIS_REPLY_INTEGER ? (unsigned char)rep->element[i]->integer : 0;
  } else if (r->put_err == DBR_SUCCESS) {
    r->put_err = err;
  }
  if (rep) freeReplyObject(rep);
  if (--r->puts_left == 0) {
    unsigned char *out = r->steps_out;
    r->steps_out = NULL;
    finish_owned(r, r->put_err, out, r->nsteps);
    rreq_release(r);
  }
}

/* One command for the whole move-many: every key is an argument of the script (one hash slot on a cluster). */
DBR_Errorcode_t rb_build_move_many(rbe_t *be, rreq_t *r, dbr_req_t *req)
{
  dbr_name_ref_t src[DBRX_MOVE_MANY_MAX_SOURCES];
  dbr_name_ref_t *dst = malloc(DBRX_MOVE_MANY_MAX_DESTINATIONS * sizeof *dst);
  r->puts = calloc(1, sizeof *r->puts);
  rcmd_t *cmd = rcmd_new(be, SCR_MOVE_MANY);
  DBR_Errorcode_t err = DBR_SUCCESS;
  if (!dst || !r->puts || !cmd) err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a move-many");
  int nsrc = 0, ndst = 0;
  if (err == DBR_SUCCESS) {
    nsrc = dbr_name_list("source", req->name, src, DBRX_MOVE_MANY_MAX_SOURCES);
    ndst = dbr_name_list("destination", req->dst_name, dst, DBRX_MOVE_MANY_MAX_DESTINATIONS);
    rcmd_arg_int(cmd, nsrc + ndst);
  }
  char name[DBR_MAX_KEY_LEN + 1];
  unsigned slot = 0;
  for (int i = 0; err == DBR_SUCCESS && i < nsrc + ndst; i++) {
    const dbr_name_ref_t *ref = i < nsrc ? &src[i] : &dst[i - nsrc];
    dbr_name_copy(name, ref->name, ref->len);
    size_t kl;
    char *key = tuple_key(req->ns, name, &kl);
    if (!key) {
      err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a move-many");
      break;
    }
    unsigned ks = be->cluster ? cluster_key_slot(key, kl) : 0;
    if (i == 0) slot = ks;
    if (ks != slot)
      err = dbr_err(DBR_ERR_INVALIDOP, "move-many needs every name in one Redis Cluster hash slot, and '%s' is not in "
                    "the slot of the first source; give all names the same {hash tag}", key);
    else if (i == 0)
      rcmd_key(cmd, key, kl, 1);
    else
      rcmd_arg(cmd, key, kl);
    free(key);
  }
  free(dst);
  if (err == DBR_SUCCESS) {
    rcmd_arg_int(cmd, nsrc);
    if (cmd->body.oom) err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a move-many");
  }
  if (err != DBR_SUCCESS) {
    if (cmd) rcmd_free(cmd);
    return err;
  }
  cmd->deadline = rio_now_ns() + be->op_timeout_ns; /* it cannot be withdrawn: the command itself times out */
  r->puts[0] = cmd;
  r->nputs = 1;
  return DBR_SUCCESS;
}

#define STEP_KEY_MAX (DBR_MAX_KEY_LEN * 2 + 3)

/* "<ns>::<name>" into buf (STEP_KEY_MAX bytes); returns its length. */
static size_t step_key(char *buf, const dbr_ns_t *ns, const char *name, size_t len)
{
  memcpy(buf, ns->name, ns->len);
  memcpy(buf + ns->len, "::", 2);
  memcpy(buf + ns->len + 2, name, len);
  return ns->len + 2 + len;
}

/*
 * One script call per hash slot (a single node is one slot here), so a worker's turn of finishes costs Redis
 * one Lua call, not one per task. The steps of a slot run in batch order and atomically together.
 */
DBR_Errorcode_t rb_build_pop_put_many(rbe_t *be, rreq_t *r, dbr_req_t *req)
{
  int64_t count;
  DBR_Errorcode_t err = dbr_steps_check(req->in, req->in_len, &count); /* again: the caller may have changed it */
  if (err != DBR_SUCCESS) return err;
  if (count > INT_MAX / 2) return dbr_err(DBR_ERR_INVALID, "a pop-put batch holds at most %d steps", INT_MAX / 2);
  int n = (int)count;
  unsigned *slot_of = calloc((size_t)n + 1, sizeof *slot_of);
  int *group_of = calloc((size_t)n + 1, sizeof *group_of);
  r->steps_out = calloc((size_t)n + 1, 1);
  r->step_groups = calloc((size_t)n + 1, sizeof *r->step_groups);
  r->puts = calloc((size_t)n + 1, sizeof *r->puts);
  char *kinds = malloc((size_t)n + 1);
  char *key = malloc(STEP_KEY_MAX), *key2 = malloc(STEP_KEY_MAX);
  if (!slot_of || !group_of || !r->steps_out || !r->step_groups || !r->puts || !kinds || !key || !key2)
    err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a pop-put batch");
  r->nsteps = n;

  /* pass 1: each step's slot and group; a pop-put's two names must share a slot */
  int ngroups = 0;
  int64_t off = 0;
  for (int i = 0; i < n && err == DBR_SUCCESS; i++) {
    dbr_step_t st;
    dbr_step_next(req->in, &off, &st);
    if (st.put_len && rb_check_size(be, st.value_len) != DBR_SUCCESS) {
      err = DBR_ERR_NOMEMORY;
      break;
    }
    unsigned slot = 0;
    if (be->cluster) {
      const char *names[3] = {st.unless, st.pop, st.put};
      size_t lens[3] = {st.unless_len, st.pop_len, st.put_len};
      int first = 1;
      for (int j = 0; j < 3 && err == DBR_SUCCESS; j++) {
        if (!lens[j]) continue;
        size_t kl = step_key(key2, req->ns, names[j], lens[j]);
        unsigned ks = cluster_key_slot(key2, kl);
        if (first) {
          slot = ks;
          memcpy(key, key2, kl);
          key[kl] = '\0';
          first = 0;
        } else if (ks != slot) {
          key2[kl] = '\0';
          err = dbr_err(DBR_ERR_INVALIDOP, "the names of one step need one Redis Cluster hash slot, and '%s' and '%s' "
                        "are not; give them the same {hash tag}", key, key2);
        }
      }
      if (err != DBR_SUCCESS) break;
    }
    int g = 0;
    while (g < ngroups && slot_of[g] != slot) g++;
    if (g == ngroups) slot_of[ngroups++] = slot;
    group_of[i] = g;
  }

  /* pass 2: one script per group: numkeys, keys, kinds, values */
  for (int g = 0; g < ngroups && err == DBR_SUCCESS; g++) {
    int members = 0, nkeys = 0;
    off = 0;
    for (int i = 0; i < n; i++) {
      dbr_step_t st;
      dbr_step_next(req->in, &off, &st);
      if (group_of[i] != g) continue;
      kinds[members++] = (char)('a' + (st.pop_len ? 1 : 0) + (st.put_len ? 2 : 0) + (st.unless_len ? 4 : 0) +
                                ((st.flags & DBRX_STEP_PEEK_UNLESS) ? 8 : 0));
      nkeys += (st.pop_len != 0) + (st.put_len != 0) + (st.unless_len != 0);
    }
    int *idx = malloc(((size_t)members + 1) * sizeof *idx);
    rcmd_t *cmd = idx ? rcmd_new(be, SCR_STEPS) : NULL;
    if (!cmd) {
      free(idx);
      err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a pop-put batch");
      break;
    }
    idx[0] = members;
    r->step_groups[g] = idx;
    rcmd_arg_int(cmd, nkeys);
    int m = 0, first = 1;
    off = 0;
    for (int i = 0; i < n; i++) {
      dbr_step_t st;
      dbr_step_next(req->in, &off, &st);
      if (group_of[i] != g) continue;
      idx[1 + m++] = i;
      const char *names[3] = {st.unless, st.pop, st.put};
      size_t lens[3] = {st.unless_len, st.pop_len, st.put_len};
      for (int j = 0; j < 3; j++) {
        if (!lens[j]) continue;
        size_t kl = step_key(key, req->ns, names[j], lens[j]);
        if (first) rcmd_key(cmd, key, kl, 1); /* routes the command */
        else rcmd_arg(cmd, key, kl);
        first = 0;
      }
    }
    rcmd_arg(cmd, kinds, (size_t)members);
    off = 0;
    for (int i = 0; i < n; i++) {
      dbr_step_t st;
      dbr_step_next(req->in, &off, &st);
      if (group_of[i] == g && st.put_len) rcmd_arg(cmd, st.value, (size_t)st.value_len);
    }
    if (cmd->body.oom) {
      rcmd_free(cmd);
      err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a pop-put batch");
      break;
    }
    cmd->aux = g;
    r->puts[r->nputs++] = cmd;
  }
  r->nstep_groups = ngroups;
  free(slot_of);
  free(group_of);
  free(kinds);
  free(key);
  free(key2);
  return err;
}

