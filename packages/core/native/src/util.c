/*
 * The thread-local last error, the name hash and DBR_TIMEOUT.
 */
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "libdatabroker.h"
#include "log.h"

/* The message is either a constant (msg points to it) or formatted into buf (msg points to buf). */
static __thread struct {
  DBR_Errorcode_t code;
  const char *msg;
  char buf[1536];
} t_err;

DBR_Errorcode_t dbr_err(DBR_Errorcode_t code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t_err.buf, sizeof t_err.buf, fmt, ap);
  va_end(ap);
  t_err.code = code;
  t_err.msg = t_err.buf;
  return code;
}

DBR_Errorcode_t dbr_err_static(DBR_Errorcode_t code, const char *msg)
{
  t_err.code = code;
  t_err.msg = msg;
  return code;
}

const char *dbr_err_message(void)
{
  return t_err.msg ? t_err.msg : "";
}

DBR_Errorcode_t dbr_err_code(void)
{
  return t_err.msg ? t_err.code : DBR_SUCCESS;
}

/* A small multiply-xorshift hash over 8-byte words (in the spirit of wyhash / rapidhash). */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t dbr_hash(const void *data, size_t len)
{
  const unsigned char *p = data;
  const uint64_t k0 = UINT64_C(0xa0761d6478bd642f), k1 = UINT64_C(0xe7037ed1a0b428db);
  uint64_t h = UINT64_C(0x2d358dccaa6c78a5) ^ len;
  while (len >= 16) {
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    h = mix(a ^ k0 ^ h, b ^ k1);
    p += 16;
    len -= 16;
  }
  uint64_t a = 0, b = 0;
  if (len >= 8) {
    memcpy(&a, p, 8);
    memcpy(&b, p + len - 8, 8);
  } else if (len >= 4) {
    uint32_t x, y;
    memcpy(&x, p, 4);
    memcpy(&y, p + len - 4, 4);
    a = x;
    b = y;
  } else if (len > 0) {
    a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
  }
  return mix(h ^ k1, mix(a ^ k0, b ^ h));
}

/* ---- DBR_TIMEOUT ---- */

static int64_t g_env_timeout_ns;
static pthread_once_t g_env_timeout_once = PTHREAD_ONCE_INIT;

static void read_env_timeout(void)
{
  g_env_timeout_ns = (int64_t)DBR_TIMEOUT_DEFAULT * 1000000000;
  const char *s = getenv(DBR_TIMEOUT_ENV);
  if (s == NULL || *s == '\0') return;
  char *end;
  double v = strtod(s, &end);
  while (*end == ' ' || *end == '\t' || *end == '\n') end++;
  if (end == s || *end != '\0' || !isfinite(v) || v <= 0 || v > 1e9) {
    DBR_LOG(DBR_LOG_WARN, "DBR_TIMEOUT=%s is not a positive number of seconds; using the default %d s", s,
            DBR_TIMEOUT_DEFAULT);
    return;
  }
  g_env_timeout_ns = (int64_t)(v * 1e9);
  if (g_env_timeout_ns < 1) g_env_timeout_ns = 1;
}

int64_t dbr_env_timeout_ns(void)
{
  pthread_once(&g_env_timeout_once, read_env_timeout);
  return g_env_timeout_ns;
}
