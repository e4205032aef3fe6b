/*
 * Bounded logging to stderr.
 *
 * The level comes from DBR_LOG_LEVEL (error | warn | info | debug; default warn), read once. Each call site
 * prints at most DBR_LOG_BURST lines per second; the lines it drops are summed up in one
 * "N messages suppressed" line the next time it may print. A dead server therefore costs a few log lines a
 * second, not a flood.
 *
 *   DBR_LOG(DBR_LOG_WARN, "redis %s:%d: reconnect failed: %s", host, port, err);
 */
#ifndef LIBDBR_LOG_H_
#define LIBDBR_LOG_H_

#include <stdint.h>

typedef enum { DBR_LOG_ERROR = 0, DBR_LOG_WARN = 1, DBR_LOG_INFO = 2, DBR_LOG_DEBUG = 3 } dbr_log_level_t;

#define DBR_LOG_BURST 10

/** Per-call-site state; zero-initialised, guarded by the log's own lock. */
typedef struct {
  int64_t window; /* second of the current window */
  uint32_t count; /* lines printed in that window */
  uint64_t suppressed;
} dbr_log_site_t;

/** Non-zero if messages of this level are printed. */
int dbr_log_enabled(dbr_log_level_t level);
void dbr_log_emit(dbr_log_site_t *site, dbr_log_level_t level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define DBR_LOG(level, ...)                                                   \
  do {                                                                        \
    static dbr_log_site_t dbr_log_site_;                                      \
    if (dbr_log_enabled(level))                                               \
      dbr_log_emit(&dbr_log_site_, (level), __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#endif /* LIBDBR_LOG_H_ */
