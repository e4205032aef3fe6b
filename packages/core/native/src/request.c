/*
 * Requests: lifetime, completion, synchronous waits and the timer thread. See request.h; the tag table is in
 * request-tags.c.
 *
 * Completion publishes a request's outcome in one of three ways, chosen by whoever created it:
 *   - copy into the caller's buffer (user_buf/user_size: dbrGetA/dbrReadA and synchronous calls);
 *   - keep the library-owned value for dbrxTake (keep_value: dbrx*Async);
 *   - then notify: post the tag to its queue, signal the synchronous waiter, or just set `finished`.
 * `finished` is set only after the outcome is in place, so dbrTest/dbrxTake never see half a result.
 *
 * Deadlines: a synchronous caller waits on its own condition variable with a CLOCK_MONOTONIC deadline.
 * Asynchronous requests with a deadline go on one min-heap served by one timer thread, started on first use;
 * a request leaves the heap when it completes, so the heap only holds pending requests.
 */
#include "request.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "queue.h"
#include "util.h"

int64_t dbr_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void timer_disarm(dbr_req_t *req);

/* ---- lifetime ---- */

/*
 * Requests are made, and mostly freed (when their completion is taken), in the application's thread, tens at
 * a time: more than glibc's per-thread cache keeps of one size (7), so most took malloc's slow path. Each
 * thread keeps up to REQ_CACHE_MAX blocks of one size for the requests whose strings fit. Off under
 * AddressSanitizer, which must see each request's own allocation.
 */
#if defined(__SANITIZE_ADDRESS__)
#define REQ_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REQ_CACHE 0
#endif
#endif
#ifndef REQ_CACHE
#define REQ_CACHE 1
#endif
#define REQ_BLOCK_STRINGS 224
#define REQ_CACHE_MAX 256

typedef struct req_block {
  struct req_block *next;
} req_block_t;

static __thread req_block_t *req_cache;
static __thread int req_cached, req_cache_registered;
static pthread_key_t req_cache_key;
static int req_cache_key_ok; /* set once by req_cache_key_init */
static pthread_once_t req_cache_once = PTHREAD_ONCE_INIT;

/* A thread that exits frees its cache (its key's destructor). */
static void req_cache_drop(void *unused)
{
  (void)unused;
  while (req_cache) {
    req_block_t *b = req_cache;
    req_cache = b->next;
    free(b);
  }
  req_cached = 0;
}

static void req_cache_key_init(void)
{
  req_cache_key_ok = pthread_key_create(&req_cache_key, req_cache_drop) == 0;
}

static dbr_req_t *req_alloc(size_t strings, int *pooled)
{
  *pooled = REQ_CACHE && strings <= REQ_BLOCK_STRINGS;
  if (!*pooled) return malloc(sizeof(dbr_req_t) + strings);
  req_block_t *b = req_cache;
  if (b == NULL) return malloc(sizeof(dbr_req_t) + REQ_BLOCK_STRINGS);
  req_cache = b->next;
  req_cached--;
  return (dbr_req_t *)(void *)b;
}

static void req_free(dbr_req_t *req)
{
  if (req->pooled && req_cached < REQ_CACHE_MAX) {
    if (!req_cache_registered) {
      pthread_once(&req_cache_once, req_cache_key_init);
      if (!req_cache_key_ok || pthread_setspecific(req_cache_key, (void *)1) != 0) {
        free(req);
        return;
      }
      req_cache_registered = 1;
    }
    req_block_t *b = (req_block_t *)(void *)req;
    b->next = req_cache;
    req_cache = b;
    req_cached++;
    return;
  }
  free(req);
}

dbr_req_t *dbr_req_new(dbr_op_t op)
{
  return dbr_req_new_args(op, NULL, NULL, NULL);
}

