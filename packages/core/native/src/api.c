/*
 * The public API, part one: the library state and handles every entry point shares (api-internal.h), and the
 * Data Broker v0.7 ABI of libdatabroker.h. The argument checks are in api-check.c, building and collecting
 * tagged requests in api-request.c, the iterators in api-iterator.c, the dbrx extensions of libdbr_ext.h in
 * api-ext.c.
 *
 * Every entry point validates all of its arguments, records a sentence for dbrxLastError() on failure, and
 * then dispatches to the backend. Handles, iterators and queues are registry ids (reg.h), never pointers, so
 * a NULL, forged, stale or detached one is reported, not dereferenced. Group arguments are ignored and never
 * dereferenced.
 */
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
#include "api-internal.h"


/* ---- library state: the backend (opened lazily) ---- */

dbr_backend_t *_Atomic g_be;
static pthread_mutex_t g_be_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_be_retry_at; /* after a failed open, the next attempt waits until then */
static DBR_Errorcode_t g_be_err;
static char g_be_msg[1024];

/*
 * The backend, opened on first use. Once opened it never changes. A failed open (say, Redis not up yet) is
 * reported to every call and retried at most once a second.
 */
dbr_backend_t *api_backend_slow(void)
{
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


/* ---- handles ---- */

reg_t g_handles = REG_INITIALIZER(REG_KIND_HANDLE);

handle_t *api_handle_get(DBR_Handle_t h)
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

DBR_Errorcode_t api_handle_destroy(handle_t *hd)
{
  dbr_backend_t *be = atomic_load(&g_be);
  api_attached_remove(hd->name, hd->name_len);
  DBR_Errorcode_t rc = be->ns_detach(be, hd->ns);
  free(hd);
  return rc;
}


static DBR_Handle_t handle_new(dbr_ns_t *ns, const char *name)
{
  size_t len = strlen(name);
  handle_t *hd = malloc(sizeof *hd + len + 1);
  uintptr_t id = 0;
  if (hd && api_attached_add(name, len) == 0) {
    hd->ns = ns;
    hd->name_len = len;
    memcpy(hd->name, name, len + 1);
    id = reg_add(&g_handles, hd);
    if (id == 0) api_attached_remove(name, len);
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

/* ---- management ---- */

DBR_Handle_t dbrCreate(DBR_Name_t db_name, DBR_Tuple_persist_level_t level, DBR_GroupList_t groups)
{
  (void)groups;
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  if (api_check_name("namespace name", db_name) != DBR_SUCCESS) return NULL;
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
  DBR_Errorcode_t rc = api_check_name("namespace name", db_name);
  if (rc != DBR_SUCCESS) return rc;
  return be->ns_delete(be, db_name, api_attached_count(db_name));
}

DBR_Handle_t dbrAttach(DBR_Name_t db_name)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  if (api_check_name("namespace name", db_name) != DBR_SUCCESS) return NULL;
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
  return dead ? api_handle_destroy(dead) : DBR_SUCCESS;
}

DBR_Errorcode_t dbrQuery(DBR_Handle_t dbr_handle, DBR_State_t *dbr_state, DBR_State_mask_t dbr_state_mask)
{
  (void)dbr_state_mask;
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  if (dbr_state == NULL) return dbr_err_static(DBR_ERR_INVALID, "dbr_state is NULL; pass a DBR_State_t to fill");
  handle_t *hd = api_handle_get(dbr_handle);
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
  handle_t *hd = api_handle_get(h);
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
  DBR_Errorcode_t rc = api_check_value(va_ptr, size);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = api_check_name("tuple name", tuple_name);
  if (DBR_UNLIKELY(rc != DBR_SUCCESS)) return rc;
  handle_t *hd = api_handle_get(dbr_handle);
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
  DBR_Errorcode_t rc = api_check_value(buf, size);
  if (rc == DBR_SUCCESS) rc = api_check_name("tuple name", name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = api_handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  *stored = 0;
  rc = be->put_if_absent(be, hd->ns, name, buf, size, stored);
  handle_put(h);
  return rc;
}

DBR_Tag_t dbrPutA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t size, DBR_Tuple_name_t tuple_name,
                  DBR_Group_t group)
{
  (void)group;
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  if (api_check_value(va_ptr, size) != DBR_SUCCESS || api_check_name("tuple name", tuple_name) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = api_new_put_req(DBR_OP_PUT, be, dbr_handle, tuple_name, NULL, va_ptr, size);
  return req ? api_start_tagged(req, dbr_handle, NULL) : DB_TAG_ERROR;
}

/* ---- data access: read / get ---- */

static DBR_Errorcode_t read_get(dbr_op_t op, DBR_Handle_t h, void *buf, int64_t *size, const char *name,
                                const char *tmpl, int flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (DBR_UNLIKELY(be == NULL)) return dbr_err_code();
  const char *n, *t;
  int64_t deadline;
  DBR_Errorcode_t rc = api_check_buffer(buf, size);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = api_check_flags(flags, op == DBR_OP_READ);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = api_pick_target(name, tmpl, &n, &t);
  if (DBR_LIKELY(rc == DBR_SUCCESS)) rc = api_deadline_of(timeout_ms, &flags, &deadline);
  if (DBR_UNLIKELY(rc != DBR_SUCCESS)) return rc;
  dbr_req_t *req = api_new_req(op, be, h, n, t, NULL);
  if (DBR_UNLIKELY(req == NULL)) return dbr_err_code();
  int64_t capacity = *size;
  req->flags = flags;
  req->deadline_ns = deadline;
  req->capacity = capacity;
  req->user_buf = buf;
  req->user_size = size;
  dbr_req_submit_sync(req);
  handle_put(h); /* a waiting request keeps what it needs; a detach need not wait for it */
  rc = api_outcome(req, dbr_req_wait(req), capacity);
  dbr_req_unref(req);
  return rc;
}

static DBR_Tag_t read_get_a(dbr_op_t op, DBR_Handle_t h, void *buf, int64_t *size, const char *name,
                            const char *tmpl)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  const char *n, *t;
  if (api_check_buffer(buf, size) != DBR_SUCCESS || api_pick_target(name, tmpl, &n, &t) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = api_new_req(op, be, h, n, t, NULL);
  if (DBR_UNLIKELY(req == NULL)) return DB_TAG_ERROR;
  req->deadline_ns = dbr_now_ns() + dbr_env_timeout_ns();
  req->capacity = *size;
  req->user_buf = buf;
  req->user_size = size;
  return api_start_tagged(req, h, NULL);
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
  DBR_Errorcode_t rc = api_check_name("tuple name", tuple_name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = api_handle_get(dbr_handle);
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
  return api_check_template(*tmpl);
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
  handle_t *hd = api_handle_get(dbr_handle);
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
  DBR_Errorcode_t rc = api_pick_target(tuple_name, match_template, &n, &t);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *src = api_handle_get(src_dbr_handle);
  if (src == NULL) return DBR_ERR_HANDLE;
  handle_t *dst = api_handle_get(dest_dbr_handle);
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
  DBR_Errorcode_t rc = api_pick_target(tuple_name, match_template, &n, &t);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = api_handle_get(dbr_handle);
  if (hd == NULL) return DBR_ERR_HANDLE;
  rc = be->remove(be, hd->ns, n, t);
  handle_put(dbr_handle);
  return rc;
}
