/*
 * Bounded logging: see log.h.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_once_t g_log_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_log_level = DBR_LOG_WARN;

static const char *const g_level_names[] = {"error", "warn", "info", "debug"};

static void log_init(void)
{
  const char *s = getenv("DBR_LOG_LEVEL");
  if (s == NULL || *s == '\0') return;
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, g_level_names[i]) == 0) {
      g_log_level = i;
      return;
    }
  }
  if (strcasecmp(s, "warning") == 0) return;
  fprintf(stderr, "libdbr: warn: DBR_LOG_LEVEL=%s is not a level; use error, warn, info or debug\n", s);
}

int dbr_log_enabled(dbr_log_level_t level)
{
  pthread_once(&g_log_once, log_init);
  return (int)level <= g_log_level;
}

static const char *base_name(const char *file)
{
  const char *slash = strrchr(file, '/');
  return slash ? slash + 1 : file;
}

void dbr_log_emit(dbr_log_site_t *site, dbr_log_level_t level, const char *file, int line, const char *fmt, ...)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now = (int64_t)ts.tv_sec;

  uint64_t dropped = 0;
  pthread_mutex_lock(&g_log_mu);
  if (site->window != now) {
    dropped = site->suppressed;
    site->suppressed = 0;
    site->window = now;
    site->count = 0;
  }
  if (site->count >= DBR_LOG_BURST) {
    site->suppressed++;
    pthread_mutex_unlock(&g_log_mu);
    return;
  }
  site->count++;
  pthread_mutex_unlock(&g_log_mu);

  /* One fprintf per line so concurrent lines do not interleave. */
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *lv = g_level_names[(unsigned)level < 4 ? (unsigned)level : 0];
  if (dropped > 0)
    fprintf(stderr, "libdbr: %s: %s:%d: %llu messages suppressed\n", lv, base_name(file), line,
            (unsigned long long)dropped);
  fprintf(stderr, "libdbr: %s: %s\n", lv, msg);
}
