/*
 * libdbr extensions: what tsdbr needs beyond the Data Broker v0.7 ABI.
 *
 * Every symbol here carries the dbrx prefix, so code that sticks to libdatabroker.h stays portable to any
 * other implementation of the Data Broker. Bindings probe for dbrxAbiVersion() to know whether they are
 * loaded on libdbr.
 *
 * Timeouts are in milliseconds: DBRX_TIMEOUT_DEFAULT uses DBR_TIMEOUT, 0 does not wait (like
 * DBR_FLAGS_NOWAIT), DBRX_TIMEOUT_INFINITE waits until a value comes or the request is cancelled.
 */
#ifndef INCLUDE_LIBDBR_EXT_H_
#define INCLUDE_LIBDBR_EXT_H_

#include "libdatabroker.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DBRX_ABI_VERSION (1)
#define DBRX_TIMEOUT_DEFAULT (-1)
#define DBRX_TIMEOUT_INFINITE (-2)

/** DBRX_ABI_VERSION of the loaded library. */
int dbrxAbiVersion(void);

/**
 * The backend in use: "mem", "redis" or "redis-cluster". Connects on first use (DBR_SERVER, DBR_AUTHFILE);
 * on failure returns "error" and dbrxLastError() says why.
 */
const char *dbrxBackend(void);

/** The last failure of this thread, as a sentence naming the problem and the fix ("" if none). */
const char *dbrxLastError(void);
/** The error code that went with dbrxLastError() (DBR_SUCCESS if none). */
DBR_Errorcode_t dbrxLastErrorCode(void);

/* ---- completion queues ----
 * A queue collects the tags of the dbrx*Async requests bound to it. When a queue goes from empty to
 * non-empty, one byte is written to its notification pipe; the owner then drains every tag and collects each
 * result with dbrxTake(). An event loop can watch the pipe without a thread of its own. */
typedef struct dbrx_queue dbrx_queue_t;

/** Opens a queue with its own non-blocking pipe. NULL on error. */
dbrx_queue_t *dbrxQueueOpen(void);
/**
 * Hands the read end of the queue's pipe to the caller, who then owns it and closes it (an event loop closes
 * the fd it watches). A second call returns -1. Without a call, dbrxQueueClose() closes it.
 */
int dbrxQueueFd(dbrx_queue_t *q);
/** Moves up to max completed tags into tags; returns how many, or -1 for an invalid queue. */
int dbrxQueueDrain(dbrx_queue_t *q, DBR_Tag_t *tags, int max);
/**
 * Corks (1) or uncorks (0) a queue, like TCP_CORK: while corked, the dbrx*Async requests bound to it are held,
 * and uncorking starts them back to back, so that a backend with an I/O thread sends them in one write. A
 * cork holds at most 16 requests: the 16th starts the chunk held so far, so the backend works on a long burst
 * while its caller is still submitting the rest. An event loop corks at its first request of a turn and
 * uncorks at the end of the turn. Held requests can be cancelled; closing the queue cancels them.
 */
DBR_Errorcode_t dbrxQueueCork(dbrx_queue_t *q, int corked);
/** Cancels the queue's pending requests, releases its uncollected results and closes the pipe (the read end only if it was not handed over). */
DBR_Errorcode_t dbrxQueueClose(dbrx_queue_t *q);

/* ---- asynchronous requests with library-owned results ----
 * Each returns a tag, or DB_TAG_ERROR (see dbrxLastError). The result is collected with dbrxTake(); a
 * pending request is withdrawn with dbrCancel(), and a withdrawn get never consumes a value. A get whose pop
 * is on the wire is not withdrawn (dbrCancel returns DBR_ERR_INVALIDOP): it completes with the value if the
 * pop got one, else with DBR_ERR_CANCELLED. Timeouts work the same way (DBR_ERR_TIMEOUT). On Redis, the
 * first waiters of a node (DBR_BLOCKING_POOL, default 4) wait in a blocking pop on the server for their first
 * 2 s: their pop counts as on the wire all that time, so a cancel completes within one 100 ms slice (plus the
 * server's timer period, 100 ms by default), with DBR_ERR_CANCELLED or with a value that came meanwhile. */

DBR_Tag_t dbrxReadAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *name, const char *match_template,
                        int flags, int64_t timeout_ms);
DBR_Tag_t dbrxGetAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *name, const char *match_template,
                       int flags, int64_t timeout_ms);
