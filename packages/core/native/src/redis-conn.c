/*
 * One non-blocking connection to one Redis node. See redis-conn.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cluster.h"
#include "redis-conn.h"
#include "redis-proto.h"

#define BACKOFF_MIN_NS (50LL * 1000000)
#define BACKOFF_MAX_NS (2000LL * 1000000)
#define MAX_IOV 64

typedef struct {
  struct iovec iov[4];
  int niov;
  int noreply;  /* no reply expected (pub/sub commands): dropped once written */
  void *owned;  /* freed with the entry */
  rconn_reply_fn fn;
  void *priv;
} rentry_t;

struct rconn {
  rio_t *io;
  rio_watch_t watch;
  rio_timer_t timer; /* connect deadline while connecting, retry time while idle */
  rio_task_t flush_task;
  int flush_scheduled;
  rio_task_t down_task; /* on_down runs deferred: a failure inside rconn_send never re-enters the owner */
  int down_scheduled, down_was_ready;
  DBR_Errorcode_t down_err;

  char host[CLUSTER_HOST_MAX];
  int port;
  char name[CLUSTER_HOST_MAX + 8];
  const char *password;
  const char *client_name;
  int64_t connect_timeout_ns;
  const rconn_hooks_t *hooks;
  void *owner;

  int fd;
  rconn_state_t state;
  uint32_t evmask;
  redisReader *reader;
  struct addrinfo *ai_list, *ai_next;

  /* ring of queued commands: [head, head + n); the first `written` are fully on the wire, plus woff bytes of
   * the next one */
  rentry_t *ring;
  size_t cap, head, n, written, woff;

  rbuf_t hs;         /* the handshake commands */
  int hs_left;       /* handshake replies still expected */

  int auto_reconnect;
  int shut;
  int fails;
  int64_t retry_at;
  DBR_Errorcode_t last_code;
  char last_err[768];
  long long client_id;
  uint64_t session;
};

static void on_event(rio_watch_t *w, uint32_t events);
static void on_timer(rio_timer_t *t);
static void start_connect(rconn_t *c);
static void flush(rconn_t *c);

rconn_t *rconn_new(rio_t *io, const char *host, int port, const char *password, const char *client_name,
                   int64_t connect_timeout_ns, const rconn_hooks_t *hooks, void *owner)
{
  rconn_t *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->io = io;
  c->watch.fn = on_event;
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
uint64_t rconn_session(const rconn_t *c) { return c->session; }

/* ---- the command ring ---- */

static rentry_t *ring_at(rconn_t *c, size_t i)
{
  return &c->ring[(c->head + i) & (c->cap - 1)];
}

static int ring_push(rconn_t *c, const rentry_t *e)
{
  if (c->n == c->cap) {
    size_t nc = c->cap ? c->cap * 2 : 64;
    rentry_t *nr = malloc(nc * sizeof *nr);
    if (!nr) return -1;
    for (size_t i = 0; i < c->n; i++) nr[i] = *ring_at(c, i);
    free(c->ring);
    c->ring = nr;
    c->cap = nc;
    c->head = 0;
  }
  *ring_at(c, c->n) = *e;
  c->n++;
  return 0;
}

/* Drops fully written no-reply entries at the head of the queue. */
static void drop_noreply_head(rconn_t *c)
{
  while (c->n > 0 && c->written > 0) {
    rentry_t *e = ring_at(c, 0);
    if (!e->noreply) break;
    free(e->owned);
    c->head = (c->head + 1) & (c->cap - 1);
    c->n--;
    c->written--;
  }
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

static void set_error(rconn_t *c, DBR_Errorcode_t code, const char *fmt, const char *detail)
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
static void fail_conn(rconn_t *c, DBR_Errorcode_t err)
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
  for (size_t i = 0; i < c->n; i++) free(ring_at(c, i)->owned);
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
  if (!r) return; /* the connection failed; fail_conn reports it */
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
        set_error(c, DBR_ERR_NOAUTH,
                  "%s: the server refused the password (%s); check the file named by DBR_AUTHFILE", txt);
      else
        set_error(c, DBR_ERR_NOAUTH,
                  "%s: the server requires a password (%s); name a file holding it in DBR_AUTHFILE", txt);
      fail_conn(c, DBR_ERR_NOAUTH);
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
    if (ring_push(c, &e) != 0) return -1;
    c->hs_left++;
  }
  return 0;
}

