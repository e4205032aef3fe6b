/*
 * Internals of the Redis backend, shared by backend-redis.c (nodes, routing, synchronous calls),
 * backend-redis-open.c (opening and closing), backend-redis-cmd.c (building commands), backend-redis-ns.c
 * (namespaces), backend-redis-data.c (the data calls that do not wait), backend-redis-scan.c (their key
 * walks), and backend-redis-wait.c with backend-redis-attempt.c, backend-redis-notify.c and
 * backend-redis-block.c (requests that may wait: the keyspace-notification wait engine).
 *
 * Threads: every connection, the node table, the slot map and the waiter groups belong to the I/O thread
 * (redis-io.h). Caller threads build commands (rcmd_t), post them and wait on a condition variable; they read
 * only the immutable fields of rbe_t. The only lock shared with callers besides the post queue is req_mu,
 * which arbitrates between completing a request and cancelling it.
 */
#ifndef LIBDBR_REDIS_BACKEND_H_
#define LIBDBR_REDIS_BACKEND_H_

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "backend.h"
#include "cluster.h"
#include "redis-conn.h"
#include "redis-io.h"
#include "redis-map.h"
#include "redis-proto.h"
#include "request.h"

/* ---- server-side scripts (EVALSHA, EVAL on NOSCRIPT); the number is how many keys each touches ---- */
enum {
  SCR_POP_FIT,     /* 1 key: pop the head if it fits in ARGV[1] bytes, else return its length */
  SCR_MOVE_FIT,    /* 2 keys: pop src head if it fits, push it at dst tail, return it */
  SCR_GIVE_BACK,   /* 2 keys: undo a move-value (remove the value from dst tail, push it back at src head) */
  SCR_MOVE_LIST,   /* 2 keys: move every value of src to the tail of dst */
  SCR_NS_CREATE,   /* 1 key: HSETNX id + HMSET refcnt/groups/flags */
  SCR_NS_ATTACH,   /* 1 key: EXISTS + HINCRBY refcnt 1 */
  SCR_NS_DETACH,   /* 1 key: HINCRBY refcnt -1; tells the last detacher of a delete-pending namespace */
  SCR_NS_DELETE,   /* 1 key: mark delete-pending; tells whether anyone is still attached */
  SCR_NS_DROP,     /* 1 key: delete the hash if still unattached and delete-pending */
  SCR_NS_RELEASE,  /* 1 key: HINCRBY refcnt -n for attachments of dead processes */
  SCR_UNREG,       /* 1 key: drop this process's attachment record; tells whether it was still there */
  SCR_REAP,        /* 1 key: drop the attachment records of dead processes, return how many */
  SCR_PUT_IF_ABSENT, /* 1 key: RPUSH only if the list does not exist; 1 if stored */
  SCR_POP_PUT,     /* 2 keys: LPOP the first; if it held a value, RPUSH ARGV[1] to the second; 1 if done */
  SCR_MOVE_MANY,   /* ARGV[1] source keys, then destination keys: fill each destination from the first non-empty source */
  SCR_STEPS,       /* the steps (unless, pop, put) of one hash slot; ARGV[1] = one kind letter per step, then values */
  SCR_COUNT
};

#define DBR_BLOCKING_POOL_DEFAULT 4
#define DBR_SPIN_US_DEFAULT 100
#define KEYSPACE_PREFIX "__keyspace@0__:"
#define HEARD_RING 256
#define KEYSPACE_PREFIX_LEN 15
#define SCAN_COUNT "1000"
/* Attachment records (which live process holds how many attachments): a HASH "<prefix><ns>" of
 * token -> count, beside the namespace so its layout stays the Data Broker's four fields. */
#define ATTACHED_PREFIX "__dbr_attached__:"

typedef struct rbe rbe_t;
typedef struct rnode rnode_t;
typedef struct rcmd rcmd_t;
typedef struct wgroup wgroup_t;
typedef struct rreq rreq_t;

