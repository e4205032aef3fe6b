/*
 * The Redis backend's I/O thread. See redis-io.h.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "redis-io.h"

struct rio {
  pthread_t thread;
  int epfd, evfd;
  int stopping;

  pthread_mutex_t mu; /* guards posted */
  rio_task_t *posted, *posted_tail;
  /* Set while the loop is (about to be) blocked in epoll_wait: only then does a post write the eventfd. An
   * awake loop (working or spinning) takes posted tasks every round, and the write, a syscall on the
   * poster's thread for each burst, cost the application's thread an eighth of its time at 32 requests in
   * flight. The loop sets it, then looks at posted under mu; a poster appends under mu, then reads it: one
   * of them sees the other. */
  _Atomic int sleeping;

  rio_task_t *deferred, *deferred_tail; /* loop thread only */

  rio_timer_t *timers; /* loop thread only: the root of the pairing heap */
  size_t ntimers;

  char *scratch; /* read buffer shared by the loop's connections */
  int64_t spin_ns;
  _Atomic uint64_t rounds; /* epoll_wait returns, for tests */
  void (*round_begin)(void), (*round_end)(void);
};

#define RIO_SCRATCH (256 * 1024)

char *rio_scratch(rio_t *io, size_t *len)
{
  *len = RIO_SCRATCH;
  return io->scratch;
}

static __thread const rio_t *tls_loop;

int64_t rio_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t rio_rounds(rio_t *io)
{
  return atomic_load_explicit(&io->rounds, memory_order_relaxed);
}

int rio_in_loop(const rio_t *io)
{
  return tls_loop == io;
}

/* ---- timers: an intrusive pairing heap (arming never allocates, so it cannot fail) ---- */

static rio_timer_t *meld(rio_timer_t *a, rio_timer_t *b)
{
  if (!a) return b;
  if (!b) return a;
  if (b->when < a->when) {
    rio_timer_t *t = a;
    a = b;
    b = t;
  }
  /* b becomes a's first child */
  b->prev = a;
  b->next = a->child;
  if (a->child) a->child->prev = b;
  a->child = b;
  return a;
}

/* Melds a list of siblings in two passes (the pairing heap's delete-min step). */
static rio_timer_t *merge_pairs(rio_timer_t *first)
{
  rio_timer_t *paired = NULL;
  while (first) {
    rio_timer_t *a = first, *b = first->next;
    first = b ? b->next : NULL;
    a->next = a->prev = NULL;
    if (b) b->next = b->prev = NULL;
    rio_timer_t *m = meld(a, b);
    m->next = paired; /* a stack of pairs, melded right to left below */
    paired = m;
  }
  rio_timer_t *root = NULL;
  while (paired) {
    rio_timer_t *n = paired->next;
    paired->next = NULL;
    root = meld(root, paired);
    paired = n;
  }
  if (root) root->prev = NULL;
  return root;
}

void rio_timer_disarm(rio_t *io, rio_timer_t *t)
{
  if (!t->idx) return;
  t->idx = 0;
  if (t == io->timers) {
    io->timers = merge_pairs(t->child);
  } else {
    /* cut t's subtree out of its parent's child list */
    if (t->prev->child == t)
      t->prev->child = t->next;
    else
      t->prev->next = t->next;
    if (t->next) t->next->prev = t->prev;
    t->next = t->prev = NULL;
    io->timers = meld(io->timers, merge_pairs(t->child));
  }
  t->child = NULL;
  io->ntimers--;
}

void rio_timer_arm(rio_t *io, rio_timer_t *t, int64_t when_ns)
{
  if (t->idx) rio_timer_disarm(io, t);
  t->when = when_ns;
  t->child = t->next = t->prev = NULL;
  t->idx = 1;
  io->timers = meld(io->timers, t);
  io->ntimers++;
}

/* ---- tasks ---- */