dbr_req_t *dbr_req_new_args(dbr_op_t op, const char *name, const char *tmpl, const char *dst_name)
{
  size_t ln = name ? strlen(name) + 1 : 0, lt = tmpl ? strlen(tmpl) + 1 : 0;
  size_t ld = dst_name ? strlen(dst_name) + 1 : 0;
  int pooled;
  dbr_req_t *req = req_alloc(ln + lt + ld, &pooled);
  if (req == NULL) return NULL;
  memset(req, 0, sizeof *req);
  req->pooled = pooled;
  atomic_init(&req->refs, 1);
  atomic_init(&req->state, DBR_REQ_PENDING);
  atomic_init(&req->finished, 0);
  atomic_init(&req->armed, 0);
  req->op = op;
  req->deadline_ns = INT64_MAX;
  req->capacity = -1;
  req->timer_idx = -1;
  req->strings_inline = 1;
  char *p = (char *)(req + 1);
  if (name) {
    memcpy(p, name, ln);
    req->name = p;
    p += ln;
  }
  if (tmpl) {
    memcpy(p, tmpl, lt);
    req->tmpl = p;
    p += lt;
  }
  if (dst_name) {
    memcpy(p, dst_name, ld);
    req->dst_name = p;
  }
  return req;
}

void dbr_req_ref(dbr_req_t *req)
{
  atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
}

void dbr_req_unref(dbr_req_t *req)
{
  if (req == NULL) return;
  if (atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1) return;
  dbr_req_release_handles(req); /* held by a cork and never started */
  if (req->value.release) req->value.release(req->value.owner);
  if (req->backend_free) req->backend_free(req);
  if (req->queue) dbr_queue_unref(req->queue);
  free(req->errmsg);
  if (!req->strings_inline) {
    free(req->name);
    free(req->tmpl);
    free(req->dst_name);
  }
  req_free(req);
}

void dbr_req_release_handles(dbr_req_t *req)
{
  void (*release)(dbr_req_t *) = req->release_handles;
  req->release_handles = NULL;
  if (release) release(req);
}

void dbr_req_set_error(dbr_req_t *req, const char *msg)
{
  if (req->errmsg == NULL && msg != NULL && msg[0] != '\0') req->errmsg = strdup(msg);
}

/* ---- completion ---- */

static void publish(dbr_req_t *req)
{
  if (req->queue) {
    atomic_store_explicit(&req->finished, 1, memory_order_release);
    dbr_queue_post(req->queue, req);
  } else if (req->wait_mu) {
    /* The waiter checks `finished` under wait_mu, so setting it under the lock cannot lose the wakeup. */
    pthread_mutex_lock(req->wait_mu);
    atomic_store_explicit(&req->finished, 1, memory_order_release);
    pthread_cond_signal(req->wait_cv);
    pthread_mutex_unlock(req->wait_mu);
  } else {
    atomic_store_explicit(&req->finished, 1, memory_order_release);
  }
}

int dbr_req_complete(dbr_req_t *req, DBR_Errorcode_t status, const dbr_value_t *value, int64_t value_size)
{
  int expected = DBR_REQ_PENDING;
  if (!atomic_compare_exchange_strong(&req->state, &expected, DBR_REQ_DONE)) return 0;
  if (req->timed && atomic_load(&req->armed)) timer_disarm(req);
  req->status = status;
  req->value_size = value_size;
  if (req->keep_value) {
    if (value) {
      req->value = *value;
      req->has_value = 1;
    }
  } else {
    if (value) {
      if (req->user_size) {
        int64_t n = value->len;
        if (req->capacity >= 0 && n > req->capacity) n = req->capacity;
        if (n > 0) memcpy(req->user_buf, value->data, (size_t)n);
      }
      if (value->release) value->release(value->owner);
    }
    if (req->user_size && (status == DBR_SUCCESS || status == DBR_ERR_UBUFFER)) *req->user_size = value_size;
  }
  publish(req);
  return 1;
}

int dbr_req_withdraw(dbr_req_t *req, dbr_cancel_why_t why)
{
  if (atomic_load(&req->state) != DBR_REQ_PENDING) return 0;
  if (!req->be->cancel(req->be, req, why)) return 0;
  int expected = DBR_REQ_PENDING;
  if (!atomic_compare_exchange_strong(&req->state, &expected, DBR_REQ_CANCELLED)) return 0;
  if (req->timed && atomic_load(&req->armed)) timer_disarm(req);
  req->status = DBR_ERR_CANCELLED;
  atomic_store_explicit(&req->finished, 1, memory_order_release);
  return 1;
}

