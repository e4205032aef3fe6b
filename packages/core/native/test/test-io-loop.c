/*
 * The Redis backend's I/O loop (redis-io.c): its timers, checked against a brute-force model inside the loop,
 * and its spin after activity (timers still fire while it spins; it sleeps once the window has passed).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "redis-io.h"

/* The I/O loop's timers (an intrusive pairing heap), checked against a brute-force model inside the loop. */
typedef struct {
  rio_task_t task;
  rio_t *io;
  int errors, fired;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} timer_check_t;

static _Atomic int g_fired_idx, g_fire_disorder;
static int64_t g_last_fire;
static void note_fire(rio_timer_t *t)
{
  if (t->when < g_last_fire) g_fire_disorder++;
  g_last_fire = t->when;
  g_fired_idx++;
}

static void timer_check_task(rio_task_t *task)
{
  timer_check_t *tc = (timer_check_t *)task;
  enum { N = 300 };
  static rio_timer_t tm[N];
  static int64_t model[N]; /* -1: not armed */
  unsigned x = 12345;
  for (int i = 0; i < N; i++) {
    memset(&tm[i], 0, sizeof tm[i]);
    tm[i].fn = note_fire;
    model[i] = -1;
  }
  int64_t base = rio_now_ns() + 3600LL * 1000000000; /* far away: none fires meanwhile */
  for (int step = 0; step < 20000; step++) {
    x = x * 1103515245u + 12345u;
    int i = (int)((x >> 8) % N);
    if ((x >> 4) % 3) {
      int64_t when = base + (int64_t)((x >> 12) % 1000);
      rio_timer_arm(tc->io, &tm[i], when);
      model[i] = when;
    } else {
      rio_timer_disarm(tc->io, &tm[i]);
      model[i] = -1;
    }
    if (step % 97 == 0) {
      for (int k = 0; k < N; k++)
        if (rio_timer_armed(&tm[k]) != (model[k] >= 0)) tc->errors++;
    }
  }
  /* drain in order: each disarm of the minimum must give non-decreasing times */
  int64_t last = 0;
  for (;;) {
    int64_t best = -1;
    int bi = -1;
    for (int k = 0; k < N; k++)
      if (model[k] >= 0 && (best < 0 || model[k] < best)) best = model[k], bi = k;
    if (bi < 0) break;
    if (best < last) tc->errors++;
    last = best;
    rio_timer_disarm(tc->io, &tm[bi]);
    model[bi] = -1;
    tc->fired++;
  }
  /* due timers armed in random order fire in time order */
  int64_t now = rio_now_ns();
  for (int k = 0; k < N; k++) {
    x = x * 1103515245u + 12345u;
    rio_timer_arm(tc->io, &tm[k], now - 1000000 - (int64_t)((x >> 8) % 100000));
  }
  for (int k = 0; k < N; k += 3) rio_timer_disarm(tc->io, &tm[k]);
  pthread_mutex_lock(&tc->mu);
  tc->done = 1;
  pthread_cond_signal(&tc->cv);
  pthread_mutex_unlock(&tc->mu);
}

static void test_timers(void)
{
  char why[100];
  timer_check_t tc = {.task = {.fn = timer_check_task}};
  tc.io = rio_start(NULL, NULL, 0, why, sizeof why);
  CHECK(tc.io != NULL);
  if (!tc.io) return;
  pthread_mutex_init(&tc.mu, NULL);
  pthread_cond_init(&tc.cv, NULL);
  rio_post(tc.io, &tc.task);
  pthread_mutex_lock(&tc.mu);
  while (!tc.done) pthread_cond_wait(&tc.cv, &tc.mu);
  pthread_mutex_unlock(&tc.mu);
  CHECK_EQ(tc.errors, 0);
  CHECK(tc.fired > 0);
  for (int i = 0; i < 200 && g_fired_idx < 200; i++) usleep(5000);
  CHECK_EQ(g_fired_idx, 200); /* 300 armed, 100 disarmed */
  CHECK_EQ(g_fire_disorder, 0);
  rio_stop(tc.io);
  pthread_mutex_destroy(&tc.mu);
  pthread_cond_destroy(&tc.cv);
}

typedef struct {
  rio_task_t task;
  rio_timer_t timer;
  rio_t *io;
  int64_t due;
  _Atomic int fired_early, fired;
} spin_check_t;

static void spin_timer_fired(rio_timer_t *t)
{
  spin_check_t *sc = (spin_check_t *)((char *)t - offsetof(spin_check_t, timer));
  if (rio_now_ns() < sc->due) sc->fired_early = 1;
  sc->fired = 1;
}

static void spin_arm_task(rio_task_t *task)
{
  spin_check_t *sc = (spin_check_t *)task;
  sc->due = rio_now_ns() + 5 * 1000000LL;
  rio_timer_arm(sc->io, &sc->timer, sc->due);
}

/* A loop that spins after activity still fires its timers (not early), keeps polling through its window, and
 * then sleeps: no more rounds while nothing happens. */
static void test_spin(void)
{
  char why[100];
  spin_check_t sc = {.task = {.fn = spin_arm_task}, .timer = {.fn = spin_timer_fired}};
  const int64_t window_ns = 300 * 1000000LL;
  sc.io = rio_start(NULL, NULL, window_ns, why, sizeof why);
  CHECK(sc.io != NULL);
  if (!sc.io) return;
  int64_t posted_at = rio_now_ns();
  rio_post(sc.io, &sc.task);
  usleep(50 * 1000);
  uint64_t r0 = rio_rounds(sc.io);
  usleep(50 * 1000);
  CHECK(rio_rounds(sc.io) > r0 + 1); /* polling within the window */
  for (int i = 0; i < 200 && !sc.fired; i++) usleep(5000);
  CHECK(sc.fired);
  CHECK(!sc.fired_early);
  while (rio_now_ns() < posted_at + window_ns + 200 * 1000000LL) usleep(20 * 1000);
  uint64_t r1 = rio_rounds(sc.io);
  usleep(100 * 1000);
  CHECK_EQ(rio_rounds(sc.io), r1); /* asleep once the window has passed */
  rio_stop(sc.io);
}

int main(void)
{
  test_timers();
  test_spin();
  return CHECK_DONE();
}
