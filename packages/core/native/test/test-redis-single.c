/*
 * libdbr on one Redis server (with a password): the Data Broker's key layout checked with hiredis after each
 * call, put/get/read/FIFO/index, a too-small buffer keeps the value, templates, move/remove,
 * directory/iterator, glob-escaped namespace names, delete semantics, stat/namespaces/count/put-many/
 * move-value, values written by another client, and the failures: wrong or missing password (NOAUTH, the
 * password never in the message) and an unreachable server (NOCONNECT).
 *
 * The server is started by test/redis-servers.sh and stopped when the test ends, even if it crashes (the
 * checks run in a child process). DBR_TEST_REDIS=host:port (and DBR_TEST_REDIS_PASSWORD) use a given server
 * instead; it must be disposable (the test flushes it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "backend.h"
#include "cluster.h"
#include "redis-io.h"
#include "libdbr_ext.h"
#include "request.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

/* ---- this test ---- */

static int g_port;
static char g_pass[64] = "s3cret-pw";
static redisContext *g_rc; /* inspects the server */
static char g_exe[512];

static redisReply *rq(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(g_rc, fmt, ap);
  va_end(ap);
  if (!r) {
    fprintf(stderr, "hiredis: %s\n", g_rc->errstr);
    exit(2);
  }
  return r;
}

#define rq_int(...) rc_int(g_rc, __VA_ARGS__)

/* A reply's string ("" for nil), in a static buffer. */
static const char *rq_str(const char *fmt, ...)
{
  static char buf[4][512];
  static int k;
  char *out = buf[k++ % 4];
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(g_rc, fmt, ap);
  va_end(ap);
  out[0] = '\0';
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    snprintf(out, 512, "%.*s", (int)r->len, r->str);
  if (r) freeReplyObject(r);
  return out;
}

static DBR_Errorcode_t put_s(DBR_Handle_t h, const char *name, const char *val)
{
  return dbrPut(h, (void *)val, (int64_t)strlen(val), (char *)name, NULL);
}

static DBR_Errorcode_t get_s(DBR_Handle_t h, const char *name, const char *tmpl, int flags, char *out, int get)
{
  int64_t size = 255;
  DBR_Errorcode_t rc = get ? dbrGet(h, out, &size, (char *)name, (char *)tmpl, NULL, flags)
                           : dbrRead(h, out, &size, (char *)name, (char *)tmpl, NULL, flags);
  out[rc == DBR_SUCCESS ? size : 0] = '\0';
  return rc;
}