int dbr_req_withdraw_unstarted(dbr_req_t *req)
{
  int expected = DBR_REQ_PENDING;
  if (!atomic_compare_exchange_strong(&req->state, &expected, DBR_REQ_CANCELLED)) return 0;
  req->status = DBR_ERR_CANCELLED;
  atomic_store_explicit(&req->finished, 1, memory_order_release);
  return 1;
}

/* ---- synchronous waits ---- */

typedef struct {
  int ready;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} waiter_t;

static __thread waiter_t t_waiter;

static waiter_t *thread_waiter(void)
{
  waiter_t *w = &t_waiter;
  if (!w->ready) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->ready = 1;
  }
  return w;
}

static struct timespec to_timespec(int64_t ns)
{
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
  return ts;
}

void dbr_req_submit_sync(dbr_req_t *req)
{
  waiter_t *w = thread_waiter();
  req->wait_mu = &w->mu;
  req->wait_cv = &w->cv;
  req->be->submit(req->be, req);
}

DBR_Errorcode_t dbr_req_wait(dbr_req_t *req)
{
  if (atomic_load_explicit(&req->finished, memory_order_acquire)) return req->status;
  waiter_t *w = thread_waiter();

  int64_t deadline = req->deadline_ns;
  pthread_mutex_lock(&w->mu);
  while (!atomic_load_explicit(&req->finished, memory_order_acquire)) {
    if (deadline == INT64_MAX) {
      pthread_cond_wait(&w->cv, &w->mu);
      continue;
    }
    struct timespec ts = to_timespec(deadline);
    if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT) continue;
    if (atomic_load_explicit(&req->finished, memory_order_acquire)) break;
    /* Deadline passed: withdraw it, or else wait for the completion that is under way (with a value if a
     * pop on the wire took one, else with TIMEOUT). */
    deadline = INT64_MAX;
    pthread_mutex_unlock(&w->mu);
    if (req->be->cancel(req->be, req, DBR_CANCEL_TIMEOUT)) dbr_req_complete(req, DBR_ERR_TIMEOUT, NULL, 0);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return req->status;
}

/* ---- the timer ---- */

static pthread_mutex_t g_timer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_timer_cv;
static int g_timer_started;
/* When the timer thread wakes by itself (INT64_MAX: never). A new deadline wakes it only if earlier: requests
 * with the same timeout, one after another, would otherwise cost a thread wake-up each (each becomes the top
 * of the heap as the one before completes), and the thread may as well wake at a stale deadline and look. */
static int64_t g_timer_wakes_at = INT64_MAX;
static dbr_req_t **g_heap;
static size_t g_heap_n, g_heap_cap;

static void heap_set(size_t i, dbr_req_t *r)
{
  g_heap[i] = r;
  r->timer_idx = (int)i;
}

static void heap_up(size_t i)
{
  dbr_req_t *r = g_heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (g_heap[p]->deadline_ns <= r->deadline_ns) break;
    heap_set(i, g_heap[p]);
    i = p;
  }
  heap_set(i, r);
}

static void heap_down(size_t i)
{
  dbr_req_t *r = g_heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= g_heap_n) break;
    if (c + 1 < g_heap_n && g_heap[c + 1]->deadline_ns < g_heap[c]->deadline_ns) c++;
    if (g_heap[c]->deadline_ns >= r->deadline_ns) break;
    heap_set(i, g_heap[c]);
    i = c;
  }
  heap_set(i, r);
}

/* Removes heap entry i; the caller owns the heap's reference to it afterwards. */
static dbr_req_t *heap_remove(size_t i)
{
  dbr_req_t *r = g_heap[i];
  r->timer_idx = -1;
  g_heap_n--;
  if (i < g_heap_n) {
    heap_set(i, g_heap[g_heap_n]);
    heap_down(i);
    heap_up((size_t)g_heap[i]->timer_idx);
  }
  return r;
}

