/*
 * The public API: libdatabroker.h (the Data Broker v0.7 ABI) and libdbr_ext.h (dbrx extensions).
 *
 * Every entry point validates all of its arguments, records a sentence for dbrxLastError() on failure, and
 * then dispatches to the backend. Handles, iterators and queues are registry ids (reg.h), never pointers, so
 * a NULL, forged, stale or detached one is reported, not dereferenced. Group arguments are ignored and never
 * dereferenced.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "batch.h"
#include "libdatabroker.h"
#include "libdbr_ext.h"
#include "log.h"
#include "queue.h"
#include "reg.h"
#include "request.h"
#include "util.h"

#define DBR_MAX_TEMPLATE_LEN (2 * DBR_MAX_KEY_LEN)

/* ---- library state: the backend (opened lazily) and DBR_TIMEOUT ---- */

static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;
static int64_t g_timeout_ns = (int64_t)DBR_TIMEOUT_DEFAULT * 1000000000;

static dbr_backend_t *_Atomic g_be;
static pthread_mutex_t g_be_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_be_retry_at; /* after a failed open, the next attempt waits until then */
static DBR_Errorcode_t g_be_err;
static char g_be_msg[1024];

static void read_env(void)
{
  const char *s = getenv(DBR_TIMEOUT_ENV);
  if (s == NULL || *s == '\0') return;
  char *end;
  double v = strtod(s, &end);
  while (*end == ' ' || *end == '\t' || *end == '\n') end++;
  if (end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 1e9) {
    DBR_LOG(DBR_LOG_WARN, "DBR_TIMEOUT=%s is not a positive number of seconds; using the default %d s", s,
            DBR_TIMEOUT_DEFAULT);
    return;
  }
  g_timeout_ns = (int64_t)(v * 1e9);
  if (g_timeout_ns < 1) g_timeout_ns = 1;
}

/*
 * The backend, opened on first use. Once opened it never changes. A failed open (say, Redis not up yet) is
 * reported to every call and retried at most once a second.
 */
static dbr_backend_t *backend_slow(void)
{
  pthread_once(&g_env_once, read_env);
  pthread_mutex_lock(&g_be_mu);
  dbr_backend_t *be = atomic_load(&g_be);
  if (be == NULL) {
    int64_t now = dbr_now_ns();
    if (now >= g_be_retry_at) {
      DBR_Errorcode_t rc = dbr_backend_open(&be);
      if (rc == DBR_SUCCESS && be != NULL) {
        atomic_store(&g_be, be);
      } else {
        be = NULL;
        g_be_err = rc != DBR_SUCCESS ? rc : DBR_ERR_BE_GENERAL;
        snprintf(g_be_msg, sizeof g_be_msg, "%s", *dbr_err_message() ? dbr_err_message() : "cannot open the backend");
        g_be_retry_at = now + 1000000000;
      }
    }
    if (be == NULL) dbr_err(g_be_err, "%s", g_be_msg);
  }
  pthread_mutex_unlock(&g_be_mu);
  return be;
}

static inline dbr_backend_t *backend(void)
{
  dbr_backend_t *be = atomic_load_explicit(&g_be, memory_order_acquire);
  return DBR_LIKELY(be != NULL) ? be : backend_slow();
}

/* ---- handles ---- */

typedef struct {
  dbr_ns_t *ns;
  size_t name_len;
  char name[];
} handle_t;

static reg_t g_handles = REG_INITIALIZER(REG_KIND_HANDLE);

static handle_t *handle_get(DBR_Handle_t h)
{
  handle_t *hd = reg_acquire(&g_handles, (uintptr_t)h);
  if (DBR_UNLIKELY(hd == NULL)) {
    if (h == NULL)
      dbr_err_static(DBR_ERR_HANDLE, "the namespace handle is NULL; pass a handle from dbrCreate or dbrAttach");
    else
      dbr_err(DBR_ERR_HANDLE,
              "namespace handle %p is not attached: it was detached, or never returned by dbrCreate/dbrAttach",
              h);
  }
  return hd;
}

static DBR_Errorcode_t handle_destroy(handle_t *hd)
{
  dbr_backend_t *be = atomic_load(&g_be);
  DBR_Errorcode_t rc = be->ns_detach(be, hd->ns);
  free(hd);
  return rc;
}

static inline void handle_put(DBR_Handle_t h)
{
  handle_t *dead = reg_release(&g_handles, (uintptr_t)h);
  if (DBR_UNLIKELY(dead != NULL)) handle_destroy(dead);
}

static DBR_Handle_t handle_new(dbr_ns_t *ns, const char *name)
{
  size_t len = strlen(name);
  handle_t *hd = malloc(sizeof *hd + len + 1);
  uintptr_t id = 0;
  if (hd) {
    hd->ns = ns;
    hd->name_len = len;
    memcpy(hd->name, name, len + 1);
    id = reg_add(&g_handles, hd);
  }
  if (id == 0) {
    dbr_backend_t *be = atomic_load(&g_be);
    be->ns_detach(be, ns);
    free(hd);
    dbr_err(DBR_ERR_NOMEMORY, "out of memory (or over 1M live handles) attaching to '%s'; detach unused handles",
            name);
    return NULL;
  }
  return (DBR_Handle_t)id;
}

/* ---- argument checks ---- */

static DBR_Errorcode_t check_name(const char *what, const char *name)
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

static DBR_Errorcode_t check_template(const char *tmpl)
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
static DBR_Errorcode_t pick_target(const char *name, const char *tmpl, const char **n, const char **t)
{
  *n = *t = NULL;
  if (name != NULL && name[0] != '\0') {
    *n = name;
    return check_name("tuple name", name);
  }
  if (tmpl != NULL && tmpl[0] != '\0') {
    *t = tmpl;
    return check_template(tmpl);
  }
  return dbr_err_static(DBR_ERR_INVALID,
                        "both the tuple name and the match template are empty; give a name, or a glob template");
}

#define KNOWN_FLAGS (DBR_FLAGS_NOWAIT | DBR_FLAGS_PARTIAL)

static DBR_Errorcode_t check_flags(int flags, int index_allowed)
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

