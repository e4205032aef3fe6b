/*
 * The backend interface. api.c validates every argument (handles, names, sizes, flags) and then calls a
 * backend through this vtable, so a backend may assume well-formed input:
 *   - names and namespace names are NUL-terminated, 1..DBR_MAX_KEY_LEN bytes, no '\n';
 *   - a template is a glob (Redis glob syntax: * ? [..] and \ escapes);
 *   - "name or template": exactly one of the two is non-NULL.
 *
 * Calls that do not wait are synchronous. Calls that may wait for a value go through submit(): the backend
 * completes the request later with dbr_req_complete(), from any thread.
 */
#ifndef LIBDBR_BACKEND_H_
#define LIBDBR_BACKEND_H_

#include <stdint.h>
#include <stddef.h>
#include "libdatabroker.h"
#include "libdbr_ext.h"

typedef struct dbr_req dbr_req_t;
typedef struct dbr_backend dbr_backend_t;

/** A backend's per-attach namespace state. */
typedef struct dbr_ns dbr_ns_t;

/**
 * Receives names from directory/iterate/namespaces. Return 0 to continue, non-zero to stop the walk.
 */
typedef int (*dbr_name_sink_fn)(void *ctx, const char *name, size_t len);

/** Why a pending request is withdrawn (see cancel()). */
typedef enum {
  DBR_CANCEL_USER,    /* dbrCancel */
  DBR_CANCEL_TIMEOUT, /* its deadline passed */
  DBR_CANCEL_ABANDON, /* nobody will collect its result (its queue is closing) */
} dbr_cancel_why_t;

struct dbr_backend {
  const char *name; /* "mem", "redis", "redis-cluster" */

  void (*destroy)(dbr_backend_t *be);

  /* Namespaces. create attaches (refcnt 1). delete fails with NSBUSY while more than one client is attached
   * (the caller's own attachment does not block it, as in the Data Broker), and then marks the namespace
   * delete-pending so that the last detach removes it. UNAVAIL if it does not exist.
   * ns_detach is called once no synchronous call uses the handle any more, but requests submitted on that ns
   * may still be pending: the backend keeps what they need alive until it completes or withdraws them. */
  DBR_Errorcode_t (*ns_create)(dbr_backend_t *be, const char *ns, dbr_ns_t **out);
  DBR_Errorcode_t (*ns_attach)(dbr_backend_t *be, const char *ns, dbr_ns_t **out);
  DBR_Errorcode_t (*ns_detach)(dbr_backend_t *be, dbr_ns_t *ns);
  /* `own`: how many of the attachments are the calling process's own handles. The namespace goes at once when
   * no client but the caller is attached (the caller counts as one client, and only if it holds a handle);
   * otherwise it is marked delete-pending and the call fails with NSBUSY. */
  DBR_Errorcode_t (*ns_delete)(dbr_backend_t *be, const char *ns, int own);
  DBR_Errorcode_t (*ns_stat)(dbr_backend_t *be, dbr_ns_t *ns, dbrx_stat_t *st);
  DBR_Errorcode_t (*ns_list)(dbr_backend_t *be, const char *pattern, dbr_name_sink_fn sink, void *ctx);

  /* Data, synchronous. */
  DBR_Errorcode_t (*put)(dbr_backend_t *be, dbr_ns_t *ns, const char *name, const void *buf, int64_t size);
  /* Stores the value only if the name holds none, atomically; *stored tells whether it did. */
  DBR_Errorcode_t (*put_if_absent)(dbr_backend_t *be, dbr_ns_t *ns, const char *name, const void *buf,
                                   int64_t size, int *stored);
  /* records: already validated by api.c (see dbrxPutMany for the format) */
  DBR_Errorcode_t (*put_many)(dbr_backend_t *be, dbr_ns_t *ns, const void *packed, int64_t len);
  DBR_Errorcode_t (*count)(dbr_backend_t *be, dbr_ns_t *ns, const char *name, int64_t *count);
  DBR_Errorcode_t (*directory)(dbr_backend_t *be, dbr_ns_t *ns, const char *pattern, dbr_name_sink_fn sink,
                               void *ctx);
  /* Iteration: *cursor is NULL at the start; the backend allocates its own state there. Returns SUCCESS with
   * a name in name_out (DBR_MAX_KEY_LEN + 1 bytes), UNAVAIL when the walk is over (state freed), or an error. */
  DBR_Errorcode_t (*iterate)(dbr_backend_t *be, dbr_ns_t *ns, void **cursor, const char *pattern,
                             char *name_out);
  void (*iterate_free)(dbr_backend_t *be, void *cursor);
  DBR_Errorcode_t (*move)(dbr_backend_t *be, dbr_ns_t *src, const char *name, const char *tmpl, dbr_ns_t *dst);
  DBR_Errorcode_t (*remove)(dbr_backend_t *be, dbr_ns_t *ns, const char *name, const char *tmpl);

  /* Requests that may wait: read, get, put (async), move-value. The backend holds a reference (dbr_req_ref)
   * until it completes the request. It must complete it exactly once, unless cancel() withdrew it. */
  void (*submit)(dbr_backend_t *be, dbr_req_t *req);
  /* Withdraws a pending request. Returns 1 if it is withdrawn: the backend will never complete it and has not
   * consumed a value for it, and it drops its reference (the caller holds one of its own). Returns 0 if
   * completion already happened or is under way. May be called for a request that is not (or no longer) in
   * the backend.
   * A backend whose pop can be on the wire (sent, reply not back) does not withdraw then, unless why is
   * DBR_CANCEL_ABANDON: it returns 0 and completes the request when the reply comes, with the value if the
   * pop took one, else with DBR_ERR_CANCELLED (DBR_CANCEL_USER) or DBR_ERR_TIMEOUT (DBR_CANCEL_TIMEOUT). So a
   * value is never out of the tuple space while nobody holds it. DBR_CANCEL_ABANDON (nobody will collect the
   * result) withdraws anyway, and a value taken on the wire goes back at the head of its list. */
  int (*cancel)(dbr_backend_t *be, dbr_req_t *req, dbr_cancel_why_t why);
  /* Optional. Brackets a burst of submit() calls from one thread (on = 1, then on = 0): a backend with an I/O
   * thread may hand the burst over at the end, in one piece. */
  void (*submit_burst)(dbr_backend_t *be, int on);
};

/** Creates the backend selected by the environment (DBR_SERVER unset or "mem://": the memory backend). */
DBR_Errorcode_t dbr_backend_open(dbr_backend_t **out);

DBR_Errorcode_t dbr_backend_mem_open(dbr_backend_t **out);
/** server: "host:port" (the part after sock:// or redis://); password may be NULL. */
DBR_Errorcode_t dbr_backend_redis_open(dbr_backend_t **out, const char *server, const char *password);

#endif /* LIBDBR_BACKEND_H_ */
