/*
 * Completion queues: a mutex, a FIFO of completed requests, and a non-blocking pipe.
 *
 * Wakeup protocol (no lost wakeups, no busy loops):
 *   - post: under the lock, append; if the list was empty, write one byte to the pipe;
 *   - drain: under the lock, move up to max tags out; if the list is now empty, read the pipe dry, else write
 *     one more byte so that the owner wakes again for the rest.
 * So whenever the list is non-empty, a byte is in the pipe or about to be, and an owner that waits for the
 * pipe to become readable and then drains until drain returns less than max never sleeps on a pending tag.
 *
 * The owner watches a dup of the read end (dbrxQueueFd); drain reads the queue's own copy. So an owner whose
 * event loop closes the fd it watched (Node's net.Socket does on destroy) cannot make drain read another fd.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reg.h"
#include "util.h"

struct dbr_queue {
  atomic_int refs;
  pthread_mutex_t mu;
  int rfd, wfd; /* the pipe; rfd is read only by drain */
  int pubfd;    /* dup of rfd handed to the owner (dbrxQueueFd), so drain never reads an fd the owner closed */
  dev_t dev;    /* identity of the pipe, to close pubfd only while it still is that pipe */
  ino_t ino;
  int closed;
  dbr_req_t *head, *tail; /* completed requests not yet drained (each holds a reference) */
  int corked;             /* dbrxQueueCork: new requests wait in held until uncorked */
  dbr_req_t *held_head, *held_tail; /* each holds a reference */
  int nheld;
};

/* A cork holds at most this many requests, then starts them and holds the next ones. Holding a whole burst
 * until the uncork makes the I/O thread build, send and parse it in series; chunks overlap those stages with
 * the caller still submitting, and still save most wake-ups. Measured on Redis with 32 gets in flight from C
 * (2 cores): whole-burst cork 0.75x of no cork, chunks of 4-16 0.95-1.03x; from TS, chunks of 16 beat 8,
 * 24, 32 and whole bursts by 5-15% on gets and puts (a later P1 re-run put 8 and 32 within its noise). */
#define CORK_CHUNK 16

static dbr_req_t *take_held(struct dbr_queue *q);
static void start_burst(dbr_req_t *list);

static reg_t g_queues = REG_INITIALIZER(REG_KIND_QUEUE);

void dbr_queue_ref(struct dbr_queue *q)
{
  atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
}

void dbr_queue_unref(struct dbr_queue *q)
{
  if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1) return;
  pthread_mutex_destroy(&q->mu);
  free(q);
}

int dbr_queue_closed(struct dbr_queue *q)
{
  pthread_mutex_lock(&q->mu);
  int c = q->closed;
  pthread_mutex_unlock(&q->mu);
  return c;
}

struct dbr_queue *dbr_queue_get(dbrx_queue_t *id)
{
  struct dbr_queue *q = reg_acquire(&g_queues, (uintptr_t)id);
  if (q == NULL) {
    dbr_err(DBR_ERR_INVALID, "queue %p is not open (never returned by dbrxQueueOpen, or already closed)",
            (void *)id);
    return NULL;
  }
  dbr_queue_ref(q);
  void *dead = reg_release(&g_queues, (uintptr_t)id);
  if (dead) dbr_queue_unref(dead);
  return q;
}

static void wake(struct dbr_queue *q)
{
  char b = 1;
  ssize_t rc;
  do rc = write(q->wfd, &b, 1);
  while (rc < 0 && errno == EINTR);
  /* EAGAIN: the pipe is full, so the owner has bytes to read anyway */
}

/* Wake-ups held back by this thread (dbr_queue_hold_wakes): the queues to wake at the release, with a reference. */
#define HELD_WAKES 8
static __thread struct {
  int on, n;
  struct dbr_queue *qs[HELD_WAKES];
} tls_wakes;

