/*
 * One non-blocking connection to one Redis node: its life (creation, failure and backoff, the handshake,
 * connecting). Moving its bytes (writing queued commands, reading replies) is in redis-conn-io.c; what both
 * share is at the end of redis-conn.h. See redis-conn.h.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "redis-conn-internal.h"
#include "redis-proto.h"

#define BACKOFF_MIN_NS (50LL * 1000000)
#define BACKOFF_MAX_NS (2000LL * 1000000)

static void on_timer(rio_timer_t *t);

rconn_t *rconn_new(rio_t *io, const char *host, int port, const char *password, const char *client_name,
                   int64_t connect_timeout_ns, const rconn_hooks_t *hooks, void *owner)
{
  rconn_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->io = io;
  c->watch.fn = rc_on_event;
  c->timer.fn = on_timer;
  snprintf(c->host, sizeof c->host, "%s", host);
  c->port = port;
  if (strchr(host, ':'))
    snprintf(c->name, sizeof c->name, "[%s]:%d", host, port);
  else
    snprintf(c->name, sizeof c->name, "%s:%d", host, port);
  c->password = password;
  c->client_name = client_name;
  c->connect_timeout_ns = connect_timeout_ns;
  c->hooks = hooks;
  c->owner = owner;
  c->fd = -1;
  c->client_id = -1;
  return c;
}

rconn_state_t rconn_state(const rconn_t *c) { return c->state; }
void *rconn_owner(const rconn_t *c) { return c->owner; }
const char *rconn_name(const rconn_t *c) { return c->name; }
const char *rconn_host(const rconn_t *c) { return c->host; }
const char *rconn_last_error(const rconn_t *c) { return c->last_err; }
DBR_Errorcode_t rconn_last_code(const rconn_t *c) { return c->last_code; }
long long rconn_client_id(const rconn_t *c) { return c->client_id; }
size_t rconn_pending(const rconn_t *c) { return c->n; }
int64_t rconn_silent_ns(const rconn_t *c, int64_t now) { return c->written > 0 ? now - c->heard_at : 0; }
uint64_t rconn_session(const rconn_t *c) { return c->session; }

/* ---- the command ring ---- */

int rc_ring_push(rconn_t *c, const rentry_t *e)
{
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 64;
    rentry_t *nr = malloc(nc * sizeof *nr);
    if (!nr) return -1;
    for (size_t i = 0; i < c->n; i++) nr[i] = *rc_ring_at(c, i);
    free(c->ring);
    c->ring = nr;
    c->cap = nc;
    c->head = 0;
  }
  *rc_ring_at(c, c->n) = *e;
  c->n++;
  return 0;
}

static void fail_entries(rconn_t *c, rentry_t *ring, size_t cap, size_t head, size_t n, DBR_Errorcode_t err)
{
  for (size_t i = 0; i < n; i++) {
    rentry_t *e = &ring[(head + i) & (cap - 1)];
    free(e->owned);
    if (e->fn && !e->noreply) e->fn(c, e->priv, NULL, err);
  }
  free(ring);
}

/* ---- failure and backoff ---- */

void rc_set_error(rconn_t *c, DBR_Errorcode_t code, const char *fmt, const char *detail)
{
  c->last_code = code;
  snprintf(c->last_err, sizeof c->last_err, fmt, c->name, detail ? detail : "");
}

static void close_socket(rconn_t *c)
{
  if (c->fd >= 0) {
    rio_watch_del(c->io, c->fd);
    close(c->fd);
    c->fd = -1;
  }
  c->evmask = 0;
  if (c->reader) {
    redisReaderFree(c->reader);
    c->reader = NULL;
  }
  if (c->ai_list) {
    freeaddrinfo(c->ai_list);
    c->ai_list = c->ai_next = NULL;
  }
  rbuf_free(&c->hs);
  c->hs_left = 0;
}

static int64_t jitter(int64_t d)
{
  /* +-20%, from a cheap per-call source: exact randomness does not matter here */
  static __thread uint64_t x = 88172645463325252ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  int64_t span = d / 5;
  return span > 0 ? d - span + (int64_t)(x % (uint64_t)(2 * span)) : d;
}

static void down_task(rio_task_t *t)
{
  rconn_t *c = (rconn_t *)((char *)t - offsetof(rconn_t, down_task));
  int was_ready = c->down_was_ready;
  c->down_scheduled = 0;
  c->down_was_ready = 0;
  if (!c->shut) c->hooks->on_down(c, c->down_err, was_ready);
}

