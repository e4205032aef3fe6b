/*
 * Moving a connection's bytes (see redis-conn.h): queued commands go out with sendmsg, many per call; what
 * comes back is fed to the hiredis reader, and each reply goes to the callback of the oldest command on the
 * wire. The epoll callback also completes a connect. The connection's life is in redis-conn.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "redis-conn-internal.h"

#define MAX_IOV 64

static void flush(rconn_t *c);

/* ---- writing ---- */

/* Drops fully written no-reply entries at the head of the queue. */
static void drop_noreply_head(rconn_t *c)
{
  while (c->n > 0 && c->written > 0) {
    rentry_t *e = rc_ring_at(c, 0);
    if (!e->noreply) break;
    free(e->owned);
    c->head = (c->head + 1) & (c->cap - 1);
    c->n--;
    c->written--;
  }
}

static void set_events(rconn_t *c, uint32_t ev)
{
  if (c->fd < 0 || ev == c->evmask) return;
  if (rio_watch_mod(c->io, c->fd, ev, &c->watch) == 0) c->evmask = ev;
}

static void flush_task(rio_task_t *t)
{
  rconn_t *c = (rconn_t *)((char *)t - offsetof(rconn_t, flush_task));
  c->flush_scheduled = 0;
  flush(c);
}

static void flush(rconn_t *c)
{
  if (c->state != RC_HANDSHAKE && c->state != RC_READY) return;
  if (c->written == 0) c->heard_at = rio_now_ns(); /* nothing was waiting: the wait starts now */
  while (c->written < c->n) {
    struct iovec iov[MAX_IOV];
    int k = 0;
    size_t skip = c->woff;
    for (size_t i = c->written; i < c->n && k < MAX_IOV; i++) {
      rentry_t *e = rc_ring_at(c, i);
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
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: write: %s", strerror(errno));
      rc_fail_conn(c, DBR_ERR_NOCONNECT);
      return;
    }
    size_t left = (size_t)w + c->woff;
    while (c->written < c->n) {
      rentry_t *e = rc_ring_at(c, c->written);
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
    rc_start_connect(c);
    if (c->state == RC_IDLE) return c->last_code ? c->last_code : DBR_ERR_NOCONNECT;
  }
  if (rc_ring_push(c, e) != 0) return DBR_ERR_NOMEMORY;
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
      rc_set_error(c, DBR_ERR_BE_GENERAL, "%s: protocol error: %s", c->reader->errstr);
      rc_fail_conn(c, DBR_ERR_BE_GENERAL);
      return;
    }
    if (!rp) return;
    redisReply *r = rp;
    drop_noreply_head(c);
    if (c->n > 0 && c->written > 0) {
      rentry_t e = *rc_ring_at(c, 0);
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
      rc_set_error(c, DBR_ERR_BE_GENERAL, "%s: unexpected reply from the server%s", "");
      rc_fail_conn(c, DBR_ERR_BE_GENERAL);
      return;
    }
  }
}

/*
 * hiredis's reader moves its unread bytes to the front of its buffer each time it has consumed 1 KiB, so
 * feeding it a whole 256 KiB read of small replies (pipelined pops, keyspace notifications) costs a quadratic
 * amount of memmove (254 instead of 119 ns per keyspace message in a tight loop). Fed in FEED_CHUNK pieces,
 * each move is short. While a reply bigger than a piece is under way, a piece is as big as what the reader
 * holds of it, so a large value takes a few doubling pieces and the small replies after it are fed small again.
 */
#define FEED_CHUNK 4096

static int feed_and_dispatch(rconn_t *c, const char *buf, size_t n)
{
  while (n > 0) {
    size_t pending = c->reader->len - c->reader->pos;
    size_t piece = pending > FEED_CHUNK ? pending : FEED_CHUNK;
    size_t take = n < piece ? n : piece;
    if (redisReaderFeed(c->reader, buf, take) != REDIS_OK) {
      rc_set_error(c, DBR_ERR_NOMEMORY, "%s: reader: %s", c->reader->errstr);
      rc_fail_conn(c, DBR_ERR_NOMEMORY);
      return -1;
    }
    dispatch_replies(c);
    /* the session failed (it may be reconnecting already): the rest was the old session's */
    if (c->fd < 0 || c->state == RC_IDLE || c->state == RC_CONNECTING) return -1;
    buf += take;
    n -= take;
  }
  return 0;
}

static void do_read(rconn_t *c)
{
  size_t cap;
  char *buf = rio_scratch(c->io, &cap);
  for (int rounds = 0; rounds < 64; rounds++) {
    ssize_t n = read(c->fd, buf, cap);
    if (n > 0) {
      c->heard_at = rio_now_ns();
      if (feed_and_dispatch(c, buf, (size_t)n) != 0) return;
      if ((size_t)n < cap) return;
      continue;
    }
    if (n == 0) {
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: connection closed by the server%s", "");
      rc_fail_conn(c, DBR_ERR_NOCONNECT);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    rc_set_error(c, DBR_ERR_NOCONNECT, "%s: read: %s", strerror(errno));
    rc_fail_conn(c, DBR_ERR_NOCONNECT);
    return;
  }
}

void rc_on_event(rio_watch_t *w, uint32_t events)
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
      rc_set_error(c, DBR_ERR_NOCONNECT, "%s: %s", strerror(err));
      rio_watch_del(c->io, c->fd);
      close(c->fd);
      c->fd = -1;
      if (rc_try_addr(c) != 0) rc_fail_conn(c, DBR_ERR_NOCONNECT);
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
