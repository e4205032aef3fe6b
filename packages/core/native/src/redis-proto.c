/*
 * RESP encoding and reply classification. See redis-proto.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "redis-proto.h"

void rbuf_free(rbuf_t *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int rbuf_reserve(rbuf_t *b, size_t extra)
{
  if (b->oom) return -1;
  if (b->len + extra <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < b->len + extra) {
    if (ncap > SIZE_MAX / 2) {
      b->oom = 1;
      return -1;
    }
    ncap *= 2;
  }
  char *np = realloc(b->p, ncap);
  if (!np) {
    b->oom = 1;
    return -1;
  }
  b->p = np;
  b->cap = ncap;
  return 0;
}

void rbuf_append(rbuf_t *b, const void *data, size_t len)
{
  if (len == 0 || rbuf_reserve(b, len) != 0) return;
  memcpy(b->p + b->len, data, len);
  b->len += len;
}

/* Writes '<lead><v>\r\n' at out (room for 24 bytes); returns its length. snprintf costs more than the rest of
 * a command's encoding, and this runs for every argument. */
static size_t int_line(char *out, char lead, long long v)
{
  char digits[24];
  size_t n = 0;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    digits[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  size_t len = 0;
  if (lead) out[len++] = lead;
  if (v < 0) out[len++] = '-';
  while (n) out[len++] = digits[--n];
  out[len++] = '\r';
  out[len++] = '\n';
  return len;
}

void resp_arg(rbuf_t *b, const void *data, size_t len)
{
  char hdr[32];
  size_t n = int_line(hdr, '$', (long long)len);
  if (rbuf_reserve(b, n + len + 2) != 0) return;
  memcpy(b->p + b->len, hdr, n);
  b->len += n;
  if (len) memcpy(b->p + b->len, data, len);
  b->len += len;
  b->p[b->len++] = '\r';
  b->p[b->len++] = '\n';
}

void resp_arg_str(rbuf_t *b, const char *s)
{
  resp_arg(b, s, strlen(s));
}

void resp_arg_int(rbuf_t *b, long long v)
{
  char tmp[32];
  size_t n = int_line(tmp, 0, v) - 2;
  resp_arg(b, tmp, n);
}

size_t resp_array_header(char *out, long long argc)
{
  return int_line(out, '*', argc);
}

int reply_error_is(const redisReply *r, const char *word)
{
  if (!r || r->type != REDIS_REPLY_ERROR || !r->str) return 0;
  size_t wl = strlen(word);
  if ((size_t)r->len < wl || strncmp(r->str, word, wl) != 0) return 0;
  return (size_t)r->len == wl || r->str[wl] == ' ';
}

DBR_Errorcode_t reply_error_code(const redisReply *r)
{
  if (!r || r->type != REDIS_REPLY_ERROR || !r->str) return DBR_ERR_BE_GENERAL;
  if (reply_error_is(r, "NOAUTH") || reply_error_is(r, "WRONGPASS") || reply_error_is(r, "NOPERM") ||
      strncasecmp(r->str, "ERR invalid password", 20) == 0)
    return DBR_ERR_NOAUTH;
  if (reply_error_is(r, "OOM")) return DBR_ERR_NOMEMORY;
  return DBR_ERR_BE_GENERAL;
}

void reply_text(const redisReply *r, char *out, size_t outlen)
{
  if (outlen == 0) return;
  out[0] = '\0';
  if (!r || !r->str || (r->type != REDIS_REPLY_ERROR && r->type != REDIS_REPLY_STATUS &&
                        r->type != REDIS_REPLY_STRING))
    return;
  size_t n = (size_t)r->len < outlen - 1 ? (size_t)r->len : outlen - 1;
  for (size_t i = 0; i < n; i++) {
    char c = r->str[i];
    out[i] = (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
  }
  out[n] = '\0';
}
