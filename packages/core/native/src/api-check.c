/*
 * The argument checks every entry point shares (api-internal.h): names, templates, flags, buffers, values,
 * timeouts, and the status a finished request reports. Each records a sentence for dbrxLastError() that names
 * the problem and the fix.
 */
#include <stdint.h>
#include <string.h>

#include "libdatabroker.h"
#include "libdbr_ext.h"
#include "request.h"
#include "util.h"
#include "api-internal.h"

DBR_Errorcode_t api_check_name(const char *what, const char *name)
{
  if (DBR_UNLIKELY(name == NULL)) return dbr_err(DBR_ERR_INVALID, "the %s is NULL", what);
  size_t n = strnlen(name, DBR_MAX_KEY_LEN + 1);
  if (DBR_UNLIKELY(n == 0)) return dbr_err(DBR_ERR_INVALID, "the %s is empty", what);
  if (DBR_UNLIKELY(n > DBR_MAX_KEY_LEN))
    return dbr_err(DBR_ERR_INVALID, "the %s is %zu bytes; the limit is %d (DBR_MAX_KEY_LEN)", what, strlen(name),
                   DBR_MAX_KEY_LEN);
  if (DBR_UNLIKELY(memchr(name, '\n', n) != NULL))
    return dbr_err(DBR_ERR_INVALID, "the %s contains a newline, which listings use as separator; remove it", what);
  return DBR_SUCCESS;
}

DBR_Errorcode_t api_check_template(const char *tmpl)
{
  size_t n = strnlen(tmpl, DBR_MAX_TEMPLATE_LEN + 1);
  if (n > DBR_MAX_TEMPLATE_LEN)
    return dbr_err(DBR_ERR_INVALID, "the match template is %zu bytes; the limit is %d", strlen(tmpl),
                   DBR_MAX_TEMPLATE_LEN);
  if (memchr(tmpl, '\n', n) != NULL)
    return dbr_err(DBR_ERR_INVALID, "the match template contains a newline; tuple names never do");
  return DBR_SUCCESS;
}

/* "Name or template": the name when non-empty, else the template; exactly one of *n, *t is set. */
DBR_Errorcode_t api_pick_target(const char *name, const char *tmpl, const char **n, const char **t)
{
  *n = *t = NULL;
  if (name != NULL && name[0] != '\0') {
    *n = name;
    return api_check_name("tuple name", name);
  }
  if (tmpl != NULL && tmpl[0] != '\0') {
    *t = tmpl;
    return api_check_template(tmpl);
  }
  return dbr_err_static(DBR_ERR_INVALID,
                        "both the tuple name and the match template are empty; give a name, or a glob template");
}

#define KNOWN_FLAGS (DBR_FLAGS_NOWAIT | DBR_FLAGS_PARTIAL)

DBR_Errorcode_t api_check_flags(int flags, int index_allowed)
{
  if (DBR_UNLIKELY(flags < 0 || (flags & ((1 << DBR_FLAGS_INDEX_SHIFT) - 1) & ~KNOWN_FLAGS)))
    return dbr_err(DBR_ERR_INVALID,
                   "flags 0x%x has unknown bits; use DBR_FLAGS_NOWAIT | DBR_FLAGS_PARTIAL, plus a read index "
                   "<< DBR_FLAGS_INDEX_SHIFT",
                   (unsigned)flags);
  if (DBR_UNLIKELY(!index_allowed && (flags >> DBR_FLAGS_INDEX_SHIFT) != 0))
    return dbr_err(DBR_ERR_INVALID,
                   "a read index (flags >> DBR_FLAGS_INDEX_SHIFT = %d) only applies to read; get and move take "
                   "the oldest value",
                   flags >> DBR_FLAGS_INDEX_SHIFT);
  return DBR_SUCCESS;
}

DBR_Errorcode_t api_check_buffer(const void *buf, const int64_t *size)
{
  if (DBR_UNLIKELY(size == NULL))
    return dbr_err_static(DBR_ERR_INVALID, "the size pointer is NULL; pass the buffer's capacity in *size");
  if (DBR_UNLIKELY(*size < 0))
    return dbr_err(DBR_ERR_INVALID, "the buffer size is negative (%lld)", (long long)*size);
  if (DBR_UNLIKELY(buf == NULL && *size > 0))
    return dbr_err(DBR_ERR_INVALID, "the buffer is NULL but *size is %lld", (long long)*size);
  return DBR_SUCCESS;
}

DBR_Errorcode_t api_check_value(const void *buf, int64_t size)
{
  if (DBR_UNLIKELY(size < 0)) return dbr_err(DBR_ERR_INVALID, "the value size is negative (%lld)", (long long)size);
  if (DBR_UNLIKELY(buf == NULL && size > 0))
    return dbr_err(DBR_ERR_INVALID, "the value buffer is NULL but its size is %lld", (long long)size);
  return DBR_SUCCESS;
}

/* Deadline of a call from a dbrx timeout (ms); 0 sets NOWAIT. */
DBR_Errorcode_t api_deadline_of(int64_t timeout_ms, int *flags, int64_t *deadline)
{
  int64_t now = dbr_now_ns();
  if (timeout_ms == DBRX_TIMEOUT_DEFAULT) {
    *deadline = now + dbr_env_timeout_ns();
  } else if (timeout_ms == DBRX_TIMEOUT_INFINITE) {
    *deadline = INT64_MAX;
  } else if (timeout_ms == 0) {
    *flags |= DBR_FLAGS_NOWAIT;
    *deadline = now + dbr_env_timeout_ns();
  } else if (timeout_ms > 0) {
    *deadline = timeout_ms >= (INT64_MAX - now) / 1000000 ? INT64_MAX : now + timeout_ms * 1000000;
  } else {
    return dbr_err(DBR_ERR_INVALID,
                   "timeout %lld ms is invalid; use >= 0, DBRX_TIMEOUT_DEFAULT (-1) or DBRX_TIMEOUT_INFINITE (-2)",
                   (long long)timeout_ms);
  }
  return DBR_SUCCESS;
}

/* Sets dbrxLastError for the outcome of a request (completions may run on other threads, so the message is
 * made here, on the caller's). */
DBR_Errorcode_t api_outcome(const dbr_req_t *req, DBR_Errorcode_t rc, int64_t capacity)
{
  const char *what = req->name ? req->name : req->tmpl ? req->tmpl : "";
  switch (rc) {
  case DBR_SUCCESS:
    break;
  case DBR_ERR_UNAVAIL:
    dbr_err_static(rc, "no value available (NOWAIT)");
    break;
  case DBR_ERR_TIMEOUT:
    dbr_err(rc, "no value under '%s' came before the timeout; raise DBR_TIMEOUT or the call's timeout", what);
    break;
  case DBR_ERR_UBUFFER:
    dbr_err(rc,
            "the value under '%s' is %lld bytes but the buffer holds %lld; retry with a buffer of *size bytes%s",
            what, (long long)req->value_size, (long long)capacity,
            (req->flags & DBR_FLAGS_PARTIAL) && req->op != DBR_OP_READ ? " (PARTIAL: the value was consumed)"
                                                                        : " (the value was kept)");
    break;
  case DBR_ERR_CANCELLED:
    dbr_err_static(rc, "the request was cancelled");
    break;
  case DBR_ERR_NSINVAL:
    dbr_err_static(rc, "the namespace was deleted; attach to a live namespace");
    break;
  default:
    if (req->errmsg != NULL)
      dbr_err(rc, "%s", req->errmsg);
    else if (dbr_err_code() != rc)
      dbr_err(rc, "the request failed: %s", dbrGet_error(rc));
  }
  return rc;
}
