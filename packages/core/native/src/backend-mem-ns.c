/*
 * The memory backend's namespaces: the process-wide table (name -> mem_ns) under g_mu, and create, attach,
 * detach, delete, stat and list. Deleting one fails its waiters and frees its values
 * (mem_ns_destroy_contents, backend-mem.c); its memory lives on while a handle, request or iterator holds it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "glob.h"
#include "hashmap.h"
#include "mem-backend.h"
#include "util.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static htab_t g_ns;
static uint64_t g_ns_seq;

static int g_init_done;

static int global_init_locked(void)
{
  if (g_init_done) return 0;
  if (htab_init(&g_ns, 16) != 0) return -1;
  g_init_done = 1;
  return 0;
}

/* g_mu held: the namespace of that name, or NULL. */
static mem_ns_t *find_locked(const char *name)
{
  size_t len = strlen(name);
  return g_init_done ? (mem_ns_t *)htab_find(&g_ns, name, len, dbr_hash(name, len)) : NULL;
}

DBR_Errorcode_t mem_ns_create(dbr_backend_t *be, const char *name, dbr_ns_t **out)
{
  (void)be;
  size_t len = strlen(name);
  uint64_t h = dbr_hash(name, len);
  pthread_mutex_lock(&g_mu);
  if (global_init_locked() != 0) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory creating namespace '%s'", name);
  }
  mem_ns_t *ns = (mem_ns_t *)htab_find(&g_ns, name, len, h);
  if (ns) {
    int pending = ns->delete_pending;
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_EXISTS, "namespace '%s' already exists%s; attach to it with dbrAttach", name,
                   pending ? " (its deletion is pending until its last client detaches)" : "");
  }
  ns = calloc(1, sizeof *ns + len + 1);
  if (ns == NULL || htab_init(&ns->tuples, 8) != 0) {
    free(ns);
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NOMEMORY, "out of memory creating namespace '%s'", name);
  }
  memcpy(ns->name, name, len);
  ns->ent.hash = h;
  ns->ent.key = ns->name;
  ns->ent.klen = len;
  pthread_mutex_init(&ns->mu, NULL);
  atomic_init(&ns->mrefs, 2); /* the table's and the creator's */
  ns->id = ++g_ns_seq;
  ns->refcnt = 1;
  ns->in_table = 1;
  htab_insert(&g_ns, &ns->ent);
  pthread_mutex_unlock(&g_mu);
  *out = DBR_NS(ns);
  return DBR_SUCCESS;
}

DBR_Errorcode_t mem_ns_attach(dbr_backend_t *be, const char *name, dbr_ns_t **out)
{
  (void)be;
  pthread_mutex_lock(&g_mu);
  mem_ns_t *ns = find_locked(name);
  if (ns == NULL) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist; create it first with dbrCreate", name);
  }
  if (ns->delete_pending) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NSINVAL,
                   "namespace '%s' is being deleted (pending until its last client detaches); use another name",
                   name);
  }
  ns->refcnt++;
  ns_ref(ns);
  pthread_mutex_unlock(&g_mu);
  *out = DBR_NS(ns);
  return DBR_SUCCESS;
}

DBR_Errorcode_t mem_ns_detach(dbr_backend_t *be, dbr_ns_t *h)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  int destroy = 0;
  pthread_mutex_lock(&g_mu);
  if (--ns->refcnt == 0 && ns->delete_pending && ns->in_table) {
    htab_remove(&g_ns, &ns->ent, 1);
    ns->in_table = 0;
    destroy = 1;
  }
  pthread_mutex_unlock(&g_mu);
  if (destroy) {
    mem_ns_destroy_contents(ns);
    ns_unref(ns); /* the table's */
  }
  ns_unref(ns);
  return DBR_SUCCESS;
}

DBR_Errorcode_t mem_ns_delete(dbr_backend_t *be, const char *name, int own)
{
  (void)be;
  pthread_mutex_lock(&g_mu);
  mem_ns_t *ns = find_locked(name);
  if (ns == NULL) {
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_UNAVAIL, "namespace '%s' does not exist (already deleted?)", name);
  }
  /* Every client of the embedded backend is in this process, so `own` counts them all: whether the caller
   * is one of them cannot be told, and, as in the Data Broker, one attached client is taken to be the caller. */
  (void)own;
  if (ns->refcnt > 1) {
    int n = ns->refcnt;
    ns->delete_pending = 1;
    pthread_mutex_unlock(&g_mu);
    return dbr_err(DBR_ERR_NSBUSY,
                   "namespace '%s' has %d attached clients; it will be deleted when the last one detaches", name,
                   n);
  }
  htab_remove(&g_ns, &ns->ent, 1);
  ns->in_table = 0;
  ns->delete_pending = 1;
  pthread_mutex_unlock(&g_mu);
  mem_ns_destroy_contents(ns);
  ns_unref(ns);
  return DBR_SUCCESS;
}

DBR_Errorcode_t mem_ns_stat(dbr_backend_t *be, dbr_ns_t *h, dbrx_stat_t *st)
{
  (void)be;
  mem_ns_t *ns = NS(h);
  pthread_mutex_lock(&g_mu);
  st->refcnt = ns->refcnt;
  st->flags = ns->delete_pending ? 1 : 0;
  pthread_mutex_unlock(&g_mu);
  pthread_mutex_lock(&ns->mu);
  int deleted = ns->deleted;
  st->names = ns->names;
  st->values = ns->values;
  st->bytes = ns->bytes;
  pthread_mutex_unlock(&ns->mu);
  if (deleted) return err_deleted(ns);
  return DBR_SUCCESS;
}

DBR_Errorcode_t mem_ns_list(dbr_backend_t *be, const char *pattern, dbr_name_sink_fn sink, void *ctx)
{
  (void)be;
  size_t plen = strlen(pattern);
  pthread_mutex_lock(&g_mu);
  if (g_init_done) {
    for (size_t i = 0; i <= g_ns.mask; i++)
      for (htab_ent_t *e = g_ns.b[i]; e; e = e->hnext)
        if (glob_match(pattern, plen, e->key, e->klen) && sink(ctx, e->key, e->klen)) goto out;
  }
out:
  pthread_mutex_unlock(&g_mu);
  return DBR_SUCCESS;
}