/* Queue lock held. Keeps q's wake-up for the release, unless the list is full; 1 if kept. */
static int hold_wake(struct dbr_queue *q)
{
  if (!tls_wakes.on) return 0;
  for (int i = 0; i < tls_wakes.n; i++)
    if (tls_wakes.qs[i] == q) return 1;
  if (tls_wakes.n == HELD_WAKES) return 0;
  dbr_queue_ref(q);
  tls_wakes.qs[tls_wakes.n++] = q;
  return 1;
}

void dbr_queue_hold_wakes(void)
{
  tls_wakes.on = 1;
}

void dbr_queue_release_wakes(void)
{
  tls_wakes.on = 0;
  for (int i = 0; i < tls_wakes.n; i++) {
    struct dbr_queue *q = tls_wakes.qs[i];
    pthread_mutex_lock(&q->mu);
    if (!q->closed) wake(q);
    pthread_mutex_unlock(&q->mu);
    dbr_queue_unref(q);
  }
  tls_wakes.n = 0;
}

void dbr_queue_post(struct dbr_queue *q, dbr_req_t *req)
{
  pthread_mutex_lock(&q->mu);
  if (q->closed) {
    pthread_mutex_unlock(&q->mu);
    dbr_tag_drop(req->tag); /* nobody will collect it */
    return;
  }
  dbr_req_ref(req);
  req->q_next = NULL;
  int was_empty = q->head == NULL;
  if (q->tail)
    q->tail->q_next = req;
  else
    q->head = req;
  q->tail = req;
  if (was_empty && !hold_wake(q)) wake(q);
  pthread_mutex_unlock(&q->mu);
}

/* ---- queues die with the thread that opened them ----
 * An event loop's thread may end without closing its queue (a Node worker_thread that is terminated). Its
 * pending requests would then wait forever for a consumer that is gone, and a get or move-value among them
 * would still take values for nobody. So each thread keeps the ids of the queues it opened, and a
 * thread-exit destructor closes those still open (closing cancels their pending requests). */

typedef struct {
  uintptr_t *ids;
  int n, cap;
} thread_queues_t;

static pthread_key_t g_thread_queues;
static pthread_once_t g_thread_queues_once = PTHREAD_ONCE_INIT;

static void close_thread_queues(void *arg)
{
  thread_queues_t *tq = arg;
  for (int i = 0; i < tq->n; i++) dbrxQueueClose((dbrx_queue_t *)tq->ids[i]); /* INVALID if closed already */
  free(tq->ids);
  free(tq);
}

static void thread_queues_init(void)
{
  pthread_key_create(&g_thread_queues, close_thread_queues);
}

static void remember_queue(uintptr_t id)
{
  pthread_once(&g_thread_queues_once, thread_queues_init);
  thread_queues_t *tq = pthread_getspecific(g_thread_queues);
  if (tq == NULL) {
    tq = calloc(1, sizeof *tq);
    if (tq == NULL || pthread_setspecific(g_thread_queues, tq) != 0) {
      free(tq);
      return; /* best effort: the queue still works, it just is not closed at thread exit */
    }
  }
  if (tq->n == tq->cap) {
    int cap = tq->cap ? tq->cap * 2 : 4;
    uintptr_t *ids = realloc(tq->ids, (size_t)cap * sizeof *ids);
    if (ids == NULL) return;
    tq->ids = ids;
    tq->cap = cap;
  }
  tq->ids[tq->n++] = id;
}

static void forget_queue(uintptr_t id)
{
  pthread_once(&g_thread_queues_once, thread_queues_init);
  thread_queues_t *tq = pthread_getspecific(g_thread_queues);
  if (tq == NULL) return;
  for (int i = 0; i < tq->n; i++)
    if (tq->ids[i] == id) {
      tq->ids[i] = tq->ids[--tq->n];
      return;
    }
}

