/*
 * Small shared helpers of libdbr: the thread-local last error, and a fast hash of names.
 */
#ifndef LIBDBR_UTIL_H_
#define LIBDBR_UTIL_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "errorcodes.h"

#define DBR_UNUSED __attribute__((unused))
#define DBR_LIKELY(x) __builtin_expect(!!(x), 1)
#define DBR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/**
 * Records the failure of the current call for dbrxLastError() / dbrxLastErrorCode() and returns code, so a
 * caller can write `return dbr_err(DBR_ERR_INVALID, "...", ...)`. The message names the problem and the fix.
 */
DBR_Errorcode_t dbr_err(DBR_Errorcode_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Like dbr_err with a constant message (no formatting: cheap enough for hot paths such as UNAVAIL). */
DBR_Errorcode_t dbr_err_static(DBR_Errorcode_t code, const char *msg);
/** The current thread's last message ("" if none) and code. */
const char *dbr_err_message(void);
DBR_Errorcode_t dbr_err_code(void);

/** Little-endian fields of dbrxPutMany's packed records. */
static inline uint32_t dbr_rd32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dbr_rd64(const unsigned char *p)
{
  return (uint64_t)dbr_rd32(p) | (uint64_t)dbr_rd32(p + 4) << 32;
}

/** DBR_TIMEOUT in ns (read once; the default, with one warning, if it is not a positive number of seconds). */
int64_t dbr_env_timeout_ns(void);

/** 64-bit hash of a byte string (not cryptographic; seeded once per process). */
uint64_t dbr_hash(const void *data, size_t len);

#endif /* LIBDBR_UTIL_H_ */