static DBR_Errorcode_t check_buffer(const void *buf, const int64_t *size)
{
  if (DBR_UNLIKELY(size == NULL))
    return dbr_err_static(DBR_ERR_INVALID, "the size pointer is NULL; pass the buffer's capacity in *size");
  if (DBR_UNLIKELY(*size < 0))
    return dbr_err(DBR_ERR_INVALID, "the buffer size is negative (%lld)", (long long)*size);
  if (DBR_UNLIKELY(buf == NULL && *size > 0))
    return dbr_err(DBR_ERR_INVALID, "the buffer is NULL but *size is %lld", (long long)*size);
  return DBR_SUCCESS;
}

static DBR_Errorcode_t check_value(const void *buf, int64_t size)
{
  if (DBR_UNLIKELY(size < 0)) return dbr_err(DBR_ERR_INVALID, "the value size is negative (%lld)", (long long)size);
  if (DBR_UNLIKELY(buf == NULL && size > 0))
    return dbr_err(DBR_ERR_INVALID, "the value buffer is NULL but its size is %lld", (long long)size);
  return DBR_SUCCESS;
}

/* Deadline of a call from a dbrx timeout (ms); 0 sets NOWAIT. */
static DBR_Errorcode_t deadline_of(int64_t timeout_ms, int *flags, int64_t *deadline)
{
  int64_t now = dbr_now_ns();
  if (timeout_ms == DBRX_TIMEOUT_DEFAULT) {
    *deadline = now + g_timeout_ns;
  } else if (timeout_ms == DBRX_TIMEOUT_INFINITE) {
    *deadline = INT64_MAX;
  } else if (timeout_ms == 0) {
    *flags |= DBR_FLAGS_NOWAIT;
    *deadline = now + g_timeout_ns;
  } else if (timeout_ms > 0) {
    *deadline = timeout_ms >= (INT64_MAX - now) / 1000000 ? INT64_MAX : now + timeout_ms * 1000000;
  } else {
    return dbr_err(DBR_ERR_INVALID,
                   "timeout %lld ms is invalid; use >= 0, DBRX_TIMEOUT_DEFAULT (-1) or DBRX_TIMEOUT_INFINITE (-2)",
                   (long long)timeout_ms);
  }
  return DBR_SUCCESS;
}

static DBR_Errorcode_t tag_error(DBR_Tag_t tag)
{
  return dbr_err(DBR_ERR_TAGERROR,
                 "tag %lld is unknown: never issued, already collected by dbrTest/dbrxTake, or cancelled",
                 (long long)tag);
}

/* Sets dbrxLastError for the outcome of a request (completions may run on other threads, so the message is
 * made here, on the caller's). */
static DBR_Errorcode_t outcome(const dbr_req_t *req, DBR_Errorcode_t rc, int64_t capacity)
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

/* ---- management ---- */

DBR_Handle_t dbrCreate(DBR_Name_t db_name, DBR_Tuple_persist_level_t level, DBR_GroupList_t groups)
{
  (void)groups;
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  if (check_name("namespace name", db_name) != DBR_SUCCESS) return NULL;
  if ((int)level < 0 || (int)level >= DBR_PERST_MAX) {
    dbr_err(DBR_ERR_INVALID, "persistence level %d is invalid; use 0..%d (DBR_PERST_*)", (int)level,
            DBR_PERST_MAX - 1);
    return NULL;
  }
  dbr_ns_t *ns = NULL;
  if (be->ns_create(be, db_name, &ns) != DBR_SUCCESS) return NULL;
  return handle_new(ns, db_name);
}

DBR_Errorcode_t dbrDelete(DBR_Name_t db_name)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  DBR_Errorcode_t rc = check_name("namespace name", db_name);
  if (rc != DBR_SUCCESS) return rc;
  return be->ns_delete(be, db_name);
}

DBR_Handle_t dbrAttach(DBR_Name_t db_name)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  if (check_name("namespace name", db_name) != DBR_SUCCESS) return NULL;
  dbr_ns_t *ns = NULL;
  if (be->ns_attach(be, db_name, &ns) != DBR_SUCCESS) return NULL;
  return handle_new(ns, db_name);
}

DBR_Errorcode_t dbrDetach(DBR_Handle_t dbr_handle)
{
  void *dead = NULL;
  if (reg_retire(&g_handles, (uintptr_t)dbr_handle, &dead) != 0)
    return dbr_err(DBR_ERR_HANDLE, "namespace handle %p is not attached: it was detached already, or never returned "
                   "by dbrCreate/dbrAttach", dbr_handle);
  return dead ? handle_destroy(dead) : DBR_SUCCESS;
}

DBR_Errorcode_t dbrQuery(DBR_Handle_t dbr_handle, DBR_State_t *dbr_state, DBR_State_mask_t dbr_state_mask)
{
  (void)dbr_state_mask;
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  if (dbr_state == NULL) return dbr_err_static(DBR_ERR_INVALID, "dbr_state is NULL; pass a DBR_State_t to fill");
  handle_t *hd = handle_get(dbr_handle);
  if (hd == NULL) return DBR_ERR_HANDLE;
  dbrx_stat_t st;
  memset(&st, 0, sizeof st);
  DBR_Errorcode_t rc = be->ns_stat(be, hd->ns, &st);
  if (rc == DBR_SUCCESS) *dbr_state = (DBR_State_t)st.refcnt;
  handle_put(dbr_handle);
  return rc;
}

static DBR_Errorcode_t units(DBR_Handle_t h)
{
  if (backend() == NULL) return dbr_err_code();
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  handle_put(h);
  return dbr_err_static(DBR_ERR_NOTIMPL, "units are not supported by libdbr");
}

DBR_Errorcode_t dbrAddUnits(DBR_Handle_t dbr_handle, DBR_UnitList_t dbr_units)
{
  (void)dbr_units;
  return units(dbr_handle);
}

DBR_Errorcode_t dbrRemoveUnits(DBR_Handle_t dbr_handle, DBR_UnitList_t dbr_units)
{
  (void)dbr_units;
  return units(dbr_handle);
}

/* ---- data access: put ---- */