/* This thread's held posts (rio_hold_posts): all for one loop; a post to another loop releases them first. */
static __thread struct {
  int on;
  rio_t *io;
  rio_task_t *head, *tail;
} tls_held;

static void post_list(rio_t *io, rio_task_t *head, rio_task_t *tail)
{
  pthread_mutex_lock(&io->mu);
  int was_empty = io->posted == NULL;
  if (io->posted_tail)
    io->posted_tail->next = head;
  else
    io->posted = head;
  io->posted_tail = tail;
  pthread_mutex_unlock(&io->mu);
  if (was_empty && atomic_load(&io->sleeping)) {
    uint64_t one = 1;
    ssize_t w;
    do {
      w = write(io->evfd, &one, sizeof one);
    } while (w < 0 && errno == EINTR);
  }
}

static void release_held(void)
{
  if (tls_held.head) post_list(tls_held.io, tls_held.head, tls_held.tail);
  tls_held.io = NULL;
  tls_held.head = tls_held.tail = NULL;
}

void rio_post(rio_t *io, rio_task_t *t)
{
  t->next = NULL;
  if (!tls_held.on || tls_loop != NULL) {
    post_list(io, t, t);
    return;
  }
  if (tls_held.io != io) release_held();
  tls_held.io = io;
  if (tls_held.tail)
    tls_held.tail->next = t;
  else
    tls_held.head = t;
  tls_held.tail = t;
}

void rio_hold_posts(void)
{
  tls_held.on = 1;
}

void rio_release_posts(void)
{
  tls_held.on = 0;
  release_held();
}

void rio_defer(rio_t *io, rio_task_t *t)
{
  t->next = NULL;
  if (io->deferred_tail)
    io->deferred_tail->next = t;
  else
    io->deferred = t;
  io->deferred_tail = t;
}

static void run_deferred(rio_t *io)
{
  while (io->deferred) {
    rio_task_t *t = io->deferred;
    io->deferred = t->next;
    if (!io->deferred) io->deferred_tail = NULL;
    t->fn(t);
  }
}

/* Runs the posted tasks; returns whether there were any. */
static int run_posted(rio_t *io)
{
  pthread_mutex_lock(&io->mu);
  rio_task_t *t = io->posted;
  io->posted = io->posted_tail = NULL;
  pthread_mutex_unlock(&io->mu);
  int any = t != NULL;
  while (t) {
    rio_task_t *n = t->next;
    t->fn(t);
    t = n;
  }
  run_deferred(io);
  return any;
}

static int has_posted(rio_t *io)
{
  pthread_mutex_lock(&io->mu);
  int any = io->posted != NULL;
  pthread_mutex_unlock(&io->mu);
  return any;
}

/* ---- watches ---- */

