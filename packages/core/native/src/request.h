/*
 * Requests: one asynchronous or waiting operation, from submission to collection.
 *
 * Ownership: a request is reference counted. The creator holds one reference; a backend that accepts a
 * request in submit() holds one until it completes it; the tag table holds one while a tag names it.
 *
 * State: PENDING -> DONE (dbr_req_complete) or PENDING -> CANCELLED (cancel or timeout, after the backend
 * withdrew it). Only the first transition wins, so a value is never both delivered and given back.
 */
#ifndef LIBDBR_REQUEST_H_
#define LIBDBR_REQUEST_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "backend.h"

struct dbr_queue;

typedef enum {
  DBR_OP_READ = 1,
  DBR_OP_GET,
  DBR_OP_PUT,
  DBR_OP_PUT_MANY,
  DBR_OP_MOVE_VALUE,
  DBR_OP_POP_PUT, /* drop the head of name, append in under dst_name, atomically; UNAVAIL if name is empty */
  DBR_OP_MOVE_MANY,    /* name: sources, dst_name: destinations ('\n'-separated); never waits */
  DBR_OP_POP_PUT_MANY, /* in: packed steps (see dbrxPopPutManyAsync) */
} dbr_op_t;

typedef enum { DBR_REQ_PENDING = 0, DBR_REQ_DONE, DBR_REQ_CANCELLED } dbr_req_state_t;

/** A value handed from a backend to a request: data[0..len) stays valid until release(owner). */
typedef struct {
  const void *data;
  int64_t len;
  void (*release)(void *owner);
  void *owner;
} dbr_value_t;

struct dbr_req {
  atomic_int refs;
  atomic_int state; /* dbr_req_state_t */
  dbr_op_t op;
  DBR_Tag_t tag; /* 0 for a synchronous call */

  /* arguments (strings are owned copies, valid until the request is freed) */
  dbr_ns_t *ns;
  dbr_ns_t *dst_ns;   /* MOVE_VALUE */
  char *name;         /* NULL when matching by template */
  char *tmpl;         /* NULL when matching by name */
  char *dst_name;     /* MOVE_VALUE */
  int flags;          /* DBR_FLAGS_*; read index in flags >> DBR_FLAGS_INDEX_SHIFT */
  int64_t deadline_ns; /* CLOCK_MONOTONIC; INT64_MAX = no deadline */
  const void *in;     /* PUT / PUT_MANY: caller's buffer, referenced */
  int64_t in_len;

  /* Capacity the value must fit in, or -1 for no limit. A get/move whose value does not fit must leave the
   * value in place and complete with UBUFFER and the needed size (unless DBR_FLAGS_PARTIAL). */
  int64_t capacity;

  /* outcome */
  DBR_Errorcode_t status;
  dbr_value_t value; /* library-owned result (data NULL if none) */
  int64_t value_size; /* size of the value (also set with UBUFFER) */

  /* where the result goes */
  void *user_buf;        /* standard dbrGetA/dbrReadA and synchronous calls: copy here on completion */
  int64_t *user_size;
  struct dbr_queue *queue;  /* dbrx*Async: post the tag here (the request holds a reference) */
  pthread_mutex_t *wait_mu; /* synchronous waiter, signalled on completion */
  pthread_cond_t *wait_cv;

  void *backend_data; /* free for the backend's use while the request is pending */
  char *errmsg;       /* why the backend failed it (owned; NULL if it said nothing), for dbrxLastError */
  void (*backend_free)(dbr_req_t *req); /* if set, called when the request is freed (backend cleanup) */