dbrx_queue_t *dbrxQueueOpen(void)
{
  struct dbr_queue *q = calloc(1, sizeof *q);
  if (q == NULL) {
    dbr_err(DBR_ERR_NOMEMORY, "out of memory allocating a completion queue");
    return NULL;
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    int e = errno;
    free(q);
    dbr_err(DBR_ERR_GENERIC, "cannot create the queue's pipe: %s; close unused queues or raise the fd limit",
            strerror(e));
    return NULL;
  }
  struct stat st;
  int pub = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
  if (pub < 0 || fstat(fds[0], &st) != 0) {
    int e = errno;
    if (pub >= 0) close(pub);
    close(fds[0]);
    close(fds[1]);
    free(q);
    dbr_err(DBR_ERR_GENERIC, "cannot set up the queue's pipe: %s; close unused queues or raise the fd limit",
            strerror(e));
    return NULL;
  }
  atomic_init(&q->refs, 1); /* the registry's */
  pthread_mutex_init(&q->mu, NULL);
  q->rfd = fds[0];
  q->wfd = fds[1];
  q->pubfd = pub;
  q->dev = st.st_dev;
  q->ino = st.st_ino;
  uintptr_t id = reg_add(&g_queues, q);
  if (id == 0) {
    close(pub);
    close(fds[0]);
    close(fds[1]);
    dbr_queue_unref(q);
    dbr_err(DBR_ERR_NOMEMORY, "too many open queues (or out of memory); close queues you no longer use");
    return NULL;
  }
  remember_queue(id);
  return (dbrx_queue_t *)id;
}

int dbrxQueueFd(dbrx_queue_t *id)
{
  struct dbr_queue *q = dbr_queue_get(id);
  if (q == NULL) return -1;
  pthread_mutex_lock(&q->mu);
  int fd = q->closed ? -1 : q->pubfd;
  pthread_mutex_unlock(&q->mu);
  dbr_queue_unref(q);
  return fd;
}

int dbrxQueueDrain(dbrx_queue_t *id, DBR_Tag_t *tags, int max)
{
  if (max < 0 || (tags == NULL && max > 0)) {
    dbr_err(DBR_ERR_INVALID, "dbrxQueueDrain needs a tags array of max >= 0 entries (got tags=%p, max=%d)",
            (void *)tags, max);
    return -1;
  }
  struct dbr_queue *q = dbr_queue_get(id);
  if (q == NULL) return -1;
  dbr_req_t *taken = NULL;
  int n = 0;
  pthread_mutex_lock(&q->mu);
  while (n < max && q->head) {
    dbr_req_t *r = q->head;
    q->head = r->q_next;
    if (q->head == NULL) q->tail = NULL;
    tags[n++] = r->tag;
    r->q_next = taken;
    taken = r;
  }
  if (!q->closed) {
    if (q->head == NULL) {
      char buf[64];
      ssize_t rc;
      do rc = read(q->rfd, buf, sizeof buf);
      while (rc > 0 || (rc < 0 && errno == EINTR));
    } else if (n > 0) {
      wake(q);
    }
  }
  pthread_mutex_unlock(&q->mu);
  while (taken) {
    dbr_req_t *next = taken->q_next;
    dbr_req_unref(taken);
    taken = next;
  }
  dbr_queue_unref(q);
  return n;
}

int dbr_queue_hold(struct dbr_queue *q, dbr_req_t *req)
{
  pthread_mutex_lock(&q->mu);
  int hold = q->corked && !q->closed;
  dbr_req_t *full = NULL;
  if (hold) {
    dbr_req_ref(req);
    req->held = 1;
    req->held_next = NULL;
    if (q->held_tail)
      q->held_tail->held_next = req;
    else
      q->held_head = req;
    q->held_tail = req;
    if (++q->nheld >= CORK_CHUNK) full = take_held(q);
  }
  pthread_mutex_unlock(&q->mu);
  start_burst(full);
  return hold;
}

int dbr_queue_unhold(struct dbr_queue *q, dbr_req_t *req)
{
  pthread_mutex_lock(&q->mu);
  int was = req->held;
  if (was) {
    dbr_req_t **pp = &q->held_head, *prev = NULL;
    while (*pp != req) {
      prev = *pp;
      pp = &(*pp)->held_next;
    }
    *pp = req->held_next;
    if (q->held_tail == req) q->held_tail = prev;
    req->held = 0;
    q->nheld--;
  }
  pthread_mutex_unlock(&q->mu);
  if (was) dbr_req_unref(req);
  return was;
}

