/*
 * RESP encoding and reply classification for the Redis backend: no sockets here (redis-conn.c and
 * redis-conn-io.c do I/O, hiredis's redisReader does the parsing).
 */
#ifndef LIBDBR_REDIS_PROTO_H_
#define LIBDBR_REDIS_PROTO_H_

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "errorcodes.h"

/** A growable byte buffer. oom is set (and further appends ignored) when an allocation failed. */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} rbuf_t;

void rbuf_free(rbuf_t *b);
int rbuf_reserve(rbuf_t *b, size_t extra);
void rbuf_append(rbuf_t *b, const void *data, size_t len);

/** Appends one RESP bulk string ("$<len>\r\n<data>\r\n"). */
void resp_arg(rbuf_t *b, const void *data, size_t len);
void resp_arg_str(rbuf_t *b, const char *s);
void resp_arg_int(rbuf_t *b, long long v);
/** Writes the array header "*<argc>\r\n" into out (at least 24 bytes); returns its length. */
size_t resp_array_header(char *out, long long argc);

/** An error reply's text starts with word (e.g. "NOAUTH", "MOVED"). */
int reply_error_is(const redisReply *r, const char *word);

/**
 * Maps an error reply to a DBR code: authentication errors (NOAUTH, WRONGPASS, invalid password) to
 * DBR_ERR_NOAUTH, out-of-memory to DBR_ERR_NOMEMORY, CLUSTERDOWN and anything else to DBR_ERR_BE_GENERAL.
 */
DBR_Errorcode_t reply_error_code(const redisReply *r);

/** Copies a reply's text (error, status or string) into out, bounded and NUL-terminated. */
void reply_text(const redisReply *r, char *out, size_t outlen);

#endif /* LIBDBR_REDIS_PROTO_H_ */
