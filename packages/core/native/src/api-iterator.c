/*
 * The public API: iterators over a namespace's tuple names (dbrIterator, dbrxIteratorNextMany). Iterator
 * ids are registry ids, like handles (see api.c).
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
    if (api_check_template(tmpl) != DBR_SUCCESS) return NULL;
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
  handle_t *hd = api_handle_get(dbr_handle);
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
  handle_t *hd = api_handle_get(dbr_handle);
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
