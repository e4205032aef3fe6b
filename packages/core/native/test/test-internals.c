/*
 * Internal building blocks: glob matching (Redis semantics), the hash table's cursor scan across resizes,
 * id registries, RESP encoding, the ring of cover messages that decides whether a new covered waiter group
 * must try again at once and cluster routing (CRC16, hash tags, redirects). The I/O loop: test-io-loop.c.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "cluster.h"
#include "glob.h"
#include "log.h"
#include "hashmap.h"
#include "reg.h"
#include "redis-proto.h"
#include "redis-wait.h"
#include "util.h"

static int m(const char *p, const char *s)
{
  return glob_match(p, strlen(p), s, strlen(s));
}

static void test_glob(void)
{
  CHECK(m("*", "abc"));
  CHECK(m("a*", "a"));
  CHECK(m("a*c", "abbbc"));
  CHECK(!m("a*c", "abbbd"));
  CHECK(m("a?c", "abc"));
  CHECK(!m("a?c", "ac"));
  CHECK(m("**a**", "xa"));
  CHECK(m("[abc]x", "bx"));
  CHECK(!m("[abc]x", "dx"));
  CHECK(m("[^abc]x", "dx"));
  CHECK(!m("[^abc]x", "ax"));
  CHECK(m("[a-c]", "b"));
  CHECK(m("[c-a]", "b")); /* reversed range */
  CHECK(!m("[a-c]", "d"));
  CHECK(m("[a-]", "]")); /* Redis: a range up to ']' */
  CHECK(m("\\*", "*"));
  CHECK(!m("\\*", "a"));
  CHECK(m("[\\]]", "]"));
  CHECK(m("a\\", "a\\")); /* a trailing backslash is literal */
  CHECK(m("[ab", "a"));   /* unterminated class ends with the pattern */
  CHECK(!m("[ab", "c"));
  CHECK(m("[^", "z"));
  CHECK(!m("[]", "a"));
  CHECK(m("task:*:done", "task:17:done"));
  CHECK(!m("task:*:done", "task:17:todo"));
  CHECK(m("\xff*", "\xff\x01"));
  /* pathological patterns stay fast (no exponential backtracking) */
  char s[1024], p[64];
  memset(s, 'a', sizeof s - 1);
  s[sizeof s - 1] = '\0';
  strcpy(p, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
  CHECK(!m(p, s));
  /* escape and literal round trip */
  const char *names[] = {"plain", "st*r", "q?", "[x]", "back\\slash", "^-!"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char esc[64], lit[64];
    size_t n = glob_escape(names[i], strlen(names[i]), esc), ln;
    CHECK_EQ(n, strlen(esc));
    CHECK(m(esc, names[i]));
    CHECK(glob_literal(esc, n, lit, &ln));
    CHECK_STR(lit, names[i]);
  }
  CHECK(m("st\\*r", "st*r") && !m("st\\*r", "stxr"));
  size_t ln;
  char lit[16];
  CHECK(!glob_literal("a*", 2, lit, &ln));
  CHECK(!glob_literal("a[b]", 4, lit, &ln));
  CHECK(!glob_literal("?", 1, lit, &ln));
}

typedef struct {
  htab_ent_t ent;
  int id;
  char key[16];
} item_t;

static void mark(void *ctx, htab_ent_t *e)
{
  unsigned char *seen = ctx;
  seen[((item_t *)e)->id]++;
}

static void test_scan(void)
{
  enum { N = 5000 };
  htab_t t;
  CHECK_EQ(htab_init(&t, 8), 0);
  item_t *items = calloc(2 * N, sizeof *items);
  for (int i = 0; i < 2 * N; i++) {
    items[i].id = i;
    snprintf(items[i].key, sizeof items[i].key, "k%d", i);
    items[i].ent.key = items[i].key;
    items[i].ent.klen = strlen(items[i].key);
    items[i].ent.hash = dbr_hash(items[i].key, items[i].ent.klen);
  }
  for (int i = 0; i < N; i++) htab_insert(&t, &items[i].ent);
  CHECK(htab_find(&t, "k17", 3, dbr_hash("k17", 3)) == &items[17].ent);
  CHECK(htab_find(&t, "k17x", 4, dbr_hash("k17x", 4)) == NULL);
  /* grow during the scan: items 0..N/2 stay throughout; N/2..N are removed; N..2N are added */
  unsigned char *seen = calloc(2 * N, 1);
  size_t v = 0;
  int steps = 0;
  do {
    v = htab_scan(&t, v, mark, seen);
    if (steps < N) htab_insert(&t, &items[N + steps].ent);
    if (steps % 2 == 0 && N / 2 + steps / 2 < N) htab_remove(&t, &items[N / 2 + steps / 2].ent, 1);
    steps++;
  } while (v != 0);
  int missing = 0, many = 0;
  for (int i = 0; i < N / 2; i++) missing += seen[i] == 0;
  for (int i = 0; i < 2 * N; i++) many += seen[i] > 2;
  CHECK_EQ(missing, 0);
  CHECK_EQ(many, 0);
  /* shrink during the scan */
  for (int i = 0; i < 2 * N; i++)
    if (htab_find(&t, items[i].key, items[i].ent.klen, items[i].ent.hash) == NULL) htab_insert(&t, &items[i].ent);
  memset(seen, 0, 2 * N);
  v = 0;
  steps = 0;
  do {
    v = htab_scan(&t, v, mark, seen);
    for (int k = 0; k < 8; k++) {
      int victim = N + steps * 8 + k;
      if (victim < 2 * N) htab_remove(&t, &items[victim].ent, 1);
    }
    steps++;
  } while (v != 0);
  missing = 0;
  for (int i = 0; i < N; i++) missing += seen[i] == 0;
  CHECK_EQ(missing, 0);
  CHECK_EQ(t.n, N);
  CHECK(t.mask + 1 <= 8 * (size_t)N);
  free(seen);
  free(items);
  htab_destroy(&t);
}