DBR_Errorcode_t dbrPut(DBR_Handle_t dbr_handle, void *va_ptr, int64_t size, DBR_Tuple_name_t tuple_name,
                       DBR_Group_t group)
{
  (void)group;
  dbr_backend_t *be = backend();
  if (DBR_UNLIKELY(be == NULL)) return dbr_err_code();
  DBR_Errorcode_t rc = check_value(va_ptr, size);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = check_name("tuple name", tuple_name);
  if (DBR_UNLIKELY(rc != DBR_SUCCESS)) return rc;
  handle_t *hd = handle_get(dbr_handle);
  if (DBR_UNLIKELY(hd == NULL)) return DBR_ERR_HANDLE;
  rc = be->put(be, hd->ns, tuple_name, va_ptr, size);
  handle_put(dbr_handle);
  return rc;
}

DBR_Errorcode_t dbrxPutIfAbsent(DBR_Handle_t h, const void *buf, int64_t size, const char *name, int *stored)
{
  dbr_backend_t *be = backend();
  if (DBR_UNLIKELY(be == NULL)) return dbr_err_code();
  if (stored == NULL) return dbr_err_static(DBR_ERR_INVALID, "stored is NULL; pass an int to learn whether the value was stored");
  DBR_Errorcode_t rc = check_value(buf, size);
  if (rc == DBR_SUCCESS) rc = check_name("tuple name", name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  *stored = 0;
  rc = be->put_if_absent(be, hd->ns, name, buf, size, stored);
  handle_put(h);
  return rc;
}

static void release_held_handles(dbr_req_t *req)
{
  handle_put(req->handles[0]);
  if (req->handles[1]) handle_put(req->handles[1]);
}

/*
 * Starts a tagged request on handle h, and h2 (a move-value's destination) unless NULL. The caller holds their
 * references; this releases them once the backend has the request: at once, or, when a corked queue holds it,
 * when the queue starts it or it is dropped unstarted (so a detach meanwhile cannot free its namespace).
 */
static DBR_Tag_t start_tagged(dbr_req_t *req, DBR_Handle_t h, DBR_Handle_t h2)
{
  DBR_Tag_t tag = dbr_tag_new(req);
  int held = 0;
  if (tag == DB_TAG_ERROR) {
    dbr_err(DBR_ERR_NOMEMORY, "out of memory registering a tag");
  } else if (req->queue && dbr_queue_closed(req->queue)) {
    dbr_tag_drop(tag);
    tag = DB_TAG_ERROR;
    dbr_err_static(DBR_ERR_INVALID, "the queue was closed");
  } else {
    if (req->queue) { /* set before the queue can see it: the 16th held request starts its chunk at once */
      req->handles[0] = h;
      req->handles[1] = h2;
      req->release_handles = release_held_handles;
      held = dbr_queue_hold(req->queue, req);
    }
    if (!held) {
      req->release_handles = NULL;
      dbr_req_start(req);
    }
  }
  if (!held) {
    handle_put(h);
    if (h2) handle_put(h2);
  }
  dbr_req_unref(req);
  return tag;
}

/* A request on handle h, holding the handle's reference; NULL (reference released, last error set) on failure. */
static dbr_req_t *new_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name, const char *tmpl,
                          const char *dst_name)
{
  handle_t *hd = handle_get(h);
  if (DBR_UNLIKELY(hd == NULL)) return NULL;
  dbr_req_t *req = dbr_req_new_args(op, name, tmpl, dst_name);
  if (DBR_UNLIKELY(req == NULL)) {
    handle_put(h);
    dbr_err_static(DBR_ERR_NOMEMORY, "out of memory allocating a request");
    return NULL;
  }
  req->be = be;
  req->ns = hd->ns;
  return req;
}

/* A put request with the caller's buffer on handle h, holding the handle's reference (released on failure). */
static dbr_req_t *new_put_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name,
                              const char *dst_name, const void *buf, int64_t len)
{
  dbr_req_t *req = new_req(op, be, h, name, NULL, dst_name);
  if (DBR_UNLIKELY(req == NULL)) return NULL;
  req->in = buf;
  req->in_len = len;
  req->deadline_ns = dbr_now_ns() + g_timeout_ns;
  return req;
}

DBR_Tag_t dbrPutA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t size, DBR_Tuple_name_t tuple_name,
                  DBR_Group_t group)
{
  (void)group;
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  if (check_value(va_ptr, size) != DBR_SUCCESS || check_name("tuple name", tuple_name) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = new_put_req(DBR_OP_PUT, be, dbr_handle, tuple_name, NULL, va_ptr, size);
  return req ? start_tagged(req, dbr_handle, NULL) : DB_TAG_ERROR;
}

/* ---- data access: read / get ---- */

static DBR_Errorcode_t read_get(dbr_op_t op, DBR_Handle_t h, void *buf, int64_t *size, const char *name,
                                const char *tmpl, int flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (DBR_UNLIKELY(be == NULL)) return dbr_err_code();
  const char *n, *t;
  int64_t deadline;
  DBR_Errorcode_t rc = check_buffer(buf, size);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = check_flags(flags, op == DBR_OP_READ);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = pick_target(name, tmpl, &n, &t);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = deadline_of(timeout_ms, &flags, &deadline);
  if (DBR_UNLIKELY(rc != DBR_SUCCESS)) return rc;
  dbr_req_t *req = new_req(op, be, h, n, t, NULL);
  if (DBR_UNLIKELY(req == NULL)) return dbr_err_code();
  int64_t capacity = *size;
  req->flags = flags;
  req->deadline_ns = deadline;
  req->capacity = capacity;
  req->user_buf = buf;
  req->user_size = size;
  dbr_req_submit_sync(req);
  handle_put(h); /* a waiting request keeps what it needs; a detach need not wait for it */
  rc = outcome(req, dbr_req_wait(req), capacity);
  dbr_req_unref(req);
  return rc;
}

static DBR_Tag_t read_get_a(dbr_op_t op, DBR_Handle_t h, void *buf, int64_t *size, const char *name,
                            const char *tmpl)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  const char *n, *t;
  if (check_buffer(buf, size) != DBR_SUCCESS || pick_target(name, tmpl, &n, &t) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = new_req(op, be, h, n, t, NULL);
  if (DBR_UNLIKELY(req == NULL)) return DB_TAG_ERROR;
  req->deadline_ns = dbr_now_ns() + g_timeout_ns;
  req->capacity = *size;
  req->user_buf = buf;
  req->user_size = size;
  return start_tagged(req, h, NULL);
}

DBR_Errorcode_t dbrGet(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                       DBR_Tuple_template_t match_template, DBR_Group_t group, int flags)
{
  (void)group;
  return read_get(DBR_OP_GET, dbr_handle, va_ptr, size, tuple_name, match_template, flags, DBRX_TIMEOUT_DEFAULT);
}

DBR_Tag_t dbrGetA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                  DBR_Tuple_template_t match_template, DBR_Group_t group)
{
  (void)group;
  return read_get_a(DBR_OP_GET, dbr_handle, va_ptr, size, tuple_name, match_template);
}

