/*
 * What the public API's files (api.c, api-request.c, api-iterator.c, api-ext.c) share: the library state,
 * namespace handles, argument checks and request construction. Nothing here is exported (libdbr.map).
 */
#ifndef LIBDBR_API_INTERNAL_H_
#define LIBDBR_API_INTERNAL_H_

#include <stdatomic.h>
#include <stdint.h>
#include "backend.h"
#include "libdatabroker.h"
#include "reg.h"
#include "request.h"
#include "util.h"

#define DBR_MAX_TEMPLATE_LEN (2 * DBR_MAX_KEY_LEN)

/* ---- library state ---- */

extern dbr_backend_t *_Atomic g_be;
/** Opens the backend (or reports why it cannot, retrying at most once a second). */
dbr_backend_t *api_backend_slow(void);

/** The backend, opened on first use; NULL with the last error set when it cannot be opened. */
static inline dbr_backend_t *backend(void)
{
  dbr_backend_t *be = atomic_load_explicit(&g_be, memory_order_acquire);
  return DBR_LIKELY(be != NULL) ? be : api_backend_slow();
}

/* ---- handles: registry ids of attached namespaces ---- */

typedef struct {
  dbr_ns_t *ns;
  size_t name_len;
  char name[];
} handle_t;

extern reg_t g_handles;

/* ---- this process's attachments per namespace name (api-attached.c), for dbrDelete ---- */

/** Counts one more live handle on the namespace; -1 on ENOMEM. */
int api_attached_add(const char *name, size_t len);
void api_attached_remove(const char *name, size_t len);
/** Live handles of this process on the namespace. */
int api_attached_count(const char *name);
/** Takes a reference on the handle; NULL (error recorded) for a NULL, forged or detached one. */
handle_t *api_handle_get(DBR_Handle_t h);
DBR_Errorcode_t api_handle_destroy(handle_t *hd);

/** Drops a reference taken by api_handle_get; the last one after a detach frees the handle. */
static inline void handle_put(DBR_Handle_t h)
{
  handle_t *dead = reg_release(&g_handles, (uintptr_t)h);
  if (DBR_UNLIKELY(dead != NULL)) api_handle_destroy(dead);
}

/* ---- argument checks: DBR_SUCCESS, or a code with the reason recorded for dbrxLastError ---- */

DBR_Errorcode_t api_check_name(const char *what, const char *name);
DBR_Errorcode_t api_check_template(const char *tmpl);
/** The name when non-empty, else the template: exactly one of *n and *t is set. */
DBR_Errorcode_t api_pick_target(const char *name, const char *tmpl, const char **n, const char **t);
DBR_Errorcode_t api_check_flags(int flags, int index_allowed);
DBR_Errorcode_t api_check_buffer(const void *buf, const int64_t *size);
DBR_Errorcode_t api_check_value(const void *buf, int64_t size);
/** The deadline of a dbrx timeout in ms (DBRX_TIMEOUT_DEFAULT: DBR_TIMEOUT; 0: adds NOWAIT to *flags). */
DBR_Errorcode_t api_deadline_of(int64_t timeout_ms, int *flags, int64_t *deadline);
/** Records dbrxLastError for a finished request's status (on the caller's thread) and returns the status. */
DBR_Errorcode_t api_outcome(const dbr_req_t *req, DBR_Errorcode_t rc, int64_t capacity);

/* ---- requests ---- */

/** A request on handle h, holding the handle's reference; NULL (reference released, last error set) on failure. */
dbr_req_t *api_new_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name, const char *tmpl,
                       const char *dst_name);
/** A put request with the caller's buffer on handle h (see api_new_req). */
dbr_req_t *api_new_put_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name,
                           const char *dst_name, const void *buf, int64_t len);
/** Starts a tagged request on h (and h2 unless NULL), releasing their references once the backend has it. */
DBR_Tag_t api_start_tagged(dbr_req_t *req, DBR_Handle_t h, DBR_Handle_t h2);

#endif /* LIBDBR_API_INTERNAL_H_ */