/** The buffer is referenced, not copied: keep it valid until the tag completes. */
DBR_Tag_t dbrxPutAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *buf, int64_t size, const char *name);
/** Puts a packed batch (see dbrxPutMany); the buffer must stay valid until the tag completes. */
DBR_Tag_t dbrxPutManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *packed, int64_t len);
/**
 * Atomically pops the oldest value under src_name in src and appends it under dst_name in dst, returning
 * the value (reliable claiming: the value is never outside the tuple space). Waits like get.
 */
DBR_Tag_t dbrxMoveValueAsync(dbrx_queue_t *q, DBR_Handle_t src, const char *src_name, DBR_Handle_t dst,
                             const char *dst_name, int flags, int64_t timeout_ms);

/**
 * Collects a completed request. DBR_ERR_INPROGRESS while pending. When the request produced a value:
 * if it fits in *size bytes it is copied to buf, *size is set to its size, the tag is released and
 * DBR_SUCCESS returned; otherwise *size is set to the needed size, DBR_ERR_UBUFFER returned and the tag
 * kept, so the caller can retry with a larger buffer. Any other outcome returns its code and releases the tag
 * (*size is 0).
 */
DBR_Errorcode_t dbrxTake(DBR_Tag_t tag, void *buf, int64_t *size);

/** dbrxQueueDrainTake: no value was appended for this tag. */
#define DBRX_NO_VALUE (-1)
/**
 * dbrxQueueDrainTake: the tag is kept, collect it with dbrxTake: its value did not fit in what was left of buf,
 * or it failed with an explanation that dbrxTake hands to dbrxLastError.
 */
#define DBRX_TAKE_LATER (-2)

/**
 * dbrxQueueDrain and dbrxTake in one call, so an event loop collects a whole wake-up's completions without a
 * call per request: drains up to max completed tags into tags and collects each one. statuses[i] gets its
 * code; its value, if any, is appended to buf and sizes[i] set to its length (values follow each other in
 * tag order); sizes[i] is DBRX_NO_VALUE when there is none, or DBRX_TAKE_LATER when the tag is kept for
 * dbrxTake (see there). Returns how many tags, or -1.
 */
int dbrxQueueDrainTake(dbrx_queue_t *q, DBR_Tag_t *tags, int32_t *statuses, int32_t *sizes, void *buf,
                       int64_t bufsize, int max);

/* ---- synchronous calls with a per-call timeout ---- */

DBR_Errorcode_t dbrxRead(DBR_Handle_t h, void *buf, int64_t *size, const char *name, const char *match_template,
                         int flags, int64_t timeout_ms);
DBR_Errorcode_t dbrxGet(DBR_Handle_t h, void *buf, int64_t *size, const char *name, const char *match_template,
                        int flags, int64_t timeout_ms);
DBR_Errorcode_t dbrxMoveValue(DBR_Handle_t src, const char *src_name, DBR_Handle_t dst, const char *dst_name,
                              void *buf, int64_t *size, int flags, int64_t timeout_ms);

/**
 * Puts a batch in one call. packed holds records back to back, each:
 *   uint32_t name_len (little endian), uint64_t value_len (little endian), name bytes (no NUL), value bytes.
 * The batch is validated whole before anything is stored. Values under one name keep their batch order.
 */
DBR_Errorcode_t dbrxPutMany(DBR_Handle_t h, const void *packed, int64_t len);

/**
 * Stores a value only if no value is stored under the name, atomically (for deduplication keys and
 * first-writer-wins markers). *stored is 1 if it stored the value, 0 if a value was there already.
 */
DBR_Errorcode_t dbrxPutIfAbsent(DBR_Handle_t h, const void *buf, int64_t size, const char *name, int *stored);

/**
 * Atomically drops the oldest value under pop_name and appends buf under put_name; DBR_ERR_UNAVAIL (and
 * nothing put) if pop_name holds no value. Finishing a claimed task in one step: the claim disappears exactly
 * when the result appears. On Redis Cluster both names need the same {hash tag}. The async form references
 * buf until the tag completes.
 */
DBR_Errorcode_t dbrxPopPut(DBR_Handle_t h, const char *pop_name, const char *put_name, const void *buf,
                           int64_t size);
DBR_Tag_t dbrxPopPutAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *pop_name, const char *put_name,
                          const void *buf, int64_t size);

/* ---- batches for task queues ----
 * One request, many independent atomic steps: a worker claims a batch of tasks and finishes a batch of tasks
 * in one round trip each. Name lists are tuple names separated by '\n' (names never contain one). */

#define DBRX_MOVE_MANY_MAX_SOURCES (16)
#define DBRX_MOVE_MANY_MAX_DESTINATIONS (1024)