/* Closes the connection and fails every queued command with err (c->last_err holds the reason). */
void rc_fail_conn(rconn_t *c, DBR_Errorcode_t err)
{
  int was_ready = c->state == RC_READY;
  close_socket(c);
  rio_timer_disarm(c->io, &c->timer);
  c->state = RC_IDLE;
  int64_t now = rio_now_ns();
  if (was_ready) {
    c->fails = 0; /* a working session broke: try again at once */
    c->retry_at = now;
  } else {
    c->fails++;
    int64_t d = BACKOFF_MIN_NS;
    for (int i = 1; i < c->fails && d < BACKOFF_MAX_NS; i++) d *= 2;
    if (d > BACKOFF_MAX_NS) d = BACKOFF_MAX_NS;
    c->retry_at = now + jitter(d);
  }
  /* Detach the queue first: callbacks may queue new commands. */
  rentry_t *ring = c->ring;
  size_t cap = c->cap, head = c->head, n = c->n;
  c->ring = NULL;
  c->cap = c->head = c->n = c->written = c->woff = 0;
  fail_entries(c, ring, cap, head, n, err);
  if (c->auto_reconnect && !c->shut && c->state == RC_IDLE) rio_timer_arm(c->io, &c->timer, c->retry_at);
  if (c->hooks && c->hooks->on_down) {
    c->down_err = err;
    c->down_was_ready |= was_ready;
    if (!c->down_scheduled) {
      c->down_scheduled = 1;
      c->down_task.fn = down_task;
      rio_defer(c->io, &c->down_task);
    }
  }
}

void rconn_shutdown(rconn_t *c, DBR_Errorcode_t err)
{
  c->shut = 1;
  c->auto_reconnect = 0;
  c->last_code = err;
  snprintf(c->last_err, sizeof c->last_err, "%s: connection closed by the library", c->name);
  close_socket(c);
  rio_timer_disarm(c->io, &c->timer);
  c->state = RC_IDLE;
  rentry_t *ring = c->ring;
  size_t cap = c->cap, head = c->head, n = c->n;
  c->ring = NULL;
  c->cap = c->head = c->n = c->written = c->woff = 0;
  fail_entries(c, ring, cap, head, n, err);
}

void rconn_free(rconn_t *c)
{
  if (!c) return;
  close_socket(c);
  for (size_t i = 0; i < c->n; i++) free(rc_ring_at(c, i)->owned);
  free(c->ring);
  free(c);
}

void rconn_set_auto(rconn_t *c, int on)
{
  c->auto_reconnect = on && !c->shut;
  if (c->auto_reconnect && c->state == RC_IDLE && !rio_timer_armed(&c->timer))
    rio_timer_arm(c->io, &c->timer, c->retry_at);
  if (!c->auto_reconnect && c->state == RC_IDLE) rio_timer_disarm(c->io, &c->timer);
}

/* ---- handshake ---- */

static void hs_done(rconn_t *c)
{
  c->state = RC_READY;
  c->fails = 0;
  c->session++;
  c->last_code = DBR_SUCCESS;
  c->last_err[0] = '\0';
  rio_timer_disarm(c->io, &c->timer);
  rbuf_free(&c->hs);
  if (c->hooks && c->hooks->on_ready) c->hooks->on_ready(c);
}

static void hs_reply(rconn_t *c, void *priv, redisReply *r, DBR_Errorcode_t err)
{
  intptr_t step = (intptr_t)priv; /* 0 AUTH, 1 CLIENT SETNAME, 2 CLIENT ID */
  if (!r) return; /* the connection failed; rc_fail_conn reports it */
  if (r->type == REDIS_REPLY_ERROR) {
    char txt[200];
    reply_text(r, txt, sizeof txt);
    DBR_Errorcode_t code = reply_error_code(r);
    int no_pw_set = strstr(r->str, "without any password configured") || strstr(r->str, "no password is set");
    if (step == 0 && no_pw_set) {
      /* A password was given but the server has none: harmless, carry on. */
    } else if (code == DBR_ERR_NOAUTH && !(step == 2 && reply_error_is(r, "NOPERM")) &&
               !(step == 1 && reply_error_is(r, "NOPERM"))) {
      freeReplyObject(r);
      if (c->password)
        rc_set_error(c, DBR_ERR_NOAUTH,
                     "%s: the server refused the password (%s); check the file named by DBR_AUTHFILE", txt);
      else
        rc_set_error(c, DBR_ERR_NOAUTH,
                     "%s: the server requires a password (%s); name a file holding it in DBR_AUTHFILE", txt);
      rc_fail_conn(c, DBR_ERR_NOAUTH);
      return;
    }
  } else if (step == 2 && r->type == REDIS_REPLY_INTEGER) {
    c->client_id = r->integer;
  }
  freeReplyObject(r);
  (void)err;
  if (--c->hs_left == 0) hs_done(c);
}