DBR_Errorcode_t dbrRead(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                        DBR_Tuple_template_t match_template, DBR_Group_t group, int flags)
{
  (void)group;
  return read_get(DBR_OP_READ, dbr_handle, va_ptr, size, tuple_name, match_template, flags,
                  DBRX_TIMEOUT_DEFAULT);
}

DBR_Tag_t dbrReadA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                   DBR_Tuple_template_t match_template, DBR_Group_t group)
{
  (void)group;
  return read_get_a(DBR_OP_READ, dbr_handle, va_ptr, size, tuple_name, match_template);
}

DBR_Errorcode_t dbrxRead(DBR_Handle_t h, void *buf, int64_t *size, const char *name, const char *match_template,
                         int flags, int64_t timeout_ms)
{
  return read_get(DBR_OP_READ, h, buf, size, name, match_template, flags, timeout_ms);
}

DBR_Errorcode_t dbrxGet(DBR_Handle_t h, void *buf, int64_t *size, const char *name, const char *match_template,
                        int flags, int64_t timeout_ms)
{
  return read_get(DBR_OP_GET, h, buf, size, name, match_template, flags, timeout_ms);
}

DBR_Errorcode_t dbrTestKey(DBR_Handle_t dbr_handle, DBR_Tuple_name_t tuple_name)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  DBR_Errorcode_t rc = check_name("tuple name", tuple_name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(dbr_handle);
  if (hd == NULL) return DBR_ERR_HANDLE;
  int64_t count = 0;
  rc = be->count(be, hd->ns, tuple_name, &count);
  handle_put(dbr_handle);
  if (rc == DBR_SUCCESS && count == 0) rc = dbr_err_static(DBR_ERR_UNAVAIL, "no value under that tuple name");
  return rc;
}

/* ---- listings ---- */

typedef struct {
  char *buf;
  size_t size, used;
  unsigned max, count;
  int truncated;
} listing_t;

static int listing_sink(void *ctx, const char *name, size_t len)
{
  listing_t *l = ctx;
  if (l->max && l->count >= l->max) return 1;
  size_t need = (l->used ? 1 : 0) + len;
  if (l->used + need + 1 > l->size) { /* + 1: the terminating NUL */
    l->truncated = 1;
    return 1;
  }
  if (l->used) l->buf[l->used++] = '\n';
  memcpy(l->buf + l->used, name, len);
  l->used += len;
  l->count++;
  return 0;
}

static DBR_Errorcode_t listing_finish(listing_t *l, DBR_Errorcode_t rc, int64_t *ret_size)
{
  if (l->size > 0) l->buf[l->used] = '\0';
  if (ret_size) *ret_size = l->used ? (int64_t)l->used + 1 : 0;
  if (rc == DBR_SUCCESS && l->truncated)
    rc = dbr_err(DBR_ERR_UBUFFER,
                 "the listing was truncated after %u names: they need more than %zu bytes; pass a larger buffer "
                 "or a count",
                 l->count, l->size);
  return rc;
}

static DBR_Errorcode_t check_listing(const char **tmpl, const char *buf, size_t size)
{
  if (*tmpl == NULL || **tmpl == '\0') *tmpl = "*";
  if (buf == NULL && size > 0) return dbr_err(DBR_ERR_INVALID, "the result buffer is NULL but its size is %zu", size);
  return check_template(*tmpl);
}

DBR_Errorcode_t dbrDirectory(DBR_Handle_t dbr_handle, DBR_Tuple_template_t match_template, DBR_Group_t group,
                             const unsigned count, char *result_buffer, const size_t size, int64_t *ret_size)
{
  (void)group;
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  const char *tmpl = match_template;
  DBR_Errorcode_t rc = check_listing(&tmpl, result_buffer, size);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(dbr_handle);
  if (hd == NULL) return DBR_ERR_HANDLE;
  listing_t l = {.buf = result_buffer, .size = size, .max = count};
  rc = be->directory(be, hd->ns, tmpl, listing_sink, &l);
  handle_put(dbr_handle);
  return listing_finish(&l, rc, ret_size);
}

DBR_Errorcode_t dbrxNamespaces(const char *match_template, unsigned count, char *buf, size_t size,
                               int64_t *ret_size)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  const char *tmpl = match_template;
  DBR_Errorcode_t rc = check_listing(&tmpl, buf, size);
  if (rc != DBR_SUCCESS) return rc;
  listing_t l = {.buf = buf, .size = size, .max = count};
  rc = be->ns_list(be, tmpl, listing_sink, &l);
  return listing_finish(&l, rc, ret_size);
}

/* ---- move / remove ---- */

DBR_Errorcode_t dbrMove(DBR_Handle_t src_dbr_handle, DBR_Group_t src_group, DBR_Tuple_name_t tuple_name,
                        DBR_Tuple_template_t match_template, DBR_Handle_t dest_dbr_handle,
                        DBR_Group_t dest_group)
{
  (void)src_group;
  (void)dest_group;
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  const char *n, *t;
  DBR_Errorcode_t rc = pick_target(tuple_name, match_template, &n, &t);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *src = handle_get(src_dbr_handle);
  if (src == NULL) return DBR_ERR_HANDLE;
  handle_t *dst = handle_get(dest_dbr_handle);
  if (dst == NULL) {
    handle_put(src_dbr_handle);
    return DBR_ERR_HANDLE;
  }
  rc = be->move(be, src->ns, n, t, dst->ns);
  handle_put(dest_dbr_handle);
  handle_put(src_dbr_handle);
  return rc;
}

