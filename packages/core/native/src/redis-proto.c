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

void resp_arg(rbuf_t *b, const void *data, size_t len)
{
  char hdr[32];
  int n = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);
  if (rbuf_reserve(b, (size_t)n + len + 2) != 0) return;
  memcpy(b->p + b->len, hdr, (size_t)n);
  b->len += (size_t)n;
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
  int n = snprintf(tmp, sizeof tmp, "%lld", v);
  resp_arg(b, tmp, (size_t)n);
}

size_t resp_array_header(char *out, long long argc)
{
  return (size_t)snprintf(out, 24, "*%lld\r\n", argc);
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
