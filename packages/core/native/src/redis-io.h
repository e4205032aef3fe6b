/*
 * The Redis backend's I/O thread: one epoll loop that owns every Redis connection of the process.
 *
 * Other threads never touch connections: they hand work to the loop with rio_post() (an intrusive task,
 * so posting does not allocate) and, for synchronous calls, wait on their own condition variable. Inside
 * the loop: file descriptor watches, one-shot timers (a pairing heap) and deferred tasks (run after the
 * current event, which keeps callbacks from re-entering the code that triggered them).
 */
#ifndef LIBDBR_REDIS_IO_H_
#define LIBDBR_REDIS_IO_H_

#include <stddef.h>
#include <stdint.h>

typedef struct rio rio_t;

typedef struct rio_task {
  struct rio_task *next;
  void (*fn)(struct rio_task *t);
} rio_task_t;

typedef struct rio_timer {
  int64_t when;  /* CLOCK_MONOTONIC ns */
  int idx;       /* 1 while armed */
  void (*fn)(struct rio_timer *t);
  struct rio_timer *child, *next, *prev; /* pairing heap links (prev: parent or left sibling) */
} rio_timer_t;

/** A file descriptor watch; fn gets EPOLL* bits. The struct must stay put while registered. */
typedef struct rio_watch {
  void (*fn)(struct rio_watch *w, uint32_t events);
} rio_watch_t;

/** Starts the loop thread. NULL on failure (reason in err). round_begin and round_end (both may be NULL)
 *  bracket each round of events, timers and deferred tasks in the loop thread: the backend holds completion
 *  wake-ups back over a round. spin_ns > 0: after a round with events, the loop polls without sleeping for
 *  that long (yielding the CPU between polls) before it blocks again; 0 never spins. */
rio_t *rio_start(void (*round_begin)(void), void (*round_end)(void), int64_t spin_ns, char *err, size_t errlen);
/** How many times the loop has woken (returned from epoll_wait): lets tests see it spin, then sleep. */
uint64_t rio_rounds(rio_t *io);
/** Stops and joins the thread, then runs the tasks still posted (in the calling thread) and frees the loop.
 *  Timers and watches are simply forgotten: their owners clean up. */
void rio_stop(rio_t *io);

/** Any thread: runs t->fn(t) in the loop thread, in posting order. */
void rio_post(rio_t *io, rio_task_t *t);
/** Any thread but a loop's: while held, this thread's posts are kept back and rio_release_posts() hands them
 *  over together (one lock and one wake-up), so the loop sees a burst whole instead of racing to send it a
 *  request at a time. Holds do not nest. */
void rio_hold_posts(void);
void rio_release_posts(void);
/** Loop thread: runs t->fn(t) after the current callback returns. */
void rio_defer(rio_t *io, rio_task_t *t);
int rio_in_loop(const rio_t *io);

/** Loop thread only. */
int rio_watch_add(rio_t *io, int fd, uint32_t events, rio_watch_t *w);
int rio_watch_mod(rio_t *io, int fd, uint32_t events, rio_watch_t *w);
void rio_watch_del(rio_t *io, int fd);
void rio_timer_arm(rio_t *io, rio_timer_t *t, int64_t when_ns);
void rio_timer_disarm(rio_t *io, rio_timer_t *t);
static inline int rio_timer_armed(const rio_timer_t *t) { return t->idx != 0; }

int64_t rio_now_ns(void);
/** Loop thread: a scratch read buffer owned by the loop. */
char *rio_scratch(rio_t *io, size_t *len);

#endif /* LIBDBR_REDIS_IO_H_ */