/**
 * Fills destinations in order: for each name of `destinations`, atomically pops the oldest value of the first
 * name of `sources` that holds one and appends it under the destination (as dbrxMoveValue does), stopping at
 * the first destination for which every source is empty. Never waits. The result, collected with dbrxTake,
 * is the moved values packed back to back as uint64_t length (little endian) + bytes: the i-th record went
 * to the i-th destination; an empty result means nothing was moved. The request cannot be withdrawn once
 * submitted (dbrCancel fails), so a caller always learns where values went. On Redis Cluster every name needs
 * the same {hash tag}.
 */
DBR_Tag_t dbrxMoveManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const char *sources, const char *destinations);

/** Step flag of dbrxPopPutManyAsync: look at the `unless` name without popping it. */
#define DBRX_STEP_PEEK_UNLESS (1)
/** Step results of dbrxPopPutManyAsync. */
#define DBRX_STEP_EMPTY (0)   /**< the pop name held no value, so nothing was put */
#define DBRX_STEP_DONE (1)    /**< the step ran (a step with only `unless`: that name holds no value) */
#define DBRX_STEP_SKIPPED (2) /**< the `unless` name holds a value: popped (unless peeking), nothing else done */

/**
 * Runs a packed batch of steps, each atomic on its own (not a transaction). Records back to back, each:
 *   uint32_t pop_len, uint32_t put_len, uint32_t unless_len, uint32_t flags, uint64_t value_len (little
 *   endian), then the pop name, put name, unless name and value.
 * pop and put: a pop-put (see dbrxPopPut); put only: a put; pop only: drops the oldest value under pop (no
 * value allowed). unless: when that name holds a value, the step only pops it (or just looks, with
 * DBRX_STEP_PEEK_UNLESS) and does nothing else: finishing a task unless it was cancelled, in one step. A step
 * may hold only `unless` (a test). On Redis Cluster the names of one step need one {hash tag}. The batch is
 * validated whole before any step runs, and the buffer must stay valid until the tag completes. The result,
 * collected with dbrxTake, holds one DBRX_STEP_* byte per record. On an error the request completes with the
 * first error's code; the other steps may have run.
 */
DBR_Tag_t dbrxPopPutManyAsync(dbrx_queue_t *q, DBR_Handle_t h, const void *packed, int64_t len);

/** Number of values stored under a name (0 if none). */
DBR_Errorcode_t dbrxCount(DBR_Handle_t h, const char *name, int64_t *count);

typedef struct {
  int64_t names;  /**< tuple names holding at least one value */
  int64_t values; /**< values under all names */
  int64_t bytes;  /**< bytes of all values (-1 where the backend cannot tell cheaply) */
  int64_t refcnt; /**< attached clients */
  int64_t flags;  /**< 1 = delete pending */
} dbrx_stat_t;

/** Statistics of a namespace. On Redis this scans the namespace: not for hot paths. */
DBR_Errorcode_t dbrxStat(DBR_Handle_t h, dbrx_stat_t *st);

/** The namespace's name, copied into buf (at least DBR_MAX_KEY_LEN + 1 bytes). */
DBR_Errorcode_t dbrxNamespaceName(DBR_Handle_t h, char *buf, size_t size);

/** Lists namespace names matching a glob, separated by '\n', like dbrDirectory. */
DBR_Errorcode_t dbrxNamespaces(const char *match_template, unsigned count, char *buf, size_t size,
                               int64_t *ret_size);

/**
 * Walks tuple names like dbrIterator, many per call (for bindings whose every call is costly). Start with
 * *iterator = DBR_ITERATOR_NEW (match_template is read then). Each call writes up to max names (0: no limit)
 * into buf, each followed by '\n', then a NUL, sets *ret_count, and sets *iterator to the iterator to pass
 * next time, or to DBR_ITERATOR_DONE once the walk is over (the iterator is then released; the call may
 * still have returned names). A name is taken from the walk only while any name fits, so size must be at
 * least DBR_MAX_KEY_LEN + 2 (else DBR_ERR_UBUFFER, *iterator untouched). When the walk fails the iterator is
 * released and *iterator set to DBR_ITERATOR_DONE. An iterator can be continued with dbrIterator and
 * released with dbrxIteratorFree.
 */
DBR_Errorcode_t dbrxIteratorNextMany(DBR_Handle_t h, DBR_Iterator_t *iterator, const char *match_template,
                                     unsigned max, char *buf, size_t size, unsigned *ret_count);

/** Releases an iterator before it reached DBR_ITERATOR_DONE. */
DBR_Errorcode_t dbrxIteratorFree(DBR_Iterator_t iterator);

#ifdef __cplusplus
}
#endif
#endif /* INCLUDE_LIBDBR_EXT_H_ */