/** A routed command. Built by any thread, then owned by the I/O thread until its done callback has run. */
typedef void (*rcmd_done_fn)(rcmd_t *cmd, redisReply *reply, DBR_Errorcode_t err);

struct rcmd {
  rbe_t *be;
  rbuf_t body;      /* the arguments, RESP-encoded (after the script header for scripts) */
  int argc;         /* arguments in body */
  int script;       /* SCR_* or -1 */
  int use_eval;     /* NOSCRIPT seen: send the script text */
  char hdr[96];
  size_t hdr_len;
  char *key;        /* routing key (owned), or NULL to target `node` */
  size_t keylen;
  int node;         /* target node when key is NULL; the node it was last sent to otherwise */
  int master;       /* >= 0: target the master-th master (resolved when sent) */
  int ask_node;     /* >= 0: one ASK redirection pending to this node */
  int redirects, retries;
  int64_t deadline; /* 0: none */
  rio_task_t task;
  rio_timer_t deadline_timer, retry_timer;
  int in_flight;    /* queued on a connection */
  int finished;     /* done has run */
  rcmd_done_fn done;
  /* optional: gets (and frees) a reply that comes after done ran with DBR_ERR_TIMEOUT, i.e. the command ran
   * after all: a pop's owner puts back what it took */
  void (*late)(rcmd_t *cmd, redisReply *reply);
  void *priv;
  long aux;         /* free for the owner */
  DBR_Errorcode_t fail_err; /* fail_later's code, until its task runs */
  char errmsg[512]; /* why it failed (with err != 0) */
};

/** One Redis node (single server, or a cluster master). Never freed before the backend. */
struct rnode {
  rbe_t *be;
  int idx;
  char host[CLUSTER_HOST_MAX];
  int port;
  int is_master;
  rconn_t *cmd;      /* commands, pipelined */
  rconn_t *sub;      /* keyspace notifications (created on first waiter) */
  int notify;        /* NOTIFY_* */
  uint64_t notify_session; /* cmd session the notification config was checked in */
  struct rblock *block;    /* be->block_pool connections for server-side blocking pops (backend-redis-block.c) */
  int block_off;           /* the server lacks BLMOVE: waiters there use notifications */
  int was_down;      /* logged as unreachable; log the recovery once */
};

enum { NOTIFY_UNKNOWN = 0, NOTIFY_PENDING, NOTIFY_ON, NOTIFY_OFF };

struct rbe {
  dbr_backend_t base;
  rio_t *io;
  char *password;
  int cluster;
  atomic_int nmasters;
  atomic_int opened;   /* open succeeded: failures are logged from now on (before, open reports them) */ /* written by the I/O thread, read by callers to walk the masters */
  int64_t op_timeout_ns;
  int block_pool; /* DBR_BLOCKING_POOL: connections per node for the first waiters' blocking pops */
  int64_t max_value; /* the server's proto-max-bulk-len (512 MiB unless told otherwise) */
  char token[64]; /* "libdbr-<pid>-<random>": the CLIENT SETNAME of every connection of this process */
  char seed_host[CLUSTER_HOST_MAX];
  int seed_port;
  char sha[SCR_COUNT][41];

  pthread_mutex_t req_mu; /* cancel vs completion of requests */
  pthread_mutex_t ns_mu;  /* live_ns */
  dbr_ns_t *live_ns;

  /* ---- I/O thread only ---- */
  rnode_t **nodes;
  int nnodes, capnodes;
  int16_t slots[CLUSTER_SLOTS];
  int refreshing, refresh_again;
  int map_moved; /* a MOVED changed the map: the waiters follow at the next refresh */
  int64_t last_refresh;
  rio_timer_t refresh_timer;

