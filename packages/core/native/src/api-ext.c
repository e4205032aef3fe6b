/*
 * The public API: the dbrx extensions of libdbr_ext.h (asynchronous requests on completion queues, batches,
 * counts and stats). Argument checks and handles are shared with api.c (api-internal.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "backend.h"
#include "batch.h"
#include "libdatabroker.h"
#include "libdbr_ext.h"
#include "log.h"
#include "queue.h"
#include "reg.h"
#include "request.h"
#include "util.h"

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
  return api_start_tagged(req, h, NULL);
}

static DBR_Tag_t read_get_async(dbr_op_t op, dbrx_queue_t *q, DBR_Handle_t h, const char *name,
                                const char *tmpl, int flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return DB_TAG_ERROR;
  const char *n, *t;
  int64_t deadline;
  if (api_check_flags(flags, op == DBR_OP_READ) != DBR_SUCCESS || api_pick_target(name, tmpl, &n, &t) != DBR_SUCCESS ||
      api_deadline_of(timeout_ms, &flags, &deadline) != DBR_SUCCESS)
    return DB_TAG_ERROR;
  dbr_req_t *req = api_new_req(op, be, h, n, t, NULL);
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
  if (api_check_value(buf, size) != DBR_SUCCESS || api_check_name("tuple name", name) != DBR_SUCCESS) return DB_TAG_ERROR;
  dbr_req_t *req = api_new_put_req(DBR_OP_PUT, be, h, name, NULL, buf, size);
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
  handle_t *hd = api_handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  rc = len == 0 ? DBR_SUCCESS : be->put_many(be, hd->ns, packed, len);
  handle_put(h);
  return rc;
}

/* Validates a pop-put and builds its request on handle h (holding the handle's reference). */
static dbr_req_t *new_pop_put_req(dbr_backend_t *be, DBR_Handle_t h, const char *pop_name, const char *put_name,
                                  const void *buf, int64_t size)
{
  if (api_check_value(buf, size) != DBR_SUCCESS || api_check_name("name to pop", pop_name) != DBR_SUCCESS ||
      api_check_name("name to put", put_name) != DBR_SUCCESS)
    return NULL;
  return api_new_put_req(DBR_OP_POP_PUT, be, h, pop_name, put_name, buf, size);
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
  dbr_req_t *req = api_new_put_req(DBR_OP_PUT_MANY, be, h, NULL, NULL, packed, len);
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
  dbr_req_t *req = api_new_req(DBR_OP_MOVE_MANY, be, h, sources, NULL, destinations);
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
  dbr_req_t *req = api_new_put_req(DBR_OP_POP_PUT_MANY, be, h, NULL, NULL, packed, len);
  return req ? start_queued(req, q, h) : DB_TAG_ERROR;
}

/* Validates a move-value and builds its request (holding both handles; NULL on error, handles released). */
static dbr_req_t *move_value_req(DBR_Handle_t src, const char *src_name, DBR_Handle_t dst, const char *dst_name,
                                 int *flags, int64_t timeout_ms)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return NULL;
  int64_t deadline;
  if (api_check_name("source tuple name", src_name) != DBR_SUCCESS ||
      api_check_name("destination tuple name", dst_name) != DBR_SUCCESS || api_check_flags(*flags, 0) != DBR_SUCCESS ||
      api_deadline_of(timeout_ms, flags, &deadline) != DBR_SUCCESS)
    return NULL;
  handle_t *hd = api_handle_get(dst);
  if (hd == NULL) return NULL;
  dbr_req_t *req = api_new_req(DBR_OP_MOVE_VALUE, be, src, src_name, NULL, dst_name);
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
  tag = api_start_tagged(req, src, dst);
  return tag;
}

DBR_Errorcode_t dbrxMoveValue(DBR_Handle_t src, const char *src_name, DBR_Handle_t dst, const char *dst_name,
                              void *buf, int64_t *size, int flags, int64_t timeout_ms)
{
  if (!(buf == NULL && size == NULL)) {
    DBR_Errorcode_t rc = api_check_buffer(buf, size);
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
  DBR_Errorcode_t rc = api_outcome(req, dbr_req_wait(req), capacity);
  dbr_req_unref(req);
  return rc;
}

DBR_Errorcode_t dbrxCount(DBR_Handle_t h, const char *name, int64_t *count)
{
  dbr_backend_t *be = backend();
  if (be == NULL) return dbr_err_code();
  if (count == NULL) return dbr_err_static(DBR_ERR_INVALID, "count is NULL; pass an int64_t to fill");
  DBR_Errorcode_t rc = api_check_name("tuple name", name);
  if (rc != DBR_SUCCESS) return rc;
  handle_t *hd = api_handle_get(h);
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
  handle_t *hd = api_handle_get(h);
  if (hd == NULL) return DBR_ERR_HANDLE;
  memset(st, 0, sizeof *st);
  DBR_Errorcode_t rc = be->ns_stat(be, hd->ns, st);
  handle_put(h);
  return rc;
}

DBR_Errorcode_t dbrxNamespaceName(DBR_Handle_t h, char *buf, size_t size)
{
  if (buf == NULL) return dbr_err_static(DBR_ERR_INVALID, "buf is NULL; pass DBR_MAX_KEY_LEN + 1 bytes");
  handle_t *hd = api_handle_get(h);
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
