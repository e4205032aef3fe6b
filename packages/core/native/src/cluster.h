/*
 * Redis Cluster routing, without I/O: key slots (CRC16 with {hash tag} rules), the slot map parsed from a
 * CLUSTER SLOTS reply, and MOVED / ASK redirections parsed from error replies.
 */
#ifndef LIBDBR_CLUSTER_H_
#define LIBDBR_CLUSTER_H_

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#define CLUSTER_SLOTS 16384
#define CLUSTER_HOST_MAX 256

uint16_t crc16_xmodem(const char *buf, size_t len);

/**
 * The hash slot of a key. If the key holds "{...}" with at least one byte between the first '{' and the next
 * '}', only those bytes are hashed (the Redis Cluster hash tag rule); otherwise the whole key is.
 */
unsigned cluster_key_slot(const char *key, size_t len);

/** One master's share of the slot space. */
typedef struct {
  int start, end; /* inclusive */
  char host[CLUSTER_HOST_MAX];
  int port;
} cluster_range_t;

/**
 * Parses a CLUSTER SLOTS reply into master ranges. An empty or "?" host means "the node that answered":
 * default_host is used then. Returns the number of ranges (>= 0) stored in *out (malloc'ed, caller frees),
 * or -1 on a malformed reply with a reason in err.
 */
int cluster_parse_slots(const redisReply *r, const char *default_host, cluster_range_t **out, char *err,
                        size_t errlen);

typedef enum { CLUSTER_REDIR_NONE = 0, CLUSTER_REDIR_MOVED, CLUSTER_REDIR_ASK } cluster_redir_t;

/**
 * Recognises "MOVED <slot> <host>:<port>" and "ASK <slot> <host>:<port>" error texts. An empty host means
 * the node that answered (default_host). Returns CLUSTER_REDIR_NONE for any other text.
 */
cluster_redir_t cluster_parse_redirect(const char *err, size_t len, const char *default_host, int *slot,
                                       char *host, size_t hostlen, int *port);

/** Splits "host:port" or "[v6addr]:port". Returns 0 on success, -1 if malformed. */
int cluster_split_hostport(const char *s, size_t len, char *host, size_t hostlen, int *port);

#endif /* LIBDBR_CLUSTER_H_ */