/* Detaches the held list (queue lock held), clearing each request's held flag. */
static dbr_req_t *take_held(struct dbr_queue *q)
{
  dbr_req_t *list = q->held_head;
  q->held_head = q->held_tail = NULL;
  q->nheld = 0;
  for (dbr_req_t *r = list; r; r = r->held_next) r->held = 0;
  return list;
}

/* Starts held requests (taken off their queue) as one burst, so a backend with an I/O thread sends them
 * together; then lets go of the handles they kept attached (a detach that this lets happen may itself call
 * the backend, so not inside the burst) and drops the references the queue held. */
static void start_burst(dbr_req_t *list)
{
  dbr_backend_t *be = list ? list->be : NULL;
  if (be && be->submit_burst) be->submit_burst(be, 1);
  for (dbr_req_t *r = list; r; r = r->held_next) dbr_req_start(r);
  if (be && be->submit_burst) be->submit_burst(be, 0);
  while (list) {
    dbr_req_t *next = list->held_next;
    dbr_req_release_handles(list);
    dbr_req_unref(list);
    list = next;
  }
}

DBR_Errorcode_t dbrxQueueCork(dbrx_queue_t *id, int corked)
{
  struct dbr_queue *q = dbr_queue_get(id);
  if (q == NULL) return DBR_ERR_INVALID;
  pthread_mutex_lock(&q->mu);
  q->corked = corked != 0;
  dbr_req_t *list = corked ? NULL : take_held(q);
  pthread_mutex_unlock(&q->mu);
  start_burst(list);
  dbr_queue_unref(q);
  return DBR_SUCCESS;
}

DBR_Errorcode_t dbrxQueueClose(dbrx_queue_t *id)
{
  forget_queue((uintptr_t)id);
  struct dbr_queue *q = dbr_queue_get(id);
  if (q == NULL) return DBR_ERR_INVALID;
  void *dead = NULL;
  if (reg_retire(&g_queues, (uintptr_t)id, &dead) != 0) { /* closed by another thread meanwhile */
    dbr_queue_unref(q);
    return dbr_err(DBR_ERR_INVALID, "queue %p is already closed", (void *)id);
  }
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  dbr_req_t *held = take_held(q);
  dbr_req_t *list = q->head;
  q->head = q->tail = NULL;
  /* An event loop may have closed pubfd already (Node's net.Socket closes its fd on destroy): close it only
   * while it is still this pipe. The write end is still open here, so no other pipe can have its inode. */
  struct stat st;
  if (fstat(q->pubfd, &st) == 0 && st.st_dev == q->dev && st.st_ino == q->ino) close(q->pubfd);
  close(q->rfd);
  close(q->wfd);
  q->rfd = q->wfd = q->pubfd = -1;
  pthread_mutex_unlock(&q->mu);
  while (list) {
    dbr_req_t *next = list->q_next;
    dbr_req_unref(list);
    list = next;
  }
  while (held) { /* never started: cancelled without the backend */
    dbr_req_t *next = held->held_next;
    dbr_req_withdraw_unstarted(held);
    dbr_req_unref(held);
    held = next;
  }

  /* Every tag still bound to the queue: withdraw it if pending, release it if completed. A request whose
   * completion is under way posts to the closed queue, which releases it. */
  dbr_req_t **reqs = NULL;
  long n = dbr_tag_collect_queue(q, &reqs);
  DBR_Errorcode_t rc = DBR_SUCCESS;
  if (n < 0) {
    rc = dbr_err(DBR_ERR_NOMEMORY, "out of memory while closing a queue: its pending requests stay pending");
    n = 0;
  }
  for (long i = 0; i < n; i++) {
    dbr_req_t *r = reqs[i];
    if (atomic_load_explicit(&r->finished, memory_order_acquire) || dbr_req_withdraw(r, DBR_CANCEL_ABANDON)) dbr_tag_drop(r->tag);
    dbr_req_unref(r);
  }
  free(reqs);
  if (dead) dbr_queue_unref(dead);
  dbr_queue_unref(q);
  return rc;
}