static reg_t r1 = REG_INITIALIZER(REG_KIND_QUEUE);

static void test_reg(void)
{
  int objs[3];
  uintptr_t a = reg_add(&r1, &objs[0]), b = reg_add(&r1, &objs[1]);
  CHECK(a != 0 && b != 0 && a != b);
  CHECK(reg_acquire(&r1, a) == &objs[0]);
  CHECK(reg_release(&r1, a) == NULL);
  void *next = reg_acquire(&r1, a + 4); /* the next slot's id is b, or nothing */
  CHECK(next == NULL || (a + 4 == b && next == &objs[1]));
  if (next) reg_release(&r1, a + 4);
  CHECK(reg_acquire(&r1, a + 1) == NULL); /* another kind */
  CHECK(reg_acquire(&r1, 0) == NULL);
  CHECK(reg_acquire(&r1, 12345) == NULL);
  CHECK(reg_acquire(&r1, UINTPTR_MAX) == NULL);
  /* retire with an in-flight reference: destroyed by the last release */
  CHECK(reg_acquire(&r1, a) == &objs[0]);
  void *dead = (void *)1;
  CHECK_EQ(reg_retire(&r1, a, &dead), 0);
  CHECK(dead == NULL);
  CHECK(reg_acquire(&r1, a) == NULL);
  CHECK(reg_release(&r1, a) == &objs[0]);
  void *d2;
  CHECK_EQ(reg_retire(&r1, a, &d2), -1);
  /* the slot is reused under a new id */
  uintptr_t c = reg_add(&r1, &objs[2]);
  CHECK(c != 0 && c != a && c != b);
  CHECK(reg_acquire(&r1, a) == NULL);
  CHECK(reg_acquire(&r1, c) == &objs[2]);
  reg_release(&r1, c);
  CHECK_EQ(reg_retire(&r1, c, &d2), 0);
  CHECK(d2 == &objs[2]);
  CHECK_EQ(reg_retire(&r1, b, &d2), 0);
  CHECK(d2 == &objs[1]);
  /* many generations of one slot: every id distinct from the last */
  uintptr_t prev = 0;
  int same = 0;
  for (int i = 0; i < 10000; i++) {
    uintptr_t x = reg_add(&r1, &objs[0]);
    same += x == prev;
    prev = x;
    reg_retire(&r1, x, &d2);
  }
  CHECK_EQ(same, 0);
}

/* Logging is bounded: a burst from one call site prints DBR_LOG_BURST lines, then one summary line. */
static void test_log(void)
{
  setenv("DBR_LOG_LEVEL", "info", 1);
  FILE *tmp = tmpfile();
  int saved = dup(2);
  fflush(stderr);
  dup2(fileno(tmp), 2);
  for (int i = 0; i < 1000; i++) DBR_LOG(DBR_LOG_WARN, "burst %d", i);
  DBR_LOG(DBR_LOG_DEBUG, "debug is below info: not printed");
  struct timespec ts = {1, 100000000};
  nanosleep(&ts, NULL);
  for (int i = 0; i < 2; i++) DBR_LOG(DBR_LOG_WARN, "burst again %d", i);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  char line[512];
  int lines = 0, summaries = 0, debug = 0;
  while (fgets(line, sizeof line, tmp)) {
    lines++;
    if (strstr(line, "990 messages suppressed")) summaries++;
    if (strstr(line, "debug")) debug++;
  }
  fclose(tmp);
  CHECK(lines <= 2 * DBR_LOG_BURST + 2); /* one or two windows, never 1000 lines */
  CHECK(lines >= DBR_LOG_BURST + 2);
  CHECK(summaries <= 1);
  CHECK_EQ(debug, 0);
  CHECK(dbr_log_enabled(DBR_LOG_INFO));
  CHECK(!dbr_log_enabled(DBR_LOG_DEBUG));
}

