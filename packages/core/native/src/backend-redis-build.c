/*
 * The Redis backend: a request's commands and keys, built in the caller's thread when it is submitted (the
 * batches' own builders are in backend-redis-batch.c). Errors found here (a value over the server's limit,
 * tuples in two cluster slots, a template where a name is needed) complete the request before it starts.
 */
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "redis-request.h"
#include "redis-scan.h"
#include "util.h"

/* Makes cmd the request's one command, appending the value; NOMEMORY (recorded) when any step failed. */
static DBR_Errorcode_t one_put(rreq_t *r, rcmd_t *cmd, const dbr_req_t *req, const char *what)
{
  if (cmd) rcmd_arg(cmd, req->in, (size_t)req->in_len);
  if (!cmd || cmd->body.oom) {
    rcmd_free(cmd);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory for a %s of %lld bytes", what, (long long)req->in_len);
  }
  r->puts = &r->put_one;
  r->puts[0] = cmd;
  r->nputs = 1;
  return DBR_SUCCESS;
}

DBR_Errorcode_t rb_build_request(rbe_t *be, rreq_t *r, dbr_req_t *req)
{
  DBR_Errorcode_t err = DBR_SUCCESS;
  switch (req->op) {
  case DBR_OP_PUT:
    if (rb_check_size(be, req->in_len) != DBR_SUCCESS) {
      err = DBR_ERR_NOMEMORY;
      break;
    }
    err = one_put(r, rb_tuple_cmd(be, "RPUSH", req->ns, req->name), req, "put");
    break;
  case DBR_OP_POP_PUT: {
    if (rb_check_size(be, req->in_len) != DBR_SUCCESS) {
      err = DBR_ERR_NOMEMORY;
      break;
    }
    size_t pl, ql;
    char *pkey = tuple_key(req->ns, req->name, &pl), *qkey = tuple_key(req->ns, req->dst_name, &ql);
    if (pkey && qkey && be->cluster && cluster_key_slot(pkey, pl) != cluster_key_slot(qkey, ql)) {
      err = dbr_err(DBR_ERR_INVALIDOP,
                    "pop-put needs both tuples in one Redis Cluster hash slot, and '%s' and '%s' are not; give both "
                    "names the same {hash tag}", pkey, qkey);
    } else {
      rcmd_t *cmd = pkey && qkey ? rcmd_new(be, SCR_POP_PUT) : NULL;
      if (cmd) {
        rcmd_arg_int(cmd, 2);
        rcmd_key(cmd, pkey, pl, 1);
        rcmd_arg(cmd, qkey, ql);
      }
      err = one_put(r, cmd, req, "pop-put");
    }
    free(pkey);
    free(qkey);
    break;
  }
  case DBR_OP_MOVE_MANY:
    err = rb_build_move_many(be, r, req);
    break;
  case DBR_OP_POP_PUT_MANY:
    err = rb_build_pop_put_many(be, r, req);
    break;
  case DBR_OP_PUT_MANY:
    r->nputs = rb_build_put_many(be, req->ns, req->in, req->in_len, &r->puts);
    if (r->nputs < 0) {
      r->nputs = 0;
      r->puts = NULL;
      err = dbr_err(DBR_ERR_NOMEMORY, "out of memory for a batch of %lld bytes", (long long)req->in_len);
    }
    break;
  case DBR_OP_MOVE_VALUE:
    r->dkey = tuple_key(req->dst_ns, req->dst_name, &r->dkeylen);
    if (!r->dkey) err = dbr_err(DBR_ERR_NOMEMORY, "out of memory");
    /* fall through */
  case DBR_OP_READ:
  case DBR_OP_GET:
    if (err != DBR_SUCCESS) break;
    if (req->name) {
      r->key = tuple_key(req->ns, req->name, &r->keylen);
      if (!r->key) err = dbr_err(DBR_ERR_NOMEMORY, "out of memory");
    } else {
      r->pat = rb_scan_pattern(req->ns, req->tmpl, &r->patlen);
      if (!r->pat) err = dbr_err(DBR_ERR_NOMEMORY, "out of memory");
    }
    if (err == DBR_SUCCESS && req->op == DBR_OP_MOVE_VALUE && be->cluster && r->key &&
        cluster_key_slot(r->key, r->keylen) != cluster_key_slot(r->dkey, r->dkeylen))
      err = dbr_err(DBR_ERR_INVALIDOP,
                    "move-value needs both tuples in one Redis Cluster hash slot, and '%s' and '%s' are not; "
                    "give both names the same {hash tag} (e.g. 'jobs{q1}' and 'running{q1}')",
                    r->key, r->dkey);
    if (err == DBR_SUCCESS && req->op == DBR_OP_MOVE_VALUE && !r->key)
      err = dbr_err(DBR_ERR_INVALID, "move-value needs a source name, not a template");
    break;
  default:
    err = dbr_err(DBR_ERR_INVALID, "unknown request type %d", (int)req->op);
  }
  return err;
}