  rmap_t groups;  /* keyspace channel -> named waiter group */
  rmap_t pgroups; /* keyspace pattern -> template waiter group */
  rmap_t covers;  /* key prefix -> cover (one pattern subscription for many named groups) */
  /* Channels of cover messages that found no named group, a ring numbered by heard_seq: a group created
   * right after can tell whether a value came while its first try was on the wire (rn_heard_since). */
  uint64_t heard_seq;
  uint64_t heard[HEARD_RING];
  wgroup_t *all_groups;
  wgroup_t *tick_cursor;
  wgroup_t *reap; /* covered groups gone idle this round (a client awaiting results makes tens of thousands a second) */
  rio_task_t reap_task;
  int reap_posted;
  rio_timer_t tick;
  int closing; /* the backend is being destroyed: blocking pops do not block again */
  int shutting_down;
  int fallback_logged;
};

/** Whether a handle's namespace was deleted by this process; shared by the handle and its requests. */
typedef struct {
  atomic_int refs;
  atomic_int deleted;
} rb_nsstate_t;

/** One pooled connection for server-side blocking pops, and the request blocked on it (NULL: free). */
struct rblock {
  rconn_t *conn;
  struct rreq *req;
};

/** Per-attach namespace state. */
struct dbr_ns {
  char *name;
  size_t len;
  char *esc; /* glob-escaped name, for SCAN patterns */
  size_t esclen;
  rb_nsstate_t *st;
  dbr_ns_t *prev, *next; /* the backend's live handles (under ns_mu) */
};

void rb_nsstate_unref(rb_nsstate_t *st);
/** DBR_SUCCESS, or DBR_ERR_NSINVAL (recorded) when this process deleted the handle's namespace. */
DBR_Errorcode_t rb_ns_check(const dbr_ns_t *ns);

/* ---- backend-redis-attach.c: this process's attachment records, and reaping those of dead processes ---- */
/** The record key (ATTACHED_PREFIX + namespace name), malloc'ed; NULL when out of memory. */
char *rb_attached_key(const char *ns, size_t len, size_t *klen);
/** Counts one attachment of this process (best effort: a failure only makes it unreapable). */
void rb_attach_record(rbe_t *be, const dbr_ns_t *ns);
/** Drops one attachment record of this process: 1 if it was there, 0 if it was reaped, -1 on error. */
int rb_attach_unrecord(rbe_t *be, const dbr_ns_t *ns);
/** Releases the attachments of processes that are gone: how many (the refcnt after that in *refcnt), or 0. */
long long rb_attach_reap_dead(rbe_t *be, const char *name, size_t len, long long *refcnt);

/* ---- commands (any thread) ---- */
rcmd_t *rcmd_new(rbe_t *be, int script);
void rcmd_free(rcmd_t *c);
void rcmd_arg(rcmd_t *c, const void *data, size_t len);
void rcmd_arg_str(rcmd_t *c, const char *s);
void rcmd_arg_int(rcmd_t *c, long long v);
/** The routing key (copied). Also appends it as an argument when also_arg. */
int rcmd_key(rcmd_t *c, const void *key, size_t len, int also_arg);
/** "<prefix>::<name>" into a malloc'ed string. */
char *rb_join_key(const char *prefix, size_t plen, const char *name, size_t *len);
/** "<ns>::<name>" into a malloc'ed string. */
char *tuple_key(const dbr_ns_t *ns, const char *name, size_t *len);
/** "<verb> <ns>::<name>" routed by that key (more arguments may follow); NULL when out of memory. */
rcmd_t *rb_tuple_cmd(rbe_t *be, const char *verb, const dbr_ns_t *ns, const char *name);