/* ---- connecting ---- */

static void set_events(rconn_t *c, uint32_t ev)
{
  if (c->fd < 0 || ev == c->evmask) return;
  if (rio_watch_mod(c->io, c->fd, ev, &c->watch) == 0) c->evmask = ev;
}

static int try_addr(rconn_t *c)
{
  while (c->ai_next) {
    struct addrinfo *ai = c->ai_next;
    c->ai_next = ai->ai_next;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      set_error(c, DBR_ERR_NOCONNECT, "%s: socket: %s", strerror(errno));
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
      set_error(c, DBR_ERR_NOCONNECT, "%s: %s", strerror(errno));
      close(fd);
      continue;
    }
    c->fd = fd;
    c->evmask = EPOLLOUT;
    if (rio_watch_add(c->io, fd, EPOLLOUT, &c->watch) != 0) {
      set_error(c, DBR_ERR_NOCONNECT, "%s: epoll: %s", strerror(errno));
      close(fd);
      c->fd = -1;
      continue;
    }
    return 0;
  }
  return -1;
}

static void start_connect(rconn_t *c)
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
    set_error(c, DBR_ERR_NOCONNECT, "%s: cannot resolve the host: %s", gai_strerror(rc));
    fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
  c->ai_next = c->ai_list;
  c->reader = redisReaderCreate();
  if (!c->reader || queue_handshake(c) != 0) {
    set_error(c, DBR_ERR_NOMEMORY, "%s: out of memory%s", "");
    fail_conn(c, DBR_ERR_NOMEMORY);
    return;
  }
  if (try_addr(c) != 0) {
    fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
  rio_timer_arm(c->io, &c->timer, rio_now_ns() + c->connect_timeout_ns);
}

void rconn_connect(rconn_t *c)
{
  if (c->state == RC_IDLE && !c->shut && rio_now_ns() >= c->retry_at) start_connect(c);
}

static void on_timer(rio_timer_t *t)
{
  rconn_t *c = (rconn_t *)((char *)t - offsetof(rconn_t, timer));
  if (c->state == RC_IDLE) {
    if (c->auto_reconnect && !c->shut) start_connect(c);
  } else if (c->state != RC_READY) {
    set_error(c, DBR_ERR_NOCONNECT, "%s: no answer within the connect timeout%s", "");
    fail_conn(c, DBR_ERR_NOCONNECT);
  }
}

/* ---- writing ---- */

static void flush_task(rio_task_t *t)
{
  rconn_t *c = (rconn_t *)((char *)t - offsetof(rconn_t, flush_task));
  c->flush_scheduled = 0;
  flush(c);
}

static void flush(rconn_t *c)
{
  if (c->state != RC_HANDSHAKE && c->state != RC_READY) return;
  while (c->written < c->n) {
    struct iovec iov[MAX_IOV];
    int k = 0;
    size_t skip = c->woff;
    for (size_t i = c->written; i < c->n && k < MAX_IOV; i++) {
      rentry_t *e = ring_at(c, i);
      for (int j = 0; j < e->niov && k < MAX_IOV; j++) {
        size_t l = e->iov[j].iov_len;
        if (skip >= l) {
          skip -= l;
          continue;
        }
        iov[k].iov_base = (char *)e->iov[j].iov_base + skip;
        iov[k].iov_len = l - skip;
        skip = 0;
        k++;
      }
    }
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)k};
    ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL); /* a closed peer is an error here, never a SIGPIPE */
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      set_error(c, DBR_ERR_NOCONNECT, "%s: write: %s", strerror(errno));
      fail_conn(c, DBR_ERR_NOCONNECT);
      return;
    }
    size_t left = (size_t)w + c->woff;
    while (c->written < c->n) {
      rentry_t *e = ring_at(c, c->written);
      size_t tot = 0;
      for (int j = 0; j < e->niov; j++) tot += e->iov[j].iov_len;
      if (left < tot) break;
      left -= tot;
      c->written++;
    }
    c->woff = left;
    drop_noreply_head(c);
  }
  set_events(c, c->written < c->n ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
}

static DBR_Errorcode_t send_entry(rconn_t *c, const rentry_t *e);

DBR_Errorcode_t rconn_send(rconn_t *c, const struct iovec *iov, int niov, rconn_reply_fn fn, void *priv)
{
  rentry_t e = {.niov = niov, .fn = fn, .priv = priv};
  for (int i = 0; i < niov && i < 4; i++) e.iov[i] = iov[i];
  return send_entry(c, &e);
}