/* The RESP encoder formats integers itself (no snprintf): every length, count and integer argument. */
static void test_resp(void)
{
  rbuf_t b = {0};
  resp_arg_int(&b, 0);
  resp_arg_int(&b, -1);
  resp_arg_int(&b, 1234567890123LL);
  resp_arg_int(&b, LLONG_MIN);
  resp_arg_str(&b, "");
  resp_arg(&b, "0123456789", 10);
  const char *want = "$1\r\n0\r\n$2\r\n-1\r\n$13\r\n1234567890123\r\n$20\r\n-9223372036854775808\r\n$0\r\n\r\n"
                     "$10\r\n0123456789\r\n";
  CHECK_EQ(b.len, strlen(want));
  CHECK_MEM(b.p, want, strlen(want));
  char hdr[24];
  size_t n = resp_array_header(hdr, 3);
  CHECK_EQ(n, 4);
  CHECK_MEM(hdr, "*3\r\n", 4);
  n = resp_array_header(hdr, 100000);
  CHECK_MEM(hdr, "*100000\r\n", n);
  rbuf_free(&b);
}

/* rn_heard_since: a new group under a confirmed cover skips its extra try unless a message for its key came
 * (and found no group) after its first try was sent, or the ring cannot vouch for the span. */
static void test_heard_ring(void)
{
  rbe_t *be = calloc(1, sizeof *be);
  cover_t cover = {0};
  char chan[] = "__keyspace@0__:ns::res:7";
  wgroup_t g = {0};
  g.chan = chan;
  g.chanlen = strlen(chan);
  g.cover = &cover;
  be->heard_seq = 100;
  CHECK(rn_heard_since(be, &g, 100)); /* cover not confirmed */
  cover.confirmed = 1;
  cover.confirmed_seq = 101; /* confirmed after the try was sent */
  CHECK(rn_heard_since(be, &g, 100));
  cover.confirmed_seq = 90;
  CHECK(!rn_heard_since(be, &g, 100)); /* nothing heard since */
  be->heard[++be->heard_seq % HEARD_RING] = dbr_hash("__keyspace@0__:ns::res:8", strlen(chan));
  CHECK(!rn_heard_since(be, &g, 100)); /* another key */
  be->heard[++be->heard_seq % HEARD_RING] = dbr_hash(chan, strlen(chan));
  CHECK(rn_heard_since(be, &g, 100));  /* its key, after the try */
  CHECK(!rn_heard_since(be, &g, 102)); /* its key, before the try */
  be->heard_seq = 102 + HEARD_RING;
  CHECK(rn_heard_since(be, &g, 102)); /* more messages since than the ring holds */
  g.cover = NULL;
  CHECK(rn_heard_since(be, &g, be->heard_seq)); /* not covered */
  free(be);
}

static cover_t *idle_cover(rbe_t *be, const char *prefix, int groups, int64_t idle_since)
{
  cover_t *c = calloc(1, sizeof *c);
  c->prefix = strdup(prefix);
  c->prefixlen = strlen(prefix);
  c->chan = strdup("chan");
  c->groups = groups;
  c->idle_since = idle_since;
  CHECK_EQ(rmap_put(&be->covers, c->prefix, c->prefixlen, c), 0);
  return c;
}

/* A cover outlives its last group: rn_cover_leave only marks it idle, and rn_covers_sweep drops the covers
 * idle since before its cutoff, never one with groups. */
static void test_cover_linger(void)
{
  rbe_t *be = calloc(1, sizeof *be);
  be->shutting_down = 1; /* no connections here: the sweep sends no PUNSUBSCRIBE */
  cover_t *a = idle_cover(be, "ns::a:", 1, 0);
  idle_cover(be, "ns::b:", 0, 1000);
  cover_t *c = idle_cover(be, "ns::c:", 2, 0);
  wgroup_t g = {0};
  g.cover = a;
  rn_cover_leave(&g);
  CHECK_EQ(a->groups, 0);
  CHECK(a->idle_since > 1000);
  CHECK(rmap_get(&be->covers, "ns::a:", 6) == a); /* still there, still subscribed */
  rn_covers_sweep(be, a->idle_since - 1);
  CHECK(rmap_get(&be->covers, "ns::b:", 6) == NULL); /* idle long before the cutoff */
  CHECK(rmap_get(&be->covers, "ns::a:", 6) == a);
  CHECK(rmap_get(&be->covers, "ns::c:", 6) == c);
  rn_covers_sweep(be, a->idle_since + 1);
  CHECK(rmap_get(&be->covers, "ns::a:", 6) == NULL);
  CHECK(rmap_get(&be->covers, "ns::c:", 6) == c); /* groups keep it whatever its idle time */
  rn_covers_free(be);
  rmap_free(&be->covers);
  free(be);
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

int main(void)
{
  test_resp();
  test_heard_ring();
  test_cover_linger();
  test_log();
  test_glob();
  test_scan();
  test_reg();
  test_slots();
  return CHECK_DONE();
}