DBR_Errorcode_t dbrRemove(DBR_Handle_t dbr_handle, DBR_Group_t group, DBR_Tuple_name_t tuple_name,
                          DBR_Tuple_template_t match_template)
{
  (void)group;
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  const char *n, *t;
  DBR_Errorcode_t rc = pick_target(tuple_name, match_template, &n, &t);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(dbr_handle);
  if (hd == NULL) return DBR_ERR_HANDLE;
  rc = be->remove(be, hd->ns, n, t);
  handle_put(dbr_handle);
  return rc;
}

/* ---- requests ---- */

DBR_Errorcode_t dbrTest(DBR_Tag_t req_tag)
{
  dbr_req_t *req = dbr_tag_get(req_tag);
  if (req == NULL) return tag_error(req_tag);
  if (!atomic_load_explicit(&req->finished, memory_order_acquire)) {
    dbr_req_unref(req);
    return DBR_ERR_INPROGRESS;
  }
  DBR_Errorcode_t rc = req->status;
  if (!(req->keep_value && req->has_value)) { /* a value waits for dbrxTake: keep the tag */
    dbr_tag_drop(req_tag);
    outcome(req, rc, req->capacity);
  }
  dbr_req_unref(req);
  return rc;
}

DBR_Errorcode_t dbrCancel(DBR_Tag_t req_tag)
{
  dbr_req_t *req = dbr_tag_get(req_tag);
  if (req == NULL) return tag_error(req_tag);
  DBR_Errorcode_t rc = DBR_SUCCESS;
  int withdrawn = !atomic_load_explicit(&req->finished, memory_order_acquire) &&
                  ((req->queue && dbr_queue_unhold(req->queue, req) && dbr_req_withdraw_unstarted(req)) ||
                   dbr_req_withdraw(req, DBR_CANCEL_USER));
  if (withdrawn)
    dbr_tag_drop(req_tag);
  else
    rc = dbr_err(DBR_ERR_INVALIDOP,
                 "tag %lld has completed (or is completing: its pop was on the wire); collect its result with "
                 "dbrTest or dbrxTake",
                 (long long)req_tag);
  dbr_req_unref(req);
  return rc;
}

DBR_Errorcode_t dbrxTake(DBR_Tag_t tag, void *buf, int64_t *size)
{
  DBR_Errorcode_t rc = check_buffer(buf, size);
  if (rc != DBR_SUCCESS) return rc;
  dbr_req_t *req = dbr_tag_get(tag);
  if (req == NULL) return tag_error(tag);
  if (!atomic_load_explicit(&req->finished, memory_order_acquire)) {
    dbr_req_unref(req);
    return DBR_ERR_INPROGRESS;
  }
  if (req->keep_value && req->has_value) {
    int64_t len = req->value.len;
    if (len > *size) {
      rc = dbr_err(DBR_ERR_UBUFFER, "the value of tag %lld is %lld bytes but the buffer holds %lld; retry with "
                   "*size bytes (the tag is kept)", (long long)tag, (long long)len, (long long)*size);
      *size = len;
    } else {
      if (len > 0) memcpy(buf, req->value.data, (size_t)len);
      *size = len;
      rc = req->status;
      dbr_tag_drop(tag);
    }
  } else {
    rc = req->status;
    *size = 0;
    dbr_tag_drop(tag);
    outcome(req, rc, -1);
  }
  dbr_req_unref(req);
  return rc;
}

int dbrxQueueDrainTake(dbrx_queue_t *q, DBR_Tag_t *tags, int32_t *statuses, int32_t *sizes, void *buf,
                       int64_t bufsize, int max)
{
  if (tags == NULL || statuses == NULL || sizes == NULL || bufsize < 0 || (buf == NULL && bufsize > 0) || max < 0)
    return dbr_err_static(DBR_ERR_INVALID, "dbrxQueueDrainTake needs tags, statuses, sizes, max >= 0 and a buffer "
                          "(NULL only with bufsize 0)"), -1;
  int n = dbrxQueueDrain(q, tags, max);
  int64_t used = 0;
  for (int i = 0; i < n; i++) {
    dbr_req_t *req = dbr_tag_get(tags[i]);
    sizes[i] = DBRX_NO_VALUE;
    if (req == NULL) {
      statuses[i] = DBR_ERR_TAGERROR;
      continue;
    }
    statuses[i] = req->status;
    if (req->status != DBR_SUCCESS && req->errmsg != NULL) { /* dbrxTake hands its explanation to dbrxLastError */
      sizes[i] = DBRX_TAKE_LATER;
      dbr_req_unref(req);
      continue;
    }
    if (req->keep_value && req->has_value) {
      int64_t len = req->value.len;
      if (len > bufsize - used || len > INT32_MAX) {
        sizes[i] = DBRX_TAKE_LATER;
        dbr_req_unref(req);
        continue;
      }
      if (len > 0) memcpy((char *)buf + used, req->value.data, (size_t)len);
      sizes[i] = (int32_t)len;
      used += len;
    }
    dbr_tag_drop(tags[i]);
    dbr_req_unref(req);
  }
  return n;
}

/* ---- iterators ---- */

typedef struct {
  pthread_mutex_t mu;
  DBR_Handle_t handle;
  void *cursor;
  char pattern[];
} iter_t;

static reg_t g_iters = REG_INITIALIZER(REG_KIND_ITERATOR);

static void iter_destroy(iter_t *it)
{
  if (it == NULL) return;
  dbr_backend_t *be = atomic_load(&g_be);
  if (it->cursor) be->iterate_free(be, it->cursor);
  pthread_mutex_destroy(&it->mu);
  free(it);
}

static void iter_retire(DBR_Iterator_t id)
{
  void *dead = NULL;
  if (reg_retire(&g_iters, (uintptr_t)id, &dead) == 0) iter_destroy(dead);
}

static DBR_Iterator_t iter_fail(char *tuple_name)
{
  if (tuple_name) {
    tuple_name[0] = (char)EOF;
    tuple_name[1] = '\0';
  }
  return NULL;
}

/*
 * The live iterator *id walking dbr_handle, acquired (release with reg_release), or a new one for
 * DBR_ITERATOR_NEW (*id is then set). NULL with dbrxLastError set; an iterator of another handle is retired.
 */