int rio_watch_add(rio_t *io, int fd, uint32_t events, rio_watch_t *w)
{
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(io->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int rio_watch_mod(rio_t *io, int fd, uint32_t events, rio_watch_t *w)
{
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(io->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void rio_watch_del(rio_t *io, int fd)
{
  struct epoll_event ev = {0};
  epoll_ctl(io->epfd, EPOLL_CTL_DEL, fd, &ev);
}

/* ---- the loop ---- */

static void *loop_main(void *arg)
{
  rio_t *io = arg;
  tls_loop = io;
  pthread_setname_np(pthread_self(), "dbr-io"); /* as top -H and gdb show it */
  struct epoll_event evs[64];
  int64_t spin_until = 0;
  while (!io->stopping) {
    int timeout = -1;
    if (io->deferred) {
      timeout = 0;
    } else if (io->timers) {
      int64_t d = io->timers->when - rio_now_ns();
      timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
      if (d > 0 && timeout > 60000) timeout = 60000;
    }
    /* Spinning a little after activity: the reply to what was just sent, or the application's next request,
     * usually comes within tens of microseconds, and taking it while awake skips a thread wake-up. On a VM
     * whose idle vCPUs halt, a wake-up costs 10-25 us each way (redis-benchmark's round trip here: 47 us
     * with both vCPUs idle, 15-23 us with one kept busy); an I/O thread that sleeps at once pays it on both
     * legs of every round trip. Idle waits (a blocked get with nothing coming) still sleep after the window. */
    int spinning = timeout != 0 && io->spin_ns > 0 && rio_now_ns() < spin_until;
    if (spinning) timeout = 0;
    if (timeout != 0) {
      atomic_store(&io->sleeping, 1);
      if (has_posted(io)) timeout = 0; /* posted before the flag was seen: no write is coming for it */
    }
    int n = epoll_wait(io->epfd, evs, 64, timeout);
    atomic_store_explicit(&io->sleeping, 0, memory_order_relaxed); /* at worst a poster writes once too often */
    atomic_fetch_add_explicit(&io->rounds, 1, memory_order_relaxed);
    if (io->round_begin) io->round_begin();
    int busy = run_posted(io) || n > 0;
    if (busy)
      spin_until = rio_now_ns() + io->spin_ns;
    else if (spinning)
      sched_yield(); /* a thread that has real work on this CPU runs first */
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL) {
        uint64_t v;
        ssize_t r;
        do { /* one read takes the whole count and resets it (not EFD_SEMAPHORE) */
          r = read(io->evfd, &v, sizeof v);
        } while (r < 0 && errno == EINTR);
        run_posted(io);
      } else {
        rio_watch_t *w = evs[i].data.ptr;
        w->fn(w, evs[i].events);
        run_deferred(io);
      }
    }
    int64_t now = rio_now_ns();
    while (io->timers && io->timers->when <= now && !io->stopping) {
      rio_timer_t *t = io->timers;
      rio_timer_disarm(io, t);
      t->fn(t);
      run_deferred(io);
    }
    run_deferred(io);
    if (io->round_end) io->round_end();
  }
  return NULL;
}

rio_t *rio_start(void (*round_begin)(void), void (*round_end)(void), int64_t spin_ns, char *err, size_t errlen)
{
  rio_t *io = calloc(1, sizeof *io);
  if (!io) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  io->round_begin = round_begin;
  io->round_end = round_end;
  io->spin_ns = spin_ns > 0 ? spin_ns : 0;
  io->scratch = malloc(RIO_SCRATCH);
  if (!io->scratch) {
    snprintf(err, errlen, "out of memory");
    free(io);
    return NULL;
  }
  io->epfd = epoll_create1(EPOLL_CLOEXEC);
  io->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->epfd < 0 || io->evfd < 0) {
    snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
    goto fail;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->evfd, &ev) != 0) {
    snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
    goto fail;
  }
  pthread_mutex_init(&io->mu, NULL);
  /* The loop thread must not take signals meant for the application. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&io->thread, NULL, loop_main, io);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    snprintf(err, errlen, "pthread_create: %s", strerror(rc));
    pthread_mutex_destroy(&io->mu);
    goto fail;
  }
  return io;
fail:
  if (io->epfd >= 0) close(io->epfd);
  if (io->evfd >= 0) close(io->evfd);
  free(io->scratch);
  free(io);
  return NULL;
}

typedef struct {
  rio_task_t task;
  rio_t *io;
} stop_msg_t;

static void set_stopping(rio_task_t *t)
{
  stop_msg_t *m = (stop_msg_t *)t;
  m->io->stopping = 1;
}

void rio_stop(rio_t *io)
{
  if (!io) return;
  stop_msg_t m = {.task = {.fn = set_stopping}, .io = io};
  rio_post(io, &m.task);
  pthread_join(io->thread, NULL);
  /* Whatever was posted after the stop message runs here, in the caller's thread. */
  const rio_t *saved = tls_loop;
  tls_loop = io;
  run_posted(io);
  run_deferred(io);
  tls_loop = saved;
  close(io->epfd);
  close(io->evfd);
  pthread_mutex_destroy(&io->mu);
  free(io->scratch);
  free(io);
}