static int queue_handshake(rconn_t *c)
{
  /* Offsets into c->hs, turned into iovecs once the buffer stops moving. */
  size_t off[4] = {0};
  int k = 0;
  rbuf_free(&c->hs);
  char hdr[24];
  if (c->password) {
    rbuf_append(&c->hs, hdr, resp_array_header(hdr, 2));
    resp_arg_str(&c->hs, "AUTH");
    resp_arg_str(&c->hs, c->password);
    off[++k] = c->hs.len;
  } else {
    off[++k] = 0;
  }
  rbuf_append(&c->hs, hdr, resp_array_header(hdr, 3));
  resp_arg_str(&c->hs, "CLIENT");
  resp_arg_str(&c->hs, "SETNAME");
  char name[64];
  if (c->client_name)
    snprintf(name, sizeof name, "%s", c->client_name);
  else
    snprintf(name, sizeof name, "libdbr-%ld", (long)getpid());
  resp_arg_str(&c->hs, name);
  off[++k] = c->hs.len;
  rbuf_append(&c->hs, hdr, resp_array_header(hdr, 2));
  resp_arg_str(&c->hs, "CLIENT");
  resp_arg_str(&c->hs, "ID");
  off[++k] = c->hs.len;
  if (c->hs.oom) return -1;
  c->hs_left = 0;
  for (int i = 0; i < 3; i++) {
    if (off[i + 1] == off[i]) continue;
    rentry_t e = {.niov = 1, .fn = hs_reply, .priv = (void *)(intptr_t)i};
    e.iov[0].iov_base = c->hs.p + off[i];
    e.iov[0].iov_len = off[i + 1] - off[i];
    if (rc_ring_push(c, &e) != 0) return -1;
    c->hs_left++;
  }
  return 0;
}

/* ---- connecting ---- */

int rc_try_addr(rconn_t *c)
{
  while (c->ai_next) {
    struct addrinfo *ai = c->ai_next;
    c->ai_next = ai->ai_next;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: socket: %s", strerror(errno));
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int idle = 15, intvl = 5, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: %s", strerror(errno));
      close(fd);
      continue;
    }
    c->fd = fd;
    c->evmask = EPOLLOUT;
    if (rio_watch_add(c->io, fd, EPOLLOUT, &c->watch) != 0) {
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: epoll: %s", strerror(errno));
      close(fd);
      c->fd = -1;
      continue;
    }
    return 0;
  }
  return -1;
}

void rc_start_connect(rconn_t *c)
{
  if (c->state != RC_IDLE || c->shut) return;
  rio_timer_disarm(c->io, &c->timer);
  c->state = RC_CONNECTING;
  char port[16];
  snprintf(port, sizeof port, "%d", c->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  int rc = getaddrinfo(c->host, port, &hints, &c->ai_list);
  if (rc != 0) {
    c->ai_list = NULL;
    rc_set_error(c, DBR_ERR_NOCONNECT, "%s: cannot resolve the host: %s", gai_strerror(rc));
    rc_fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
  c->ai_next = c->ai_list;
  c->reader = redisReaderCreate();
  if (!c->reader || queue_handshake(c) != 0) {
    rc_set_error(c, DBR_ERR_NOMEMORY, "%s: out of memory%s", "");
    rc_fail_conn(c, DBR_ERR_NOMEMORY);
    return;
  }
  if (rc_try_addr(c) != 0) {
    rc_fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
  rio_timer_arm(c->io, &c->timer, rio_now_ns() + c->connect_timeout_ns);
}

void rconn_connect(rconn_t *c)
{
  if (c->state == RC_IDLE && !c->shut && rio_now_ns() >= c->retry_at) rc_start_connect(c);
}

static void on_timer(rio_timer_t *t)
{
  rconn_t *c = (rconn_t *)((char *)t - offsetof(rconn_t, timer));
  if (c->state == RC_IDLE) {
    if (c->auto_reconnect && !c->shut) rc_start_connect(c);
  } else if (c->state != RC_READY) {
    rc_set_error(c, DBR_ERR_NOCONNECT, "%s: no answer within the connect timeout%s", "");
    rc_fail_conn(c, DBR_ERR_NOCONNECT);
  }
}