static iter_t *iter_open(DBR_Handle_t dbr_handle, uintptr_t *id, const char *match_template)
{
  if (*id == (uintptr_t)DBR_ITERATOR_NEW) {
    const char *tmpl = match_template && *match_template ? match_template : "*";
    if (check_template(tmpl) != DBR_SUCCESS) return NULL;
    size_t len = strlen(tmpl);
    iter_t *it = calloc(1, sizeof *it + len + 1);
    if (it == NULL) {
      dbr_err_static(DBR_ERR_NOMEMORY, "out of memory starting an iterator");
      return NULL;
    }
    pthread_mutex_init(&it->mu, NULL);
    it->handle = dbr_handle;
    memcpy(it->pattern, tmpl, len + 1);
    *id = reg_add(&g_iters, it);
    if (*id == 0) {
      iter_destroy(it);
      dbr_err_static(DBR_ERR_NOMEMORY, "out of memory (or over 1M live iterators); free unused iterators");
      return NULL;
    }
  }
  iter_t *it = reg_acquire(&g_iters, *id);
  if (it == NULL) {
    dbr_err(DBR_ERR_ITERATOR, "iterator %p is not live: it finished, was freed, or never existed", (void *)*id);
    return NULL;
  }
  if (it->handle != dbr_handle) {
    dbr_err(DBR_ERR_ITERATOR, "iterator %p walks another namespace handle (%p)", (void *)*id, it->handle);
    iter_destroy(reg_release(&g_iters, *id));
    iter_retire((DBR_Iterator_t)*id); /* NULL always ends the walk: the caller will not free it */
    return NULL;
  }
  return it;
}

DBR_Iterator_t dbrIterator(DBR_Handle_t dbr_handle, DBR_Iterator_t iterator, DBR_Group_t group,
                           DBR_Tuple_template_t match_template, char *tuple_name)
{
  (void)group;
  if (tuple_name == NULL) {
    dbr_err_static(DBR_ERR_INVALID, "tuple_name is NULL; pass a buffer of DBR_MAX_KEY_LEN + 1 bytes");
    return NULL;
  }
  dbr_backend_t *be = backend();
  if (be == NULL) return iter_fail(tuple_name);
  uintptr_t id = (uintptr_t)iterator;
  iter_t *it = iter_open(dbr_handle, &id, match_template);
  if (it == NULL) return iter_fail(tuple_name);
  handle_t *hd = handle_get(dbr_handle);
  DBR_Errorcode_t rc = DBR_ERR_HANDLE;
  if (hd != NULL) {
    pthread_mutex_lock(&it->mu);
    rc = be->iterate(be, hd->ns, &it->cursor, it->pattern, tuple_name);
    pthread_mutex_unlock(&it->mu);
    handle_put(dbr_handle);
  }
  iter_destroy(reg_release(&g_iters, id));
  if (rc == DBR_SUCCESS) return (DBR_Iterator_t)id;
  iter_retire((DBR_Iterator_t)id); /* done (UNAVAIL) or failed: the iterator ends here */
  return iter_fail(tuple_name);
}

DBR_Errorcode_t dbrxIteratorNextMany(DBR_Handle_t dbr_handle, DBR_Iterator_t *iterator, const char *match_template,
                                     unsigned max, char *buf, size_t size, unsigned *ret_count)
{
  if (iterator == NULL || ret_count == NULL)
    return dbr_err_static(DBR_ERR_INVALID, "iterator and ret_count must not be NULL");
  *ret_count = 0;
  if (buf == NULL || size < DBR_MAX_KEY_LEN + 2)
    return dbr_err(DBR_ERR_UBUFFER, "the buffer holds %zu bytes; pass at least DBR_MAX_KEY_LEN + 2 (%d)",
                   buf ? size : 0, DBR_MAX_KEY_LEN + 2);
  buf[0] = '\0';
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  uintptr_t id = (uintptr_t)*iterator;
  iter_t *it = iter_open(dbr_handle, &id, match_template);
  if (it == NULL) {
    *iterator = DBR_ITERATOR_DONE;
    return dbr_err_code();
  }
  handle_t *hd = handle_get(dbr_handle);
  DBR_Errorcode_t rc = DBR_ERR_HANDLE;
  size_t used = 0;
  unsigned n = 0;
  if (hd != NULL) {
    pthread_mutex_lock(&it->mu);
    /* Take a name from the walk only while any name fits: it cannot be put back. */
    for (rc = DBR_SUCCESS; rc == DBR_SUCCESS && (max == 0 || n < max) && size - used >= DBR_MAX_KEY_LEN + 2;) {
      rc = be->iterate(be, hd->ns, &it->cursor, it->pattern, buf + used);
      if (rc != DBR_SUCCESS) break;
      size_t len = strlen(buf + used);
      buf[used + len] = '\n';
      used += len + 1;
      n++;
    }
    pthread_mutex_unlock(&it->mu);
    handle_put(dbr_handle);
  }
  buf[used] = '\0';
  *ret_count = n;
  iter_destroy(reg_release(&g_iters, id));
  if (rc == DBR_SUCCESS) {
    *iterator = (DBR_Iterator_t)id;
    return DBR_SUCCESS;
  }
  iter_retire((DBR_Iterator_t)id); /* done (UNAVAIL) or failed: the iterator ends here */
  *iterator = DBR_ITERATOR_DONE;
  return rc == DBR_ERR_UNAVAIL ? DBR_SUCCESS : rc;
}

DBR_Errorcode_t dbrxIteratorFree(DBR_Iterator_t iterator)
{
  void *dead = NULL;
  if (reg_retire(&g_iters, (uintptr_t)iterator, &dead) != 0)
    return dbr_err(DBR_ERR_ITERATOR, "iterator %p is not live: it finished, was freed, or never existed", iterator);
  iter_destroy(dead);
  return DBR_SUCCESS;
}

DBR_Tag_t dbrEval(DBR_Handle_t dbr_handle, void *va_ptr, int size, DBR_Tuple_name_t tuple_name, DBR_Group_t group,
                  FunctPtr_t fn_ptr)
{
  (void)dbr_handle;
  (void)va_ptr;
  (void)size;
  (void)tuple_name;
  (void)group;
  (void)fn_ptr;
  dbr_err_static(DBR_ERR_NOTIMPL, "dbrEval is not supported by libdbr");
  return DB_TAG_ERROR;
}

