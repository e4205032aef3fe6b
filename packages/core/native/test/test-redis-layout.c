/*
 * libdbr on one Redis server (with a password): the Data Broker's key layout checked with hiredis after each
 * call, put/get/read/FIFO/index, a too-small buffer keeps the value, templates, move/remove,
 * directory/iterator, glob-escaped namespace names, delete semantics, stat/namespaces/count/put-many/
 * move-value, values written by another client. Deletes across processes, closing and failing to open:
 * test-redis-lifetime.c.
 *
 * The server is started by test/redis-servers.sh and stopped when the test ends, even if it crashes (the
 * checks run in a child process). DBR_TEST_REDIS=host:port (and DBR_TEST_REDIS_PASSWORD) use a given server
 * instead; it must be disposable (the test flushes it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

/* ---- this test ---- */

static int g_port;
static char g_pass[64] = "s3cret-pw";
static redisContext *g_rc; /* inspects the server */

#define rq(...) rc_cmd(g_rc, __VA_ARGS__)
#define rq_int(...) rc_int(g_rc, __VA_ARGS__)
#define rq_str(...) rc_str(g_rc, __VA_ARGS__) /* "" for nil */

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

static int body(void)
{
  g_rc = rc_open(g_port, g_pass);
  freeReplyObject(rq("FLUSHALL"));
  CHECK_STR(dbrxBackend(), "redis");
  test_layout();
  test_data();
  test_directory_and_escaping();
  redisFree(g_rc);
  return CHECK_DONE();
}

int main(void)
{
  setenv("DBR_TIMEOUT", "2", 1);
  return run_with_password("test-redis-layout", g_pass, sizeof g_pass, &g_port, body);
}
