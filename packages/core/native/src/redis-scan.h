/*
 * Key walks of the Redis backend (backend-redis-scan.c), for the calls that run in the caller's thread.
 */
#ifndef LIBDBR_REDIS_SCAN_H_
#define LIBDBR_REDIS_SCAN_H_

#include "redis-backend.h"
#include "util.h"

static inline DBR_Errorcode_t rb_oom(void)
{
  return dbr_err(DBR_ERR_NOMEMORY, "out of memory");
}

/** Runs a command; returns the reply or NULL (error recorded). An error reply is turned into a code. */
redisReply *rb_call_ok(rbe_t *be, rcmd_t *cmd, const char *what, DBR_Errorcode_t *err);
/** "<escaped ns>::<pattern>" (malloc'ed), for SCAN MATCH. */
char *rb_scan_pattern(const dbr_ns_t *ns, const char *pattern, size_t *len);
/** The tuple name of a key of ns, or NULL if the key is not in ns. */
const char *rb_name_of_key(const dbr_ns_t *ns, const char *key, size_t klen, size_t *nlen);

/** Gets each SCAN page (an array of string replies); non-zero stops the walk (negative: an error recorded). */
typedef int (*rb_page_fn)(void *ctx, redisReply **keys, size_t n);
/** Walks the keys matching pattern (and of the given TYPE, if not NULL) on every master, a page at a time. */
DBR_Errorcode_t rb_scan_all(rbe_t *be, const char *pattern, size_t plen, const char *type, rb_page_fn page, void *ctx);

/** Gets each reply of rb_per_key with its key; non-zero skips the rest. */
typedef int (*rb_key_reply_fn)(void *ctx, const redisReply *key, const redisReply *reply);
/** Sends "<verb> <key> [arg]" for each key of a SCAN page, pipelined; 0, what `each` returned, or -1. */
int rb_per_key(rbe_t *be, redisReply **keys, size_t n, const char *verb, const char *arg, rb_key_reply_fn each,
               void *ctx);
/** Deletes every key matching pattern (and TYPE, if not NULL) on every master; *count: how many existed. */
DBR_Errorcode_t rb_unlink_matching(rbe_t *be, const char *pattern, size_t plen, const char *type, long long *count);

#endif /* LIBDBR_REDIS_SCAN_H_ */