/* ---- extensions ---- */

int dbrxAbiVersion(void)
{
  return DBRX_ABI_VERSION;
}

const char *dbrxBackend(void)
{
  dbr_backend_t *be = backend();
  return be ? be->name : "error";
}

const char *dbrxLastError(void)
{
  return dbr_err_message();
}

DBR_Errorcode_t dbrxLastErrorCode(void)
{
  return dbr_err_code();
}

/* Binds an asynchronous request to queue q (may be NULL) and starts it. */
static DBR_Tag_t start_queued(dbr_req_t *req, dbrx_queue_t *q, DBR_Handle_t h)
{
  if (q != NULL) {
    req->queue = dbr_queue_get(q);
    if (req->queue == NULL) {
      handle_put(h);
      dbr_req_unref(req);
      return DB_TAG_ERROR;
    }
  }
  req->keep_value = 1;
  return start_tagged(req, h, NULL);
}

static DBR_Tag_t read_get_async(dbr_op_t op, dbrx_queue_t *q, DBR_Handle_t h, const char *name,
                                const char *tmpl, int flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  const char *n, *t;
  int64_t deadline;
  if (check_flags(flags, op == DBR_OP_READ) != DBR_SUCCESS || pick_target(name, tmpl, &n, &t) != DBR_SUCCESS ||
      deadline_of(timeout_ms, &flags, &deadline) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = new_req(op, be, h, n, t, NULL);
  if (DBR_UNLIKELY(req == NULL)) return DB_TAG_ERROR;
  req->flags = flags;
  req->deadline_ns = deadline;
  return start_queued(req, q, h);
}

DBR_Tag_t dbrxReadAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *name, const char *match_template, int flags,
                        int64_t timeout_ms)
{
  return read_get_async(DBR_OP_READ, q, h, name, match_template, flags, timeout_ms);
}

DBR_Tag_t dbrxGetAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *name, const char *match_template, int flags,
                       int64_t timeout_ms)
{
  return read_get_async(DBR_OP_GET, q, h, name, match_template, flags, timeout_ms);
}

DBR_Tag_t dbrxPutAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *buf, int64_t size, const char *name)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  if (check_value(buf, size) != DBR_SUCCESS || check_name("tuple name", name) != DBR_SUCCESS) return DB_TAG_ERROR;
  dbr_req_t *req = new_put_req(DBR_OP_PUT, be, h, name, NULL, buf, size);
  return req ? start_queued(req, q, h) : DB_TAG_ERROR;
}

/* Validates a whole packed batch (see dbrxPutMany) before anything is stored. */
static DBR_Errorcode_t check_packed(const void *packed, int64_t len)
{
  if (len < 0) return dbr_err(DBR_ERR_INVALID, "the batch length is negative (%lld)", (long long)len);
  if (packed == NULL && len > 0) return dbr_err(DBR_ERR_INVALID, "the batch is NULL but its length is %lld", (long long)len);
  const unsigned char *p = packed;
  uint64_t off = 0, total = (uint64_t)len;
  for (uint64_t rec = 0; off < total; rec++) {
    if (total - off < 12)
      return dbr_err(DBR_ERR_INVALID, "batch record %llu at byte %llu: truncated header (12 bytes needed, %llu left)",
                     (unsigned long long)rec, (unsigned long long)off, (unsigned long long)(total - off));
    uint32_t nl = dbr_rd32(p + off);
    uint64_t vl = dbr_rd64(p + off + 4);
    if (nl == 0 || nl > DBR_MAX_KEY_LEN)
      return dbr_err(DBR_ERR_INVALID, "batch record %llu at byte %llu: name length %u is not in 1..%d",
                     (unsigned long long)rec, (unsigned long long)off, nl, DBR_MAX_KEY_LEN);
    uint64_t left = total - off - 12;
    if (nl > left || vl > left - nl)
      return dbr_err(DBR_ERR_INVALID,
                     "batch record %llu at byte %llu: name (%u) and value (%llu bytes) run past the end of the batch",
                     (unsigned long long)rec, (unsigned long long)off, nl, (unsigned long long)vl);
    const unsigned char *name = p + off + 12;
    if (memchr(name, '\0', nl) || memchr(name, '\n', nl))
      return dbr_err(DBR_ERR_INVALID, "batch record %llu at byte %llu: the name contains a NUL or newline byte",
                     (unsigned long long)rec, (unsigned long long)off);
    off += 12 + nl + vl;
  }
  return DBR_SUCCESS;
}

DBR_Errorcode_t dbrxPutMany(DBR_Handle_t h, const void *packed, int64_t len)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  DBR_Errorcode_t rc = check_packed(packed, len);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  rc = len == 0 ? DBR_SUCCESS : be->put_many(be, hd->ns, packed, len);
  handle_put(h);
  return rc;
}

/* Validates a pop-put and builds its request on handle h (holding the handle's reference). */
static dbr_req_t *new_pop_put_req(dbr_backend_t *be, DBR_Handle_t h, const char *pop_name, const char *put_name,
                                  const void *buf, int64_t size)
{
  if (check_value(buf, size) != DBR_SUCCESS || check_name("name to pop", pop_name) != DBR_SUCCESS ||
      check_name("name to put", put_name) != DBR_SUCCESS)
    return NULL;
  return new_put_req(DBR_OP_POP_PUT, be, h, pop_name, put_name, buf, size);
}

DBR_Tag_t dbrxPopPutAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *pop_name, const char *put_name,
                          const void *buf, int64_t size)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  dbr_req_t *req = new_pop_put_req(be, h, pop_name, put_name, buf, size);
  return req ? start_queued(req, q, h) : DB_TAG_ERROR;
}

DBR_Errorcode_t dbrxPopPut(DBR_Handle_t h, const char *pop_name, const char *put_name, const void *buf,
                           int64_t size)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  dbr_req_t *req = new_pop_put_req(be, h, pop_name, put_name, buf, size);
  if (req == NULL) return dbr_err_code();
  dbr_req_submit_sync(req);
  DBR_Errorcode_t rc = dbr_req_wait(req);
  handle_put(h);
  dbr_req_unref(req);
  return rc;
}