  /* bookkeeping of request.c and the API (backends leave these alone) */
  dbr_backend_t *be;       /* the backend executing the request */
  atomic_int finished;     /* 1 once the outcome is published (copied out, queued or signalled) */
  int keep_value;          /* dbrx*Async: the value stays in the request until dbrxTake */
  int has_value;           /* keep_value and the completion handed over a value */
  int timed;               /* asynchronous with a deadline: armed on the timer */
  int timer_idx;           /* position in the timer heap, -1 if not armed (guarded by the timer lock) */
  atomic_int armed;        /* set before the timer looks at the request: completion then disarms it */
  int strings_inline;      /* name/tmpl/dst_name live in the request's own allocation */
  int pooled;              /* its allocation is a block of the per-thread cache (request.c) */
  struct dbr_req *q_next;  /* link in its queue's list of completed requests */
  struct dbr_req *held_next; /* link in its corked queue's list of requests not yet started */
  int held;                /* waiting in that list (guarded by the queue's lock) */
  /* Set by api-request.c while a corked queue may hold the request: releases the namespace handles it keeps attached
   * (a detach must not free a namespace before the backend has the request). Called once: by the queue after
   * the burst that started the request (never inside it: a detach may need the backend's I/O thread), or
   * when the request is freed without ever starting. */
  void (*release_handles)(dbr_req_t *req);
  DBR_Handle_t handles[2];
};

dbr_req_t *dbr_req_new(dbr_op_t op);
/** A request with copies of the given strings (each may be NULL) in the same allocation. */
dbr_req_t *dbr_req_new_args(dbr_op_t op, const char *name, const char *tmpl, const char *dst_name);
void dbr_req_ref(dbr_req_t *req);
void dbr_req_unref(dbr_req_t *req);

/**
 * Completes a pending request; called by backends from any thread. status SUCCESS with a value hands the value
 * over (released by the request). Returns 0 if the request was already completed or cancelled, in which case
 * the caller keeps ownership of value and must give it back.
 */
int dbr_req_complete(dbr_req_t *req, DBR_Errorcode_t status, const dbr_value_t *value, int64_t value_size);

/** Runs and clears release_handles, if set. */
void dbr_req_release_handles(dbr_req_t *req);
/** Records why a request failed (first message wins), so whoever collects it can tell dbrxLastError. */
void dbr_req_set_error(dbr_req_t *req, const char *msg);

/** Monotonic clock in nanoseconds. */
int64_t dbr_now_ns(void);

/* ---- used by the API (api*.c) and queue.c ---- */

/**
 * Synchronous requests: dbr_req_submit_sync() submits with the calling thread as the waiter, and
 * dbr_req_wait() then sleeps on a condition variable (never polling) until the request completes, withdrawing
 * it with DBR_ERR_TIMEOUT at req->deadline_ns. Returns req->status.
 */
void dbr_req_submit_sync(dbr_req_t *req);
DBR_Errorcode_t dbr_req_wait(dbr_req_t *req);
/** Submits an asynchronous request (already tagged) and arms the timer for its deadline. */
void dbr_req_start(dbr_req_t *req);
/**
 * Withdraws a pending request (backend cancel, see dbr_backend.cancel for why): 1 if withdrawn (state
 * CANCELLED, nothing delivered), 0 if it has completed or its completion is under way (then it completes as
 * usual: with a value if its pop on the wire got one, else with DBR_ERR_CANCELLED).
 */
int dbr_req_withdraw(dbr_req_t *req, dbr_cancel_why_t why);
/** Cancels a request that was never started (held by a corked queue): 1 if this call cancelled it. */
int dbr_req_withdraw_unstarted(dbr_req_t *req);

/** Gives req a new tag (monotonic, never reused); the tag table holds a reference. DB_TAG_ERROR on ENOMEM. */
DBR_Tag_t dbr_tag_new(dbr_req_t *req);
/** The request of a tag, with a reference; NULL if the tag is unknown. */
dbr_req_t *dbr_tag_get(DBR_Tag_t tag);
/** Releases a tag (drops the table's reference). 1 if this call removed it, 0 if it was already gone. */
int dbr_tag_drop(DBR_Tag_t tag);
/** Collects (with references) the tagged requests bound to a queue; returns how many, -1 on ENOMEM. */
long dbr_tag_collect_queue(struct dbr_queue *q, dbr_req_t ***out);

#endif /* LIBDBR_REQUEST_H_ */