static void *timer_main(void *arg)
{
  (void)arg;
  pthread_setname_np(pthread_self(), "dbr-timer");
  pthread_mutex_lock(&g_timer_mu);
  for (;;) {
    if (g_heap_n == 0) {
      g_timer_wakes_at = INT64_MAX;
      pthread_cond_wait(&g_timer_cv, &g_timer_mu);
      continue;
    }
    dbr_req_t *top = g_heap[0];
    if (top->deadline_ns > dbr_now_ns()) {
      struct timespec ts = to_timespec(top->deadline_ns);
      g_timer_wakes_at = top->deadline_ns;
      pthread_cond_timedwait(&g_timer_cv, &g_timer_mu, &ts);
      g_timer_wakes_at = INT64_MIN; /* awake: a signal now would find nobody waiting */
      continue;
    }
    heap_remove(0);
    pthread_mutex_unlock(&g_timer_mu);
    if (atomic_load(&top->state) == DBR_REQ_PENDING && top->be->cancel(top->be, top, DBR_CANCEL_TIMEOUT))
      dbr_req_complete(top, DBR_ERR_TIMEOUT, NULL, 0);
    dbr_req_unref(top);
    pthread_mutex_lock(&g_timer_mu);
  }
  return NULL;
}

static int timer_start_locked(void)
{
  if (g_timer_started) return 0;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&g_timer_cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&ta, 256 * 1024);
  pthread_t th;
  int rc = pthread_create(&th, &ta, timer_main, NULL);
  pthread_attr_destroy(&ta);
  if (rc != 0) {
    pthread_cond_destroy(&g_timer_cv);
    return -1;
  }
  g_timer_started = 1;
  return 0;
}

/* Puts a pending request on the heap. Returns -1 if the timer cannot run (no memory, no thread). */
static int timer_arm(dbr_req_t *req)
{
  pthread_mutex_lock(&g_timer_mu);
  /* armed before state is read (both sequentially consistent): either this sees the completion and does not
   * push, or the completion sees armed and removes the entry under this lock. No stale entries. */
  atomic_store(&req->armed, 1);
  if (atomic_load(&req->state) != DBR_REQ_PENDING) { /* completed already: nothing to time */
    pthread_mutex_unlock(&g_timer_mu);
    return 0;
  }
  if (timer_start_locked() != 0) goto fail;
  if (g_heap_n == g_heap_cap) {
    size_t ncap = g_heap_cap ? g_heap_cap * 2 : 64;
    dbr_req_t **nh = realloc(g_heap, ncap * sizeof *nh);
    if (nh == NULL) goto fail;
    g_heap = nh;
    g_heap_cap = ncap;
  }
  dbr_req_ref(req);
  g_heap[g_heap_n] = req;
  req->timer_idx = (int)g_heap_n;
  g_heap_n++;
  heap_up(g_heap_n - 1);
  if (req->timer_idx == 0 && req->deadline_ns < g_timer_wakes_at) pthread_cond_signal(&g_timer_cv);
  pthread_mutex_unlock(&g_timer_mu);
  return 0;
fail:
  pthread_mutex_unlock(&g_timer_mu);
  return -1;
}

static void timer_disarm(dbr_req_t *req)
{
  dbr_req_t *removed = NULL;
  pthread_mutex_lock(&g_timer_mu);
  if (req->timer_idx >= 0) removed = heap_remove((size_t)req->timer_idx);
  pthread_mutex_unlock(&g_timer_mu);
  if (removed) dbr_req_unref(removed);
}

void dbr_req_start(dbr_req_t *req)
{
  req->timed = req->deadline_ns != INT64_MAX;
  req->be->submit(req->be, req);
  if (req->timed && timer_arm(req) != 0) {
    DBR_LOG(DBR_LOG_ERROR, "cannot start the timer thread or grow its heap: request %lld will not time out",
            (long long)req->tag);
  }
}
