/*
 * The fields of a Redis connection and the helpers its two files share: redis-conn.c (the connection's life:
 * creating, connecting, the handshake, failure and backoff) and redis-conn-io.c (its bytes: writing queued
 * commands, reading and dispatching replies). Nothing else includes this file.
 */
#ifndef LIBDBR_REDIS_CONN_INTERNAL_H_
#define LIBDBR_REDIS_CONN_INTERNAL_H_

#include "redis-conn.h"

struct addrinfo;

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
  int64_t heard_at; /* when the commands on the wire started waiting, or bytes last came back */

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

static inline rentry_t *rc_ring_at(rconn_t *c, size_t i)
{
  return &c->ring[(c->head + i) & (c->cap - 1)];
}

/** Queues a command at the tail of the ring, growing it: 0, or -1 when out of memory. */
int rc_ring_push(rconn_t *c, const rentry_t *e);
/** Records a failure: fmt gets the connection's name, then detail ("" if NULL). */
void rc_set_error(rconn_t *c, DBR_Errorcode_t code, const char *fmt, const char *detail);
/** Closes the connection and fails every queued command with err (c->last_err holds the reason). */
void rc_fail_conn(rconn_t *c, DBR_Errorcode_t err);
/** Starts connecting if idle: resolves the host, queues the handshake, arms the connect timeout. */
void rc_start_connect(rconn_t *c);
/** Tries the addresses left in turn: 0 once a connect to one is under way, -1 if none is left. */
int rc_try_addr(rconn_t *c);
/** The epoll callback of a connection's socket. */
void rc_on_event(rio_watch_t *w, uint32_t events);

#endif /* LIBDBR_REDIS_CONN_INTERNAL_H_ */