DBR_Tag_t dbrxPutManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *packed, int64_t len)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  if (check_packed(packed, len) != DBR_SUCCESS) return DB_TAG_ERROR;
  dbr_req_t *req = new_put_req(DBR_OP_PUT_MANY, be, h, NULL, NULL, packed, len);
  return req ? start_queued(req, q, h) : DB_TAG_ERROR;
}

DBR_Tag_t dbrxMoveManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *sources, const char *destinations)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  dbr_name_ref_t src[DBRX_MOVE_MANY_MAX_SOURCES];
  if (dbr_name_list("source", sources, src, DBRX_MOVE_MANY_MAX_SOURCES) < 0) return DB_TAG_ERROR;
  dbr_name_ref_t *dst = malloc(DBRX_MOVE_MANY_MAX_DESTINATIONS * sizeof *dst);
  if (dst == NULL) return dbr_err_static(DBR_ERR_NOMEMORY, "out of memory checking a move-many"), DB_TAG_ERROR;
  int nd = dbr_name_list("destination", destinations, dst, DBRX_MOVE_MANY_MAX_DESTINATIONS);
  free(dst);
  if (nd < 0) return DB_TAG_ERROR;
  dbr_req_t *req = new_req(DBR_OP_MOVE_MANY, be, h, sources, NULL, destinations);
  if (req == NULL) return DB_TAG_ERROR;
  req->flags = DBR_FLAGS_NOWAIT;
  return start_queued(req, q, h);
}

DBR_Tag_t dbrxPopPutManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *packed, int64_t len)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  int64_t count;
  if (dbr_steps_check(packed, len, &count) != DBR_SUCCESS) return DB_TAG_ERROR;
  dbr_req_t *req = new_put_req(DBR_OP_POP_PUT_MANY, be, h, NULL, NULL, packed, len);
  return req ? start_queued(req, q, h) : DB_TAG_ERROR;
}

/* Validates a move-value and builds its request (holding both handles; NULL on error, handles released). */
static dbr_req_t *move_value_req(DBR_Handle_t src, const char *src_name, DBR_Handle_t dst, const char *dst_name,
                                 int *flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  int64_t deadline;
  if (check_name("source tuple name", src_name) != DBR_SUCCESS ||
      check_name("destination tuple name", dst_name) != DBR_SUCCESS || check_flags(*flags, 0) != DBR_SUCCESS ||
      deadline_of(timeout_ms, flags, &deadline) != DBR_SUCCESS)
    return NULL;
  handle_t *hd = handle_get(dst);
  if (hd == NULL) return NULL;
  dbr_req_t *req = new_req(DBR_OP_MOVE_VALUE, be, src, src_name, NULL, dst_name);
  if (req == NULL) {
    handle_put(dst);
    return NULL;
  }
  req->dst_ns = hd->ns;
  req->flags = *flags;
  req->deadline_ns = deadline;
  return req;
}

DBR_Tag_t dbrxMoveValueAsync(dbrx_queue_t *q, DBR_Handle_t src, const char *src_name, DBR_Handle_t dst,
                             const char *dst_name, int flags, int64_t timeout_ms)
{
  dbr_req_t *req = move_value_req(src, src_name, dst, dst_name, &flags, timeout_ms);
  if (req == NULL) return DB_TAG_ERROR;
  /* both handles are needed until submission: start_tagged releases them */
  DBR_Tag_t tag;
  if (q != NULL && (req->queue = dbr_queue_get(q)) == NULL) {
    handle_put(dst);
    handle_put(src);
    dbr_req_unref(req);
    return DB_TAG_ERROR;
  }
  req->keep_value = 1;
  tag = start_tagged(req, src, dst);
  return tag;
}

DBR_Errorcode_t dbrxMoveValue(DBR_Handle_t src, const char *src_name, DBR_Handle_t dst, const char *dst_name,
                              void *buf, int64_t *size, int flags, int64_t timeout_ms)
{
  if (!(buf == NULL && size == NULL)) {
    DBR_Errorcode_t rc = check_buffer(buf, size);
    if (rc != DBR_SUCCESS) return rc;
  }
  dbr_req_t *req = move_value_req(src, src_name, dst, dst_name, &flags, timeout_ms);
  if (req == NULL) return dbr_err_code();
  int64_t capacity = size ? *size : -1;
  req->capacity = capacity;
  req->user_buf = buf;
  req->user_size = size;
  dbr_req_submit_sync(req);
  handle_put(dst);
  handle_put(src);
  DBR_Errorcode_t rc = outcome(req, dbr_req_wait(req), capacity);
  dbr_req_unref(req);
  return rc;
}

DBR_Errorcode_t dbrxCount(DBR_Handle_t h, const char *name, int64_t *count)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  if (count == NULL) return dbr_err_static(DBR_ERR_INVALID, "count is NULL; pass an int64_t to fill");
  DBR_Errorcode_t rc = check_name("tuple name", name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  rc = be->count(be, hd->ns, name, count);
  handle_put(h);
  return rc;
}

DBR_Errorcode_t dbrxStat(DBR_Handle_t h, dbrx_stat_t *st)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  if (st == NULL) return dbr_err_static(DBR_ERR_INVALID, "st is NULL; pass a dbrx_stat_t to fill");
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  memset(st, 0, sizeof *st);
  DBR_Errorcode_t rc = be->ns_stat(be, hd->ns, st);
  handle_put(h);
  return rc;
}

DBR_Errorcode_t dbrxNamespaceName(DBR_Handle_t h, char *buf, size_t size)
{
  if (buf == NULL) return dbr_err_static(DBR_ERR_INVALID, "buf is NULL; pass DBR_MAX_KEY_LEN + 1 bytes");
  handle_t *hd = handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  DBR_Errorcode_t rc = DBR_SUCCESS;
  if (hd->name_len + 1 > size) {
    rc = dbr_err(DBR_ERR_UBUFFER, "the namespace name needs %zu bytes but buf holds %zu", hd->name_len + 1, size);
  } else {
    memcpy(buf, hd->name, hd->name_len + 1);
  }
  handle_put(h);
  return rc;
}
