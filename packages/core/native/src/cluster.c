/*
 * Redis Cluster routing, without I/O. See cluster.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"

unsigned cluster_key_slot(const char *key, size_t len)
{
  size_t s, e;
  for (s = 0; s < len; s++)
    if (key[s] == '{') break;
  if (s < len) {
    for (e = s + 1; e < len; e++)
      if (key[e] == '}') break;
    if (e < len && e != s + 1) return crc16_xmodem(key + s + 1, e - s - 1) & (CLUSTER_SLOTS - 1);
  }
  return crc16_xmodem(key, len) & (CLUSTER_SLOTS - 1);
}

int cluster_split_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port)
{
  const char *colon = NULL;
  const char *hs = s;
  size_t hl;
  if (len > 0 && s[0] == '[') {
    const char *rb = memchr(s, ']', len);
    if (!rb || rb + 1 >= s + len || rb[1] != ':') return -1;
    hs = s + 1;
    hl = (size_t)(rb - hs);
    colon = rb + 1;
  } else {
    for (size_t i = len; i > 0; i--)
      if (s[i - 1] == ':') {
        colon = s + i - 1;
        break;
      }
    if (!colon) return -1;
    hl = (size_t)(colon - s);
  }
  if (hl >= hostlen) return -1;
  char pbuf[16];
  size_t pl = (size_t)(s + len - colon - 1);
  if (pl == 0 || pl >= sizeof pbuf) return -1;
  memcpy(pbuf, colon + 1, pl);
  pbuf[pl] = '\0';
  char *end;
  long p = strtol(pbuf, &end, 10);
  if (*end || p <= 0 || p > 65535) return -1;
  memcpy(host, hs, hl);
  host[hl] = '\0';
  *port = (int)p;
  return 0;
}

static int str_elem(const redisReply *r, char *out, size_t outlen)
{
  if (!r || r->type != REDIS_REPLY_STRING || (size_t)r->len >= outlen) return -1;
  memcpy(out, r->str, (size_t)r->len);
  out[r->len] = '\0';
  return 0;
}

int cluster_parse_slots(const redisReply *r, const char *default_host, cluster_range_t **out, char *err,
                        size_t errlen)
{
  *out = NULL;
  if (!r || r->type != REDIS_REPLY_ARRAY) {
    snprintf(err, errlen, "CLUSTER SLOTS: not an array");
    return -1;
  }
  cluster_range_t *v = calloc(r->elements ? r->elements : 1, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int n = 0;
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *e = r->element[i];
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
        e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
        e->element[2]->elements < 2 || e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
      snprintf(err, errlen, "CLUSTER SLOTS: malformed entry %zu", i);
      free(v);
      return -1;
    }
    long long a = e->element[0]->integer, b = e->element[1]->integer;
    long long port = e->element[2]->element[1]->integer;
    if (a < 0 || b < a || b >= CLUSTER_SLOTS || port <= 0 || port > 65535) {
      snprintf(err, errlen, "CLUSTER SLOTS: bad range %lld-%lld port %lld", a, b, port);
      free(v);
      return -1;
    }
    cluster_range_t *c = &v[n];
    if (str_elem(e->element[2]->element[0], c->host, sizeof c->host) != 0 || c->host[0] == '\0' ||
        strcmp(c->host, "?") == 0) {
      if (strlen(default_host) >= sizeof c->host) {
        snprintf(err, errlen, "CLUSTER SLOTS: host too long");
        free(v);
        return -1;
      }
      strcpy(c->host, default_host);
    }
    c->start = (int)a;
    c->end = (int)b;
    c->port = (int)port;
    n++;
  }
  *out = v;
  return n;
}

cluster_redir_t cluster_parse_redirect(const char *err, size_t len, const char *default_host, int *slot,
                                       char *host, size_t hostlen, int *port)
{
  cluster_redir_t kind;
  size_t skip;
  if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
    kind = CLUSTER_REDIR_MOVED;
    skip = 6;
  } else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
    kind = CLUSTER_REDIR_ASK;
    skip = 4;
  } else {
    return CLUSTER_REDIR_NONE;
  }
  const char *p = err + skip, *end = err + len;
  long s = 0;
  int digits = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    s = s * 10 + (*p - '0');
    if (s >= CLUSTER_SLOTS) return CLUSTER_REDIR_NONE;
    p++;
    digits++;
  }
  if (!digits || p >= end || *p != ' ') return CLUSTER_REDIR_NONE;
  p++;
  const char *ae = p;
  while (ae < end && *ae != ' ' && *ae != '\r' && *ae != '\n') ae++;
  if (cluster_split_hostport(p, (size_t)(ae - p), host, hostlen, port) != 0) return CLUSTER_REDIR_NONE;
  if (host[0] == '\0') {
    if (strlen(default_host) >= hostlen) return CLUSTER_REDIR_NONE;
    strcpy(host, default_host);
  }
  *slot = (int)s;
  return kind;
}