DBR_Errorcode_t rconn_send_noreply(rconn_t *c, char *buf, size_t len)
{
  rentry_t e = {.niov = 1, .noreply = 1, .owned = buf};
  e.iov[0].iov_base = buf;
  e.iov[0].iov_len = len;
  DBR_Errorcode_t err = send_entry(c, &e);
  if (err != DBR_SUCCESS) free(buf);
  return err;
}

static DBR_Errorcode_t send_entry(rconn_t *c, const rentry_t *e)
{
  if (c->shut) return DBR_ERR_NOCONNECT;
  if (c->state == RC_IDLE) {
    if (rio_now_ns() < c->retry_at) return c->last_code ? c->last_code : DBR_ERR_NOCONNECT;
    start_connect(c);
    if (c->state == RC_IDLE) return c->last_code ? c->last_code : DBR_ERR_NOCONNECT;
  }
  if (ring_push(c, e) != 0) return DBR_ERR_NOMEMORY;
  if (!c->flush_scheduled && (c->state == RC_HANDSHAKE || c->state == RC_READY)) {
    c->flush_scheduled = 1;
    c->flush_task.fn = flush_task;
    rio_defer(c->io, &c->flush_task);
  }
  return DBR_SUCCESS;
}

/* ---- reading ---- */

static void dispatch_replies(rconn_t *c)
{
  for (;;) {
    if (!c->reader) return; /* failed while dispatching */
    void *rp = NULL;
    if (redisReaderGetReply(c->reader, &rp) != REDIS_OK) {
      set_error(c, DBR_ERR_BE_GENERAL, "%s: protocol error: %s", c->reader->errstr);
      fail_conn(c, DBR_ERR_BE_GENERAL);
      return;
    }
    if (!rp) return;
    redisReply *r = rp;
    drop_noreply_head(c);
    if (c->n > 0 && c->written > 0) {
      rentry_t e = *ring_at(c, 0);
      c->head = (c->head + 1) & (c->cap - 1);
      c->n--;
      c->written--;
      if (e.fn)
        e.fn(c, e.priv, r, DBR_SUCCESS);
      else
        freeReplyObject(r);
    } else if (c->hooks && c->hooks->on_push && c->state == RC_READY) {
      c->hooks->on_push(c, r);
    } else {
      freeReplyObject(r);
      set_error(c, DBR_ERR_BE_GENERAL, "%s: unexpected reply from the server%s", "");
      fail_conn(c, DBR_ERR_BE_GENERAL);
      return;
    }
  }
}

static void do_read(rconn_t *c)
{
  size_t cap;
  char *buf = rio_scratch(c->io, &cap);
  for (int rounds = 0; rounds < 64; rounds++) {
    ssize_t n = read(c->fd, buf, cap);
    if (n > 0) {
      if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
        set_error(c, DBR_ERR_NOMEMORY, "%s: reader: %s", c->reader->errstr);
        fail_conn(c, DBR_ERR_NOMEMORY);
        return;
      }
      dispatch_replies(c);
      if (c->fd < 0) return;
      if ((size_t)n < cap) return;
      continue;
    }
    if (n == 0) {
      set_error(c, DBR_ERR_NOCONNECT, "%s: connection closed by the server%s", "");
      fail_conn(c, DBR_ERR_NOCONNECT);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    set_error(c, DBR_ERR_NOCONNECT, "%s: read: %s", strerror(errno));
    fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
}

static void on_event(rio_watch_t *w, uint32_t events)
{
  rconn_t *c = (rconn_t *)((char *)w - offsetof(rconn_t, watch));
  if (c->fd < 0) return;
  if (c->state == RC_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0) err = errno;
    if (err == EINPROGRESS || err == EALREADY) return;
    if (err == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (err != 0) {
      set_error(c, DBR_ERR_NOCONNECT, "%s: %s", strerror(err));
      rio_watch_del(c->io, c->fd);
      close(c->fd);
      c->fd = -1;
      if (try_addr(c) != 0) fail_conn(c, DBR_ERR_NOCONNECT);
      return;
    }
    c->state = RC_HANDSHAKE;
    flush(c);
    return;
  }
  /* Flags may be stale (an event for an earlier socket): the syscalls tell the truth. */
  do_read(c);
  if (c->fd >= 0 && (events & EPOLLOUT)) flush(c);
}
