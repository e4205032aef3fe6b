/*
 * A Redis request as the I/O thread sees it (shared by backend-redis-wait.c, which runs waits and puts, and
 * backend-redis-batch.c, which builds and completes the batches).
 */
#ifndef LIBDBR_REDIS_REQUEST_H_
#define LIBDBR_REDIS_REQUEST_H_

#include "redis-backend.h"
#include "request.h"

typedef enum { OUT_VALUE, OUT_SIZE, OUT_NIL, OUT_ERROR } out_kind_t;

typedef struct {
  out_kind_t kind;
  redisReply *reply; /* OUT_VALUE: owned */
  int64_t size;
  DBR_Errorcode_t err;
  int final;   /* the request was stopped while this attempt was on the wire: complete it with this outcome */
  int skipped; /* OUT_NIL without trying: the request was withdrawn before its pop was sent */
} outcome_t;

typedef void (*attempt_cb_t)(rreq_t *r, outcome_t *o);

struct rreq {
  rbe_t *be;
  dbr_req_t *req;
  int withdrawn;  /* under be->req_mu */
  int completing; /* under be->req_mu */
  int popping;    /* under be->req_mu: a consuming attempt (get, move-value) is on the wire */
  DBR_Errorcode_t stop; /* under be->req_mu: cancelled (CANCELLED) or timed out (TIMEOUT) while popping */
  int stop_posted;      /* under be->req_mu: stop_task is posted */
  int stop_seen;        /* loop thread: stop_task ran, so nothing refers to the request from outside */

  /* loop thread */
  dbr_op_t op;
  char *key, *dkey, *pat; /* tuple key, move-value destination, template pattern */
  size_t keylen, dkeylen, patlen;
  int64_t index, cap;
  int partial, nowait;
  rb_nsstate_t *nsst; /* deleted by this process? (a reference) */
  char *nsname;
  int nsdel;          /* its namespace was deleted by this process while it waited */
  rcmd_t **puts; /* PUT / PUT_MANY / POP_PUT / the batches: built in the caller's thread */
  rcmd_t *put_one; /* puts of a request with one command: no allocation for the array */
  int nputs, puts_left;
  unsigned char *steps_out; /* POP_PUT_MANY: one byte per step (1 = done) */
  int nsteps;
  int **step_groups; /* POP_PUT_MANY: per script call, [count, step indexes...] */
  int nstep_groups;
  DBR_Errorcode_t put_err;

  uint64_t tried_seq; /* be->heard_seq when its first try was sent */
  wgroup_t *group; /* the group it waits in */
  rreq_t *gprev, *gnext;
  wgroup_t *agroup; /* the group whose round runs the attempt in flight */
  int inflight;
  int done;
  int withdraw_seen;

  attempt_cb_t attempt_cb, scan_cb;
  char *akey; /* the key of the attempt in flight */
  size_t akeylen;
  int scan_master;
  char scan_cursor[32];
  redisReply *scan_page;
  size_t scan_pos;

  int blk_node, blk_slot; /* blocked server-side on the blk_slot-th pooled connection of node blk_node (-1: not) */
  int64_t blk_since;      /* when it started blocking there */
  rbuf_t blk_cmd;         /* the BLPOP / BLMOVE, alive until its reply */

  rio_task_t start_task, withdraw_task, stop_task;
  rio_timer_t stop_timer; /* STOP_GRACE_NS after a stop: withdraw if the pop's reply has not come */
};

/** Whether the request was withdrawn (takes be->req_mu). */
int rreq_withdrawn(rreq_t *r);
/** Frees the request once it is done and nothing is in flight or still refers to it. */
void rreq_release(rreq_t *r);

/** Builds a request's commands and keys (backend-redis-build.c); an error completes it unstarted. */
DBR_Errorcode_t rb_build_request(rbe_t *be, rreq_t *r, dbr_req_t *req);

/* ---- batches (backend-redis-batch.c), built in the caller's thread, completed on the I/O thread ---- */
DBR_Errorcode_t rb_build_move_many(rbe_t *be, rreq_t *r, dbr_req_t *req);
DBR_Errorcode_t rb_build_pop_put_many(rbe_t *be, rreq_t *r, dbr_req_t *req);
void rb_move_many_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err);
void rb_steps_done(rcmd_t *cmd, redisReply *rep, DBR_Errorcode_t err);

#endif /* LIBDBR_REDIS_REQUEST_H_ */
