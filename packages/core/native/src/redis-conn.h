/*
 * One non-blocking connection to one Redis node, driven by the I/O thread (redis-io.h).
 *
 * Commands are pipelined: rconn_send() queues a command (up to 4 byte segments that the caller keeps alive
 * until its callback runs) and every reply goes to the callback of the oldest command, exactly once. A
 * connection opens itself on demand: TCP connect, then a handshake (AUTH when a password is set, CLIENT
 * SETNAME, CLIENT ID), all bounded by a connect timeout. When it breaks, every queued command fails with
 * the reason (DBR_ERR_NOCONNECT, or DBR_ERR_NOAUTH for a refused password) and reconnects back off
 * exponentially (50 ms doubling to 2 s, with jitter); while backing off, rconn_send() fails at once.
 * Replies that match no command (pub/sub messages) go to the on_push hook.
 *
 * Everything here runs in the loop thread. Errors are stored on the connection (rconn_last_error), never
 * printed. The connection's fields are in redis-conn-internal.h, for redis-conn.c and redis-conn-io.c only.
 */
#ifndef LIBDBR_REDIS_CONN_H_
#define LIBDBR_REDIS_CONN_H_

#include <stdint.h>
#include <sys/uio.h>
#include <hiredis/hiredis.h>
#include "cluster.h"
#include "errorcodes.h"
#include "redis-io.h"
#include "redis-proto.h"

typedef struct rconn rconn_t;

/** A reply (owned by the callee: freeReplyObject it) or, with reply NULL, the reason it will never come. */
typedef void (*rconn_reply_fn)(rconn_t *c, void *priv, redisReply *reply, DBR_Errorcode_t err);

typedef struct {
  void (*on_ready)(rconn_t *c);                                   /* handshake done */
  void (*on_down)(rconn_t *c, DBR_Errorcode_t err, int was_ready); /* broke, or an attempt failed */
  void (*on_push)(rconn_t *c, redisReply *r);                     /* reply without a command; owns r */
} rconn_hooks_t;

typedef enum { RC_IDLE = 0, RC_CONNECTING, RC_HANDSHAKE, RC_READY } rconn_state_t;

/** password and client_name (CLIENT SETNAME) are borrowed and must outlive the connection. */
rconn_t *rconn_new(rio_t *io, const char *host, int port, const char *password, const char *client_name,
                   int64_t connect_timeout_ns, const rconn_hooks_t *hooks, void *owner);
/** Fails every queued command with err, closes the socket and stops reconnecting. */
void rconn_shutdown(rconn_t *c, DBR_Errorcode_t err);
/** Frees the connection (after rconn_shutdown, or with nothing queued). No callback runs. */
void rconn_free(rconn_t *c);

/**
 * Queues a command. DBR_SUCCESS: fn will run exactly once. Otherwise nothing was queued and fn will not run:
 * DBR_ERR_NOCONNECT / DBR_ERR_NOAUTH while the node is backing off after a failure, DBR_ERR_NOMEMORY.
 */
DBR_Errorcode_t rconn_send(rconn_t *c, const struct iovec *iov, int niov, rconn_reply_fn fn, void *priv);
/** Queues a command that gets no reply of its own (SUBSCRIBE and friends); takes ownership of buf. */
DBR_Errorcode_t rconn_send_noreply(rconn_t *c, char *buf, size_t len);
/** Starts connecting now if idle (and the backoff allows). */
void rconn_connect(rconn_t *c);
/** Reconnect in the background with backoff whenever the connection breaks (default off). */
void rconn_set_auto(rconn_t *c, int on);

rconn_state_t rconn_state(const rconn_t *c);
void *rconn_owner(const rconn_t *c);
const char *rconn_name(const rconn_t *c); /* "host:port" */
const char *rconn_host(const rconn_t *c);
/** The last failure, e.g. "127.0.0.1:7001: Connection refused" ("" if none). */
const char *rconn_last_error(const rconn_t *c);
DBR_Errorcode_t rconn_last_code(const rconn_t *c);
/** The server's CLIENT ID for this connection, -1 if unknown. */
long long rconn_client_id(const rconn_t *c);
/** Commands queued or awaiting a reply. */
size_t rconn_pending(const rconn_t *c);
/** How long commands on the wire have waited without a byte coming back (0 if none waits): a node that is
 *  hung or cut off but whose connection stays up. */
int64_t rconn_silent_ns(const rconn_t *c, int64_t now);
/** Bumps when the connection becomes ready, so owners can tell one session from the next. */
uint64_t rconn_session(const rconn_t *c);

#endif /* LIBDBR_REDIS_CONN_H_ */
