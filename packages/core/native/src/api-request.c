/*
 * The public API's tagged requests: building one on a handle (api_new_req, api_new_put_req), starting it
 * (api_start_tagged, which keeps the handles referenced until the backend has it), and collecting its outcome
 * (dbrTest, dbrCancel, dbrxTake, dbrxQueueDrainTake).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "libdatabroker.h"
#include "libdbr_ext.h"
#include "queue.h"
#include "reg.h"
#include "request.h"
#include "util.h"
#include "api-internal.h"

/* ---- building and starting ---- */

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
DBR_Tag_t api_start_tagged(dbr_req_t *req, DBR_Handle_t h, DBR_Handle_t h2)
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
dbr_req_t *api_new_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name, const char *tmpl,
                          const char *dst_name)
{
  handle_t *hd = api_handle_get(h);
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
dbr_req_t *api_new_put_req(dbr_op_t op, dbr_backend_t *be, DBR_Handle_t h, const char *name,
                              const char *dst_name, const void *buf, int64_t len)
{
  dbr_req_t *req = api_new_req(op, be, h, name, NULL, dst_name);
  if (DBR_UNLIKELY(req == NULL)) return NULL;
  req->in = buf;
  req->in_len = len;
  req->deadline_ns = dbr_now_ns() + dbr_env_timeout_ns();
  return req;
}

static DBR_Errorcode_t tag_error(DBR_Tag_t tag)
{
  return dbr_err(DBR_ERR_TAGERROR,
                 "tag %lld is unknown: never issued, already collected by dbrTest/dbrxTake, or cancelled",
                 (long long)tag);
}

/* ---- collecting: test, cancel, take ---- */

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
    api_outcome(req, rc, req->capacity);
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
  DBR_Errorcode_t rc = api_check_buffer(buf, size);
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
    api_outcome(req, rc, -1);
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
