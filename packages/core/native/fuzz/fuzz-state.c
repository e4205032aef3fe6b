/*
 * What one input made, and releasing all of it when the input ends (so leaks show up per input). See
 * fuzz-api.h.
 */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-api.h"

DBR_Handle_t handles[MAXH];
int handle_live[MAXH];
DBR_Tag_t tags[MAXT];
int ntags;
DBR_Iterator_t iters[MAXI];
dbrx_queue_t *queues[MAXQ];
static char ns_names[MAXNS][1600];
static int n_ns;

void remember_ns(const char *name)
{
  if (name == NULL || n_ns >= MAXNS || strlen(name) >= sizeof ns_names[0]) return;
  for (int i = 0; i < n_ns; i++)
    if (strcmp(ns_names[i], name) == 0) return;
  strcpy(ns_names[n_ns++], name);
}

void put_handle(DBR_Handle_t h)
{
  if (h == NULL) return;
  for (int i = 0; i < MAXH; i++)
    if (!handle_live[i]) {
      handles[i] = h;
      handle_live[i] = 1;
      return;
    }
  dbrDetach(h);
}

/* Collects a tag whatever its state. A completion under way belongs to another thread (the timer's, say), which
 * a loaded machine may keep off the CPU for tens of milliseconds: spin a little, then sleep 1 ms a try, and
 * give up only after 10 s. */
static void release_tag(DBR_Tag_t t)
{
  if (dbrCancel(t) == DBR_SUCCESS) return;
  unsigned char big[4096];
  for (int i = 0; i < 1000 + 10000; i++) {
    int64_t size = sizeof big;
    DBR_Errorcode_t rc = dbrxTake(t, big, &size);
    if (rc == DBR_ERR_UBUFFER) {
      void *b = malloc((size_t)size);
      rc = dbrxTake(t, b, &size);
      free(b);
    }
    if (rc != DBR_ERR_INPROGRESS) return;
    if (i >= 1000) poll(NULL, 0, 1);
  }
  abort(); /* a completion that never comes */
}

void add_tag(DBR_Tag_t t)
{
  if (t == DB_TAG_ERROR) return;
  if (ntags == MAXT) {
    release_tag(tags[0]);
    memmove(tags, tags + 1, (MAXT - 1) * sizeof *tags);
    ntags--;
  }
  tags[ntags++] = t;
}

void cleanup(void)
{
  for (int i = 0; i < ntags; i++) release_tag(tags[i]);
  ntags = 0;
  for (int i = 0; i < MAXQ; i++) {
    if (queues[i]) dbrxQueueClose(queues[i]);
    queues[i] = NULL;
  }
  for (int i = 0; i < MAXI; i++) {
    if (iters[i]) dbrxIteratorFree(iters[i]);
    iters[i] = NULL;
  }
  for (int i = 0; i < MAXH; i++) {
    if (handle_live[i]) dbrDetach(handles[i]);
    handle_live[i] = 0;
    handles[i] = NULL;
  }
  for (int i = 0; i < n_ns; i++) dbrDelete(ns_names[i]);
  n_ns = 0;
  /* anything left (names the pool could not remember) is listed and deleted */
  char list[8192];
  int64_t ret = 0;
  if (dbrxNamespaces("*", 0, list, sizeof list, &ret) == DBR_SUCCESS && ret > 0) {
    char *save, *n = strtok_r(list, "\n", &save);
    while (n) {
      dbrDelete(n);
      n = strtok_r(NULL, "\n", &save);
    }
  }
}