static void test_layout(void)
{
  DBR_Handle_t h = dbrCreate("lay", 0, NULL);
  CHECK(h != NULL);
  CHECK_STR(rq_str("TYPE lay"), "hash");
  CHECK_STR(rq_str("HGET lay id"), "lay");
  CHECK_STR(rq_str("HGET lay refcnt"), "1");
  CHECK_STR(rq_str("HGET lay groups"), "");
  CHECK_EQ(rq_int("HEXISTS lay groups"), 1);
  CHECK_STR(rq_str("HGET lay flags"), "0");
  CHECK_EQ(rq_int("HLEN lay"), 4);
  CHECK(dbrCreate("lay", 0, NULL) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_EXISTS);

  DBR_Handle_t h2 = dbrAttach("lay");
  CHECK(h2 != NULL);
  CHECK_STR(rq_str("HGET lay refcnt"), "2");
  DBR_State_t st = 0;
  CHECK_EQ(dbrQuery(h2, &st, DBR_STATE_MASK_ALL), DBR_SUCCESS);
  CHECK_EQ(st, 2);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_STR(rq_str("HGET lay refcnt"), "1");
  CHECK(dbrAttach("nope") == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_UNAVAIL);

  /* tuples: a LIST at "<ns>::<name>", RPUSH order */
  CHECK_EQ(put_s(h, "t", "v1"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "t", "v2"), DBR_SUCCESS);
  CHECK_STR(rq_str("TYPE lay::t"), "list");
  CHECK_EQ(rq_int("LLEN lay::t"), 2);
  CHECK_STR(rq_str("LINDEX lay::t 0"), "v1");
  CHECK_STR(rq_str("LINDEX lay::t 1"), "v2");
  char out[256];
  CHECK_EQ(get_s(h, "t", NULL, 0, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "v1");
  CHECK_EQ(rq_int("LLEN lay::t"), 1);
  CHECK_EQ(get_s(h, "t", NULL, 0, out, 1), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS lay::t"), 0); /* an emptied list is gone */

  /* values written by another client are read, and ours are readable by it */
  freeReplyObject(rq("RPUSH lay::ext %b", "\0bin\xff", (size_t)5));
  int64_t size = sizeof out;
  CHECK_EQ(dbrGet(h, out, &size, "ext", NULL, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(size, 5);
  CHECK_MEM(out, "\0bin\xff", 5);
  CHECK_EQ(dbrPut(h, "x\0y", 3, "bin", NULL), DBR_SUCCESS);
  redisReply *r = rq("LPOP lay::bin");
  CHECK(r->type == REDIS_REPLY_STRING && r->len == 3 && memcmp(r->str, "x\0y", 3) == 0);
  freeReplyObject(r);

  /* delete while attached twice: NSBUSY, marked pending; the last detach removes hash and tuples */
  h2 = dbrAttach("lay");
  CHECK(h2 != NULL);
  CHECK_EQ(put_s(h, "keep", "1"), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("lay"), DBR_ERR_NSBUSY);
  CHECK_STR(rq_str("HGET lay flags"), "1");
  CHECK(dbrAttach("lay") == NULL); /* no new clients while delete-pending */
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS lay"), 1);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS lay"), 0);
  CHECK_EQ(rq_int("EXISTS lay::keep"), 0);

  /* delete with only the caller attached: immediate */
  h = dbrCreate("lay2", 0, NULL);
  CHECK_EQ(put_s(h, "a", "1"), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("lay2"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS lay2"), 0);
  CHECK_EQ(rq_int("EXISTS lay2::a"), 0);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("lay2"), DBR_ERR_UNAVAIL);
}

static void test_data(void)
{
  DBR_Handle_t h = dbrCreate("data", 0, NULL);
  char out[256];
  CHECK_EQ(put_s(h, "q", "one"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "q", "two"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "q", "three"), DBR_SUCCESS);
  CHECK_EQ(get_s(h, "q", NULL, 0, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "one");
  CHECK_EQ(get_s(h, "q", NULL, 2 << DBR_FLAGS_INDEX_SHIFT, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "three");
  CHECK_EQ(get_s(h, "q", NULL, (3 << DBR_FLAGS_INDEX_SHIFT) | DBR_FLAGS_NOWAIT, out, 0), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrTestKey(h, "q"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "none"), DBR_ERR_UNAVAIL);
  int64_t n = 0;
  CHECK_EQ(dbrxCount(h, "q", &n), DBR_SUCCESS);
  CHECK_EQ(n, 3);
  CHECK_EQ(get_s(h, "q", NULL, 0, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "one");
  CHECK_EQ(get_s(h, "q", NULL, 0, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "two");
  CHECK_EQ(get_s(h, "q", NULL, 0, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "three");
  CHECK_EQ(get_s(h, "q", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_UNAVAIL);

  /* a too-small buffer keeps the value (the reference loses it) */
  char big[100];
  memset(big, 'b', sizeof big);
  CHECK_EQ(dbrPut(h, big, sizeof big, "big", NULL), DBR_SUCCESS);
  int64_t size = 10;
  CHECK_EQ(dbrGet(h, out, &size, "big", NULL, NULL, 0), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_EQ(rq_int("LLEN data::big"), 1);
  size = 10;
  CHECK_EQ(dbrRead(h, out, &size, "big", NULL, NULL, 0), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_EQ(rq_int("LLEN data::big"), 1);
  /* PARTIAL: the first bytes, the value consumed */
  memset(out, 0, sizeof out);
  size = 10;
  CHECK_EQ(dbrGet(h, out, &size, "big", NULL, NULL, DBR_FLAGS_PARTIAL), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_MEM(out, big, 10);
  CHECK_EQ(out[10], 0);
  CHECK_EQ(rq_int("EXISTS data::big"), 0);
  /* scripts evicted from the server's cache (SCRIPT FLUSH, a restart): NOSCRIPT falls back to EVAL */
  freeReplyObject(rq("SCRIPT FLUSH"));
  CHECK_EQ(dbrPut(h, big, 20, "big", NULL), DBR_SUCCESS);
  size = 10;
  CHECK_EQ(dbrGet(h, out, &size, "big", NULL, NULL, 0), DBR_ERR_UBUFFER);
  size = 20;
  CHECK_EQ(dbrGet(h, out, &size, "big", NULL, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(size, 20);
  /* an empty value */
  CHECK_EQ(dbrPut(h, "", 0, "empty", NULL), DBR_SUCCESS);
  size = 0;
  CHECK_EQ(dbrGet(h, NULL, &size, "empty", NULL, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(size, 0);

  /* templates */
  CHECK_EQ(put_s(h, "job-1", "a"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "job-2", "b"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "other", "c"), DBR_SUCCESS);
  CHECK_EQ(get_s(h, NULL, "job-*", 0, out, 0), DBR_SUCCESS);
  CHECK(strcmp(out, "a") == 0 || strcmp(out, "b") == 0);
  CHECK_EQ(get_s(h, NULL, "job-*", 0, out, 1), DBR_SUCCESS);
  CHECK_EQ(get_s(h, NULL, "job-*", 0, out, 1), DBR_SUCCESS);
  CHECK_EQ(get_s(h, NULL, "job-*", DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_UNAVAIL);
  CHECK_EQ(get_s(h, NULL, "oth?r", 0, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "c");

  /* move and remove */
  DBR_Handle_t h2 = dbrCreate("data2", 0, NULL);
  CHECK_EQ(put_s(h, "m", "1"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "m", "2"), DBR_SUCCESS);
  CHECK_EQ(put_s(h2, "m", "0"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, "m", NULL, h2, NULL), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS data::m"), 0);
  CHECK_EQ(rq_int("LLEN data2::m"), 3);
  CHECK_STR(rq_str("LINDEX data2::m 2"), "2");
  CHECK_EQ(dbrMove(h, NULL, "m", NULL, h2, NULL), DBR_ERR_UNAVAIL);
  CHECK_EQ(put_s(h, "mt-1", "x"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "mt-2", "y"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, NULL, "mt-*", h2, NULL), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS data2::mt-1"), 1);
  CHECK_EQ(rq_int("EXISTS data2::mt-2"), 1);
  CHECK_EQ(rq_int("EXISTS data::mt-1"), 0);
  CHECK_EQ(dbrRemove(h2, NULL, NULL, "mt-*"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS data2::mt-1"), 0);
  CHECK_EQ(dbrRemove(h2, NULL, "m", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h2, NULL, "m", NULL), DBR_ERR_UNAVAIL);

  /* move-value: atomic pop here, push there; a too-small buffer moves nothing */
  CHECK_EQ(put_s(h, "todo", "job1"), DBR_SUCCESS);
  size = 2;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, 0, 0), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 4);
  CHECK_EQ(rq_int("LLEN data::todo"), 1);
  size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, 0, 0), DBR_SUCCESS);
  CHECK_EQ(size, 4);
  CHECK_STR(rq_str("LINDEX data2::doing 0"), "job1");
  CHECK_EQ(rq_int("EXISTS data::todo"), 0);

  /* put-many: one RPUSH per name, batch order kept */
  unsigned char packed[256];
  size_t off = 0;
  const char *recs[][2] = {{"pm", "1"}, {"pm2", "x"}, {"pm", "2"}};
  for (int i = 0; i < 3; i++) {
    uint32_t nl = (uint32_t)strlen(recs[i][0]);
    uint64_t vl = strlen(recs[i][1]);
    for (int b = 0; b < 4; b++) packed[off++] = (unsigned char)(nl >> (8 * b));
    for (int b = 0; b < 8; b++) packed[off++] = (unsigned char)(vl >> (8 * b));
    memcpy(packed + off, recs[i][0], nl);
    off += nl;
    memcpy(packed + off, recs[i][1], vl);
    off += vl;
  }
  CHECK_EQ(dbrxPutMany(h, packed, (int64_t)off), DBR_SUCCESS);
  CHECK_EQ(rq_int("LLEN data::pm"), 2);
  CHECK_STR(rq_str("LINDEX data::pm 1"), "2");
  CHECK_EQ(rq_int("LLEN data::pm2"), 1);

  /* stat: names and values by SCAN + LLEN, bytes unknown */
  dbrx_stat_t st;
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.names, 2);
  CHECK_EQ(st.values, 3);
  CHECK_EQ(st.bytes, -1);
  CHECK_EQ(st.refcnt, 1);
  CHECK_EQ(st.flags, 0);

  dbrDetach(h2);
  dbrDelete("data2");
  dbrDetach(h);
  dbrDelete("data");
}

typedef struct {
  char names[64][64];
  int n;
} names_t;

static void split(const char *buf, names_t *out)
{
  out->n = 0;
  const char *p = buf;
  while (*p && out->n < 64) {
    size_t l = strcspn(p, "\n");
    snprintf(out->names[out->n++], 64, "%.*s", (int)l, p);
    p += l;
    if (*p == '\n') p++;
  }
}

static int has(const names_t *n, const char *s)
{
  for (int i = 0; i < n->n; i++)
    if (strcmp(n->names[i], s) == 0) return 1;
  return 0;
}

static void test_directory_and_escaping(void)
{
  /* namespace names with glob characters: "n*" must not match "nx", "a[1]" must not match "a1" */
  DBR_Handle_t star = dbrCreate("n*", 0, NULL), nx = dbrCreate("nx", 0, NULL);
  DBR_Handle_t br = dbrCreate("a[1]", 0, NULL), a1 = dbrCreate("a1", 0, NULL);
  CHECK(star && nx && br && a1);
  CHECK_EQ(put_s(star, "s1", "v"), DBR_SUCCESS);
  CHECK_EQ(put_s(star, "s2", "v"), DBR_SUCCESS);
  CHECK_EQ(put_s(nx, "x1", "v"), DBR_SUCCESS);
  CHECK_EQ(put_s(br, "b", "v"), DBR_SUCCESS);
  CHECK_EQ(put_s(a1, "c", "v"), DBR_SUCCESS);
  char buf[1024];
  int64_t ret = 0;
  names_t names;
  CHECK_EQ(dbrDirectory(star, "*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  split(buf, &names);
  CHECK_EQ(names.n, 2);
  CHECK(has(&names, "s1") && has(&names, "s2"));
  CHECK_EQ(dbrDirectory(br, "*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  split(buf, &names);
  CHECK_EQ(names.n, 1);
  CHECK(has(&names, "b"));
  /* a directory limited by count, and a literal pattern */
  CHECK_EQ(dbrDirectory(star, "*", NULL, 1, buf, sizeof buf, &ret), DBR_SUCCESS);
  split(buf, &names);
  CHECK_EQ(names.n, 1);
  CHECK_EQ(dbrDirectory(star, "s2", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_STR(buf, "s2");
  /* iterator */
  char name[DBR_MAX_KEY_LEN + 1];
  int count = 0;
  DBR_Iterator_t it = DBR_ITERATOR_NEW;
  while ((it = dbrIterator(star, it, NULL, "s*", name)) != DBR_ITERATOR_DONE) {
    CHECK(strcmp(name, "s1") == 0 || strcmp(name, "s2") == 0);
    count++;
  }
  CHECK_EQ(count, 2);
  /* template remove in "n*" does not reach "nx" */
  CHECK_EQ(dbrRemove(star, NULL, NULL, "*"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS nx::x1"), 1);
  /* namespaces: dbrxNamespaces lists the hashes with an id field */
  CHECK_EQ(dbrxNamespaces("*", 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  split(buf, &names);
  CHECK(has(&names, "n*") && has(&names, "nx") && has(&names, "a[1]") && has(&names, "a1"));
  CHECK_EQ(dbrxNamespaces("a\\[*", 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  split(buf, &names);
  CHECK_EQ(names.n, 1);
  CHECK(has(&names, "a[1]"));
  /* deleting "n*" and "a[1]" leaves "nx" and "a1" whole */
  CHECK_EQ(put_s(star, "s3", "v"), DBR_SUCCESS);
  dbrDetach(star);
  dbrDetach(br);
  CHECK_EQ(dbrDelete("n*"), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("a[1]"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS n*"), 0);
  CHECK_EQ(rq_int("EXISTS n*::s3"), 0);
  CHECK_EQ(rq_int("EXISTS nx"), 1);
  CHECK_EQ(rq_int("EXISTS nx::x1"), 1);
  CHECK_EQ(rq_int("EXISTS a1::c"), 1);
  dbrDetach(nx);
  dbrDetach(a1);
  dbrDelete("nx");
  dbrDelete("a1");
  CHECK_EQ(rq_int("DBSIZE"), 0);
}

/* A process holding no handle cannot delete a namespace that another client uses. The reference deletes
 * whenever one client is attached, taking it for the caller. */
static void test_delete_by_an_unattached_process(void)
{
  DBR_Handle_t h = dbrCreate("inuse", 0, NULL);
  CHECK(h != NULL);
  CHECK_EQ(put_s(h, "t", "v"), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  freeReplyObject(rq("HINCRBY inuse refcnt 1")); /* a client of the reference library attaches (it keeps no record) */
  CHECK_EQ(dbrDelete("inuse"), DBR_ERR_NSBUSY);
  CHECK_STR(rq_str("HGET inuse flags"), "1");
  CHECK_EQ(rq_int("EXISTS inuse::t"), 1);
  freeReplyObject(rq("HINCRBY inuse refcnt -1")); /* it detaches; as the last client it would drop the namespace */
  CHECK_EQ(dbrDelete("inuse"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS inuse"), 0);
  CHECK_EQ(rq_int("EXISTS inuse::t"), 0);
}

/* A process that dies attached does not make its namespace undeletable. */
static void test_dead_attacher(void)
{
  DBR_Handle_t h = dbrCreate("zombie", 0, NULL);
  CHECK(h != NULL);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "exec %s --attach-and-die zombie", g_exe);
  int st = system(cmd);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL); /* killed while attached */
  CHECK_STR(rq_str("HGET zombie refcnt"), "2");
  DBR_Handle_t h2 = dbrAttach("zombie");
  CHECK_STR(rq_str("HGET zombie refcnt"), "3");
  /* the dead process's attachment is released; this process's two keep it busy */
  CHECK_EQ(dbrDelete("zombie"), DBR_ERR_NSBUSY);
  CHECK_STR(rq_str("HGET zombie refcnt"), "2");
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS zombie"), 1);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS zombie"), 0);

  /* and a plain delete after a crash goes through */
  h = dbrCreate("zombie", 0, NULL);
  CHECK(h != NULL);
  st = system(cmd);
  CHECK_STR(rq_str("HGET zombie refcnt"), "2");
  CHECK_EQ(dbrDelete("zombie"), DBR_SUCCESS);
  CHECK_EQ(rq_int("EXISTS zombie"), 0);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(rq_int("DBSIZE"), 0); /* no attachment records left behind */
}

/* Pure routing helpers: CRC16 and the hash-tag rules of the Redis Cluster spec, redirect parsing. */
static void test_slots(void)
{
  CHECK_EQ(crc16_xmodem("123456789", 9), 0x31C3);
  CHECK_EQ(cluster_key_slot("{user1000}.following", 20), cluster_key_slot("{user1000}.followers", 20));
  CHECK_EQ(cluster_key_slot("{user1000}.following", 20), cluster_key_slot("user1000", 8));
  CHECK_EQ(cluster_key_slot("foo{}{bar}", 10), crc16_xmodem("foo{}{bar}", 10) & 16383);
  CHECK_EQ(cluster_key_slot("foo{{bar}}zap", 13), crc16_xmodem("{bar", 4) & 16383);
  CHECK_EQ(cluster_key_slot("foo{bar}{zap}", 13), crc16_xmodem("bar", 3) & 16383);
  int slot = 0, port = 0;
  char host[CLUSTER_HOST_MAX];
  const char *moved = "MOVED 3999 127.0.0.1:6381";
  CHECK_EQ(cluster_parse_redirect(moved, strlen(moved), "x", &slot, host, sizeof host, &port), CLUSTER_REDIR_MOVED);
  CHECK_EQ(slot, 3999);
  CHECK_STR(host, "127.0.0.1");
  CHECK_EQ(port, 6381);
  const char *ask = "ASK 12 :7000";
  CHECK_EQ(cluster_parse_redirect(ask, strlen(ask), "seed", &slot, host, sizeof host, &port), CLUSTER_REDIR_ASK);
  CHECK_STR(host, "seed");
  const char *v6 = "MOVED 1 [::1]:7001";
  CHECK_EQ(cluster_parse_redirect(v6, strlen(v6), "x", &slot, host, sizeof host, &port), CLUSTER_REDIR_MOVED);
  CHECK_STR(host, "::1");
  const char *other = "ERR wrong number of arguments";
  CHECK_EQ(cluster_parse_redirect(other, strlen(other), "x", &slot, host, sizeof host, &port), CLUSTER_REDIR_NONE);
  const char *bad = "MOVED 99999 h:1";
  CHECK_EQ(cluster_parse_redirect(bad, strlen(bad), "x", &slot, host, sizeof host, &port), CLUSTER_REDIR_NONE);
}

/* The I/O loop's timers (an intrusive pairing heap), checked against a brute-force model inside the loop. */
typedef struct {
  rio_task_t task;
  rio_t *io;
  int errors, fired;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
} timer_check_t;

static _Atomic int g_fired_idx, g_fire_disorder;
static int64_t g_last_fire;
static void note_fire(rio_timer_t *t)
{
  if (t->when < g_last_fire) g_fire_disorder++;
  g_last_fire = t->when;
  g_fired_idx++;
}

static void timer_check_task(rio_task_t *task)
{
  timer_check_t *tc = (timer_check_t *)task;
  enum { N = 300 };
  static rio_timer_t tm[N];
  static int64_t model[N]; /* -1: not armed */
  unsigned x = 12345;
  for (int i = 0; i < N; i++) {
    memset(&tm[i], 0, sizeof tm[i]);
    tm[i].fn = note_fire;
    model[i] = -1;
  }
  int64_t base = rio_now_ns() + 3600LL * 1000000000; /* far away: none fires meanwhile */
  for (int step = 0; step < 20000; step++) {
    x = x * 1103515245u + 12345u;
    int i = (int)((x >> 8) % N);
    if ((x >> 4) % 3) {
      int64_t when = base + (int64_t)((x >> 12) % 1000);
      rio_timer_arm(tc->io, &tm[i], when);
      model[i] = when;
    } else {
      rio_timer_disarm(tc->io, &tm[i]);
      model[i] = -1;
    }
    if (step % 97 == 0) {
      for (int k = 0; k < N; k++)
        if (rio_timer_armed(&tm[k]) != (model[k] >= 0)) tc->errors++;
    }
  }
  /* drain in order: each disarm of the minimum must give non-decreasing times */
  int64_t last = 0;
  for (;;) {
    int64_t best = -1;
    int bi = -1;
    for (int k = 0; k < N; k++)
      if (model[k] >= 0 && (best < 0 || model[k] < best)) best = model[k], bi = k;
    if (bi < 0) break;
    if (best < last) tc->errors++;
    last = best;
    rio_timer_disarm(tc->io, &tm[bi]);
    model[bi] = -1;
    tc->fired++;
  }
  /* due timers armed in random order fire in time order */
  int64_t now = rio_now_ns();
  for (int k = 0; k < N; k++) {
    x = x * 1103515245u + 12345u;
    rio_timer_arm(tc->io, &tm[k], now - 1000000 - (int64_t)((x >> 8) % 100000));
  }
  for (int k = 0; k < N; k += 3) rio_timer_disarm(tc->io, &tm[k]);
  pthread_mutex_lock(&tc->mu);
  tc->done = 1;
  pthread_cond_signal(&tc->cv);
  pthread_mutex_unlock(&tc->mu);
}

static void test_timers(void)
{
  char why[100];
  timer_check_t tc = {.task = {.fn = timer_check_task}};
  tc.io = rio_start(NULL, NULL, why, sizeof why);
  CHECK(tc.io != NULL);
  if (!tc.io) return;
  pthread_mutex_init(&tc.mu, NULL);
  pthread_cond_init(&tc.cv, NULL);
  rio_post(tc.io, &tc.task);
  pthread_mutex_lock(&tc.mu);
  while (!tc.done) pthread_cond_wait(&tc.cv, &tc.mu);
  pthread_mutex_unlock(&tc.mu);
  CHECK_EQ(tc.errors, 0);
  CHECK(tc.fired > 0);
  for (int i = 0; i < 200 && g_fired_idx < 200; i++) usleep(5000);
  CHECK_EQ(g_fired_idx, 200); /* 300 armed, 100 disarmed */
  CHECK_EQ(g_fire_disorder, 0);
  rio_stop(tc.io);
  pthread_mutex_destroy(&tc.mu);
  pthread_cond_destroy(&tc.cv);
}

/* Closing a backend with requests still waiting completes them (CANCELLED) and frees everything. */
static void test_destroy_with_waiters(void)
{
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", g_port);
  dbr_backend_t *be = NULL;
  CHECK_EQ(dbr_backend_redis_open(&be, addr, g_pass), DBR_SUCCESS);
  if (!be) return;
  dbr_ns_t *ns = NULL;
  CHECK_EQ(be->ns_create(be, "dz", &ns), DBR_SUCCESS);
  dbr_req_t *reqs[3];
  const char *names[3] = {"k1", NULL, "k1"};
  for (int i = 0; i < 3; i++) {
    reqs[i] = dbr_req_new_args(DBR_OP_GET, names[i], names[i] ? NULL : "k*", NULL);
    reqs[i]->be = be;
    reqs[i]->ns = ns;
    reqs[i]->keep_value = 1;
    be->submit(be, reqs[i]);
  }
  usleep(100 * 1000);
  CHECK_EQ(be->ns_detach(be, ns), DBR_SUCCESS);
  be->destroy(be);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(atomic_load(&reqs[i]->finished), 1);
    CHECK_EQ(reqs[i]->status, DBR_ERR_CANCELLED);
    dbr_req_unref(reqs[i]);
  }
  CHECK_EQ(dbrDelete("dz"), DBR_SUCCESS);

  /* a namespace deleted by this process fails its waiters here with NSINVAL, before the delete returns */
  DBR_Handle_t h = dbrCreate("dz", 0, NULL);
  DBR_Tag_t t1 = dbrxGetAsync(NULL, h, "w", NULL, 0, DBRX_TIMEOUT_INFINITE);
  DBR_Tag_t t2 = dbrxReadAsync(NULL, h, NULL, "w*", 0, DBRX_TIMEOUT_INFINITE);
  usleep(100 * 1000);
  CHECK_EQ(dbrTest(t1), DBR_ERR_INPROGRESS);
  CHECK_EQ(dbrDelete("dz"), DBR_SUCCESS);
  CHECK_EQ(dbrTest(t1), DBR_ERR_NSINVAL);
  CHECK_EQ(dbrTest(t2), DBR_ERR_NSINVAL);
  CHECK_EQ(dbrPut(h, "v", 1, "w", NULL), DBR_ERR_NSINVAL); /* the handle is stale */
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(rq_int("DBSIZE"), 0);
}

static void test_failures(void)
{
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", g_port);
  dbr_backend_t *be = NULL;
  /* a wrong password: NOAUTH, a message that names the fix, and never the password */
  CHECK_EQ(dbr_backend_redis_open(&be, addr, "not-the-password-42"), DBR_ERR_NOAUTH);
  CHECK(be == NULL);
  CHECK(strstr(dbrxLastError(), "DBR_AUTHFILE") != NULL);
  CHECK(strstr(dbrxLastError(), "not-the-password-42") == NULL);
  /* no password at all */
  CHECK_EQ(dbr_backend_redis_open(&be, addr, NULL), DBR_ERR_NOAUTH);
  CHECK(strstr(dbrxLastError(), "password") != NULL);
  /* the right one */
  CHECK_EQ(dbr_backend_redis_open(&be, addr, g_pass), DBR_SUCCESS);
  CHECK(be != NULL && strcmp(be->name, "redis") == 0);
  if (be) be->destroy(be);
  /* nothing listening: NOCONNECT, quickly */
  double t0 = now_ms();
  CHECK_EQ(dbr_backend_redis_open(&be, "127.0.0.1:1", NULL), DBR_ERR_NOCONNECT);
  CHECK(now_ms() - t0 < 1500);
  CHECK(strstr(dbrxLastError(), "127.0.0.1:1") != NULL);
  /* malformed address */
  CHECK_EQ(dbr_backend_redis_open(&be, "no-port", NULL), DBR_ERR_INVALID);
}

static int body(void)
{
  g_rc = rc_open(g_port, g_pass);
  freeReplyObject(rq("FLUSHALL"));
  CHECK_STR(dbrxBackend(), "redis");
  test_layout();
  test_data();
  test_directory_and_escaping();
  test_delete_by_an_unattached_process();
  test_dead_attacher();
  test_slots();
  test_timers();
  test_destroy_with_waiters();
  test_failures();
  redisFree(g_rc);
  return CHECK_DONE();
}

int main(int argc, char **argv)
{
  ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1);
  if (n > 0) g_exe[n] = '\0';
  if (argc == 3 && strcmp(argv[1], "--attach-and-die") == 0) {
    /* a child run by test_dead_attacher (the environment is inherited) */
    if (dbrAttach(argv[2]) == NULL) return 1;
    raise(SIGKILL);
  }
  const char *given = getenv("DBR_TEST_REDIS");
  char authfile[300];
  if (given && *given) {
    const char *colon = strrchr(given, ':');
    g_port = colon ? atoi(colon + 1) : 6379;
    const char *pw = getenv("DBR_TEST_REDIS_PASSWORD");
    snprintf(g_pass, sizeof g_pass, "%s", pw ? pw : "");
    snprintf(authfile, sizeof authfile, "/tmp/libdbr-test-auth.%d", (int)getpid());
  } else {
    snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-test-redis-single.%d", (int)getpid());
    char port[32];
    if (run_script(port, sizeof port, "single 0 %s %s", g_pass, g_dir) != 0) {
      printf("0 passed, 1 failed (could not start redis-server)\n");
      run_script(NULL, 0, "stop %s", g_dir);
      return 1;
    }
    g_port = atoi(port);
    snprintf(authfile, sizeof authfile, "%s/auth", g_dir);
  }
  FILE *f = fopen(authfile, "w");
  if (f) {
    fprintf(f, "%s\n", g_pass);
    fclose(f);
  }
  char server[64];
  snprintf(server, sizeof server, "sock://127.0.0.1:%d", g_port);
  setenv("DBR_SERVER", server, 1);
  setenv("DBR_AUTHFILE", authfile, 1);
  setenv("DBR_TIMEOUT", "2", 1);
  int rc = supervise(body);
  if (!g_dir[0]) unlink(authfile);
  return rc;
}
