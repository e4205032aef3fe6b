/*
 * How many of this process's live handles are attached to each namespace, by name.
 *
 * dbrDelete takes no handle, so the backend cannot tell whether the caller is one of the attached clients.
 * The reference implementation deletes at once whenever at most one client is attached, assuming it is the
 * caller: a process holding no handle then deletes a namespace under the one client using it. With this
 * count the backend takes the caller for an attached client only if it holds a handle on the namespace.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "hashmap.h"
#include "util.h"

typedef struct {
  htab_ent_t ent; /* first: entries are found by their htab_ent_t */
  int count;
  char name[];
} attached_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static htab_t g_table;
static int g_ready;

static attached_t *find_locked(const char *name, size_t len, uint64_t hash)
{
  return g_ready ? (attached_t *)htab_find(&g_table, name, len, hash) : NULL;
}

int api_attached_add(const char *name, size_t len)
{
  uint64_t hash = dbr_hash(name, len);
  pthread_mutex_lock(&g_mu);
  attached_t *a = find_locked(name, len, hash);
  if (a == NULL) {
    if (!g_ready && htab_init(&g_table, 16) == 0) g_ready = 1;
    a = g_ready ? malloc(sizeof *a + len + 1) : NULL;
    if (a == NULL) {
      pthread_mutex_unlock(&g_mu);
      return -1;
    }
    memcpy(a->name, name, len + 1);
    a->count = 0;
    a->ent.hash = hash;
    a->ent.key = a->name;
    a->ent.klen = len;
    htab_insert(&g_table, &a->ent);
  }
  a->count++;
  pthread_mutex_unlock(&g_mu);
  return 0;
}

void api_attached_remove(const char *name, size_t len)
{
  pthread_mutex_lock(&g_mu);
  attached_t *a = find_locked(name, len, dbr_hash(name, len));
  if (a != NULL && --a->count == 0) {
    htab_remove(&g_table, &a->ent, 1);
    free(a);
  }
  pthread_mutex_unlock(&g_mu);
}

int api_attached_count(const char *name)
{
  size_t len = strlen(name);
  pthread_mutex_lock(&g_mu);
  attached_t *a = find_locked(name, len, dbr_hash(name, len));
  int n = a ? a->count : 0;
  pthread_mutex_unlock(&g_mu);
  return n;
}