/* ---- I/O thread ---- */
/** Routes and sends; done runs exactly once, never from inside this call; then the command is freed. */
void rb_exec(rbe_t *be, rcmd_t *cmd);
/** The i-th master (in node order), or NULL. */
rnode_t *rb_master(rbe_t *be, int i);
int rb_node_of_key(rbe_t *be, const char *key, size_t len);
rnode_t *rb_node(rbe_t *be, int idx);
void rb_topology_refresh(rbe_t *be);
/** Refreshes the slot map if a master has been silent longer than the operation timeout (the safety tick). */
void rb_topology_check(rbe_t *be, int64_t now);
/** Loop thread (or before it runs): the index of the node at host:port, added if new; -1 out of memory. */
int rb_node_get(rbe_t *be, const char *host, int port);
/** Loop thread: takes a CLUSTER SLOTS map (nodes added as needed). */
void rb_apply_slots(rbe_t *be, const cluster_range_t *ranges, int n);
/** Sets up the periodic topology refresh (before the loop runs it). */
void rb_topology_init(rbe_t *be);

/* ---- synchronous calls (caller threads) ---- */
/**
 * Runs one command and waits (bounded by op_timeout). Returns the reply (caller frees), or NULL with *err
 * set and the thread's last error (dbr_err) recorded. Error replies are returned as replies.
 */
redisReply *rb_call(rbe_t *be, rcmd_t *cmd, DBR_Errorcode_t *err);
/** Runs n commands pipelined and waits for all; replies[i] / errs[i] per command. Returns the first error. */
DBR_Errorcode_t rb_call_many(rbe_t *be, rcmd_t **cmds, int n, redisReply **replies, DBR_Errorcode_t *errs);
/** Sends cmd to master i (SCAN and friends). NULL with *err = DBR_ERR_UNAVAIL when there is no master i. */
redisReply *rb_call_master(rbe_t *be, int i, rcmd_t *cmd, DBR_Errorcode_t *err);
/** DBR_SUCCESS, or DBR_ERR_NOMEMORY (recorded) when a value is larger than the server accepts. */
DBR_Errorcode_t rb_check_size(rbe_t *be, int64_t size);
/** Maps an error reply to a code and records the message. */
DBR_Errorcode_t rb_reply_error(const redisReply *r, const char *what);

/** A function run in the I/O thread while the calling thread waits for it (opening, closing, a delete). */
typedef struct rb_loop_call {
  rio_task_t task; /* first: the task's fn gets the call */
  rbe_t *be;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} rb_loop_call_t;
/** Caller thread: runs fn(&lc->task) in the I/O thread and returns once it calls rb_loop_call_done(lc). */
void rb_loop_call_run(rbe_t *be, rb_loop_call_t *lc, void (*fn)(rio_task_t *));
/** I/O thread: the end of a loop call's work; its caller goes on. */
void rb_loop_call_done(rb_loop_call_t *lc);

/* ---- namespaces (backend-redis-ns.c) and the data calls that do not wait (backend-redis-data.c) ---- */
void rb_ns_install(dbr_backend_t *b);
void rb_data_install(dbr_backend_t *b);
/**
 * Builds the RPUSH commands of a packed batch (see dbrxPutMany): one per distinct name, values in batch order.
 * Returns the number of commands (*out malloc'ed), or -1 when out of memory.
 */
int rb_build_put_many(rbe_t *be, const dbr_ns_t *ns, const void *packed, int64_t len, rcmd_t ***out);

/* ---- the wait engine (backend-redis-wait.c, backend-redis-notify.c) ---- */
void rb_wait_install(dbr_backend_t *b);
void rb_wait_init(rbe_t *be);
void rb_wait_node_ready(rnode_t *n);                 /* cmd connection became ready */
void rb_wait_node_down(rnode_t *n, DBR_Errorcode_t err, const char *why);
void rb_wait_topology_changed(rbe_t *be);
void rb_wait_ns_deleted(rbe_t *be, const char *name); /* fail the waiters of a namespace deleted here */
void rb_wait_shutdown(rbe_t *be);                    /* I/O thread, at destroy */
void rb_wait_free(rbe_t *be);                        /* after the I/O thread stopped */

extern const char *const rb_script_src[SCR_COUNT];

#endif /* LIBDBR_REDIS_BACKEND_H_ */
