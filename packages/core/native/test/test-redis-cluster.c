/*
 * libdbr on a 3-master Redis Cluster: the namespace hash and its tuples spread over the masters,
 * directory/iterator/stat walk every master, gets woken on every master, move across slots, move-value
 * needing one slot (a clear error otherwise, hash tags to fix it), ASK and MOVED during a slot migration, a
 * SIGSTOPped master (calls to it time out, the others keep working, a cross-slot move whose pop ran late gives
 * its values back) and a killed master (calls to it fail with NOCONNECT at once, the others keep working, CPU
 * and log stay calm).
 *
 * The cluster is started by test/redis-servers.sh and stopped even if the test crashes (the checks run in a
 * child process).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

#include "redis-harness.h"

/* ---- this test ---- */

static int g_ports[3];
static redisContext *g_rc[3];
static int g_slot_port[16384];

static int port_index(int port)
{
  for (int i = 0; i < 3; i++)
    if (g_ports[i] == port) return i;
  return -1;
}

static void load_slots(void)
{
  redisReply *r = redisCommand(g_rc[0], "CLUSTER SLOTS");
  for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
    redisReply *e = r->element[i];
    int port = (int)e->element[2]->element[1]->integer;
    for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++) g_slot_port[s] = port;
  }
  if (r) freeReplyObject(r);
}

static int slot_of(const char *key)
{
  redisReply *r = redisCommand(g_rc[0], "CLUSTER KEYSLOT %s", key);
  int s = (r && r->type == REDIS_REPLY_INTEGER) ? (int)r->integer : -1;
  if (r) freeReplyObject(r);
  return s;
}

/* The index (0..2) of the master holding a key. */
static int master_of(const char *key)
{
  return port_index(g_slot_port[slot_of(key)]);
}

/* A tuple name of namespace ns whose key lives on master m. */
static void name_on(const char *ns, int m, const char *prefix, char *out, size_t len)
{
  for (int i = 0;; i++) {
    char key[256];
    snprintf(out, len, "%s%d", prefix, i);
    snprintf(key, sizeof key, "%s::%s", ns, out);
    if (master_of(key) == m) return;
  }
}

#define rq_int(m, ...) rc_int(g_rc[m], __VA_ARGS__)

static const char *node_id(int m)
{
  static char ids[3][64];
  redisReply *r = redisCommand(g_rc[m], "CLUSTER MYID");
  snprintf(ids[m], sizeof ids[m], "%s", (r && r->type == REDIS_REPLY_STRING) ? r->str : "");
  if (r) freeReplyObject(r);
  return ids[m];
}

static pid_t pid_of(int m)
{
  char path[400];
  snprintf(path, sizeof path, "%s/redis-%d.pid", g_dir, g_ports[m]);
  FILE *f = fopen(path, "r");
  int pid = 0;
  if (f) {
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
  }
  return (pid_t)pid;
}

static double cpu_ms(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

static DBR_Errorcode_t put_s(DBR_Handle_t h, const char *name, const char *val)
{
  return dbrPut(h, (void *)val, (int64_t)strlen(val), (char *)name, NULL);
}

static DBR_Errorcode_t get_s(DBR_Handle_t h, const char *name, const char *tmpl, int64_t timeout, char *out)
{
  int64_t size = 255;
  DBR_Errorcode_t rc = dbrxGet(h, out, &size, name, tmpl, 0, timeout);
  out[rc == DBR_SUCCESS ? size : 0] = '\0';
  return rc;
}

static void test_spread(DBR_Handle_t h)
{
  /* the namespace hash sits on the master of its slot, with the Data Broker's fields */
  int m = master_of("cl");
  redisReply *r = redisCommand(g_rc[m], "HGET cl id");
  CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "cl") == 0);
  if (r) freeReplyObject(r);
  CHECK_EQ(rq_int(m, "HLEN cl"), 4);

  enum { N = 300 };
  for (int i = 0; i < N; i++) {
    char name[32], val[32];
    snprintf(name, sizeof name, "n%d", i);
    snprintf(val, sizeof val, "v%d", i);
    CHECK_EQ(put_s(h, name, val), DBR_SUCCESS);
  }
  int per[3];
  for (int i = 0; i < 3; i++) {
    per[i] = (int)rq_int(i, "DBSIZE");
    CHECK(per[i] > 30); /* every master holds a share */
  }
  printf("300 tuples spread over the masters: %d / %d / %d keys\n", per[0], per[1], per[2]);

  static char buf[8192];
  int64_t ret = 0;
  CHECK_EQ(dbrDirectory(h, "n*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  int lines = 0;
  for (char *p = buf; *p; p++) lines += *p == '\n';
  CHECK_EQ(lines + 1, N);
  int count = 0;
  char name[DBR_MAX_KEY_LEN + 1];
  DBR_Iterator_t it = DBR_ITERATOR_NEW;
  while ((it = dbrIterator(h, it, NULL, "n*", name)) != DBR_ITERATOR_DONE) count++;
  CHECK_EQ(count, N);
  dbrx_stat_t st;
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.names, N);
  CHECK_EQ(st.values, N);
  CHECK_EQ(dbrxNamespaces("c?", 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_STR(buf, "cl");

  char out[256];
  CHECK_EQ(get_s(h, "n17", NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "v17");
  CHECK_EQ(get_s(h, NULL, "n29?", 0, out), DBR_SUCCESS); /* n290..n299, wherever they live */
  CHECK(strncmp(out, "v29", 3) == 0);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "n*"), DBR_SUCCESS);
  CHECK_EQ(rq_int(0, "DBSIZE") + rq_int(1, "DBSIZE") + rq_int(2, "DBSIZE"), 2); /* the namespace hash and its attachment record */
}

static void test_move(DBR_Handle_t h)
{
  DBR_Handle_t h2 = dbrCreate("cl2", 0, NULL);
  CHECK(h2 != NULL);
  /* whole-list move between slots on different masters keeps the order */
  char name[64] = "";
  for (int i = 0; i < 100; i++) {
    char a[96], b[96];
    snprintf(name, sizeof name, "mv%d", i);
    snprintf(a, sizeof a, "cl::%s", name);
    snprintf(b, sizeof b, "cl2::%s", name);
    if (master_of(a) != master_of(b)) break;
  }
  CHECK_EQ(put_s(h, name, "1"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, name, "2"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, name, "3"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, name, NULL, h2, NULL), DBR_SUCCESS);
  char out[256];
  CHECK_EQ(get_s(h2, name, NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "1");
  CHECK_EQ(get_s(h2, name, NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "2");
  CHECK_EQ(get_s(h2, name, NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "3");
  CHECK_EQ(get_s(h, name, NULL, 0, out), DBR_ERR_UNAVAIL);

  /* move-value needs one slot: a clear error across slots, hash tags make it work */
  CHECK_EQ(put_s(h, "todo", "job"), DBR_SUCCESS);
  int64_t size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, 0, 0), DBR_ERR_INVALIDOP);
  CHECK(strstr(dbrxLastError(), "hash tag") != NULL);
  CHECK_EQ(put_s(h, "todo{q}", "job"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo{q}", h2, "doing{q}", out, &size, 0, 0), DBR_SUCCESS);
  CHECK_EQ(size, 3);
  CHECK_EQ(rq_int(master_of("cl2::doing{q}"), "LLEN cl2::doing{q}"), 1);
  dbrRemove(h, NULL, "todo", NULL);
  dbrRemove(h2, NULL, "doing{q}", NULL);
  dbrDetach(h2);
  dbrDelete("cl2");
}

typedef struct {
  DBR_Handle_t h;
  char name[64];
  int64_t timeout_ms;
  DBR_Errorcode_t rc;
  char out[256];
  double done_ms;
} waiter_t;

static void *waiter_main(void *arg)
{
  waiter_t *w = arg;
  w->rc = get_s(w->h, w->name, NULL, w->timeout_ms, w->out);
  w->done_ms = now_ms();
  return NULL;
}

typedef struct {
  DBR_Handle_t h;
  DBR_Errorcode_t rc;
  char out[256];
} tw_t;

static void *template_main(void *arg)
{
  tw_t *tw = arg;
  tw->rc = get_s(tw->h, NULL, "tpl-*", 5000, tw->out);
  return NULL;
}

static void test_wait_each_master(DBR_Handle_t h)
{
  waiter_t w[3];
  pthread_t th[3];
  for (int m = 0; m < 3; m++) {
    memset(&w[m], 0, sizeof w[m]);
    w[m].h = h;
    w[m].timeout_ms = 5000;
    name_on("cl", m, "w", w[m].name, sizeof w[m].name);
    pthread_create(&th[m], NULL, waiter_main, &w[m]);
  }
  sleep_ms(200);
  double t0 = now_ms();
  for (int m = 0; m < 3; m++) freeReplyObject(redisCommand(g_rc[m], "RPUSH cl::%s hello%d", w[m].name, m));
  for (int m = 0; m < 3; m++) {
    pthread_join(th[m], NULL);
    char want[32];
    snprintf(want, sizeof want, "hello%d", m);
    CHECK_EQ(w[m].rc, DBR_SUCCESS);
    CHECK_STR(w[m].out, want);
    CHECK(w[m].done_ms - t0 < 1000);
  }
  /* a template waiter sees a put on any master */
  char tn[64];
  name_on("cl", 2, "tpl-", tn, sizeof tn);
  tw_t tw = {.h = h};
  pthread_t tt;
  pthread_create(&tt, NULL, template_main, &tw);
  sleep_ms(200);
  freeReplyObject(redisCommand(g_rc[2], "RPUSH cl::%s tvalue", tn));
  pthread_join(tt, NULL);
  CHECK_EQ(tw.rc, DBR_SUCCESS);
  CHECK_STR(tw.out, "tvalue");
}

/* ASK while a slot migrates, MOVED after it moved. */
static void test_migration(DBR_Handle_t h)
{
  char out[256];
  int slot = slot_of("cl::{mig}old");
  int src = master_of("cl::{mig}old"), dst = (src + 1) % 3;
  CHECK_EQ(put_s(h, "{mig}old", "old-value"), DBR_SUCCESS);
  char sid[64], did[64];
  snprintf(sid, sizeof sid, "%s", node_id(src));
  snprintf(did, sizeof did, "%s", node_id(dst));
  freeReplyObject(redisCommand(g_rc[dst], "CLUSTER SETSLOT %d IMPORTING %s", slot, sid));
  freeReplyObject(redisCommand(g_rc[src], "CLUSTER SETSLOT %d MIGRATING %s", slot, did));
  /* a new key in a migrating slot: the source answers ASK, libdbr follows it to the destination */
  CHECK_EQ(put_s(h, "{mig}new", "new-value"), DBR_SUCCESS);
  freeReplyObject(redisCommand(g_rc[dst], "ASKING"));
  CHECK_EQ(rq_int(dst, "LLEN cl::{mig}new"), 1);
  /* move the old key, finish the migration everywhere */
  redisReply *r = redisCommand(g_rc[src], "MIGRATE 127.0.0.1 %d cl::{mig}old 0 5000", g_ports[dst]);
  CHECK(r && r->type == REDIS_REPLY_STATUS);
  if (r) freeReplyObject(r);
  for (int m = 0; m < 3; m++) freeReplyObject(redisCommand(g_rc[m], "CLUSTER SETSLOT %d NODE %s", slot, did));
  /* libdbr still routes the slot to the source: MOVED sends it on, and the map is refreshed */
  CHECK_EQ(get_s(h, "{mig}old", NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "old-value");
  CHECK_EQ(get_s(h, "{mig}new", NULL, 0, out), DBR_SUCCESS);
  CHECK_STR(out, "new-value");
  sleep_ms(300);
  load_slots();
  CHECK_EQ(master_of("cl::{mig}x"), dst);
}

static void test_stopped_master(DBR_Handle_t h)
{
  char on_stopped[64], on_live[64], out[256];
  int victim = (master_of("cl") + 1) % 3; /* not the namespace hash's master */
  name_on("cl", victim, "st", on_stopped, sizeof on_stopped);
  name_on("cl", (victim + 1) % 3, "live", on_live, sizeof on_live);
  pid_t pid = pid_of(victim);
  CHECK(pid > 0);
  /* a list on the victim, to move to a namespace whose key lives on another master */
  DBR_Handle_t h3 = dbrCreate("cl3", 0, NULL);
  CHECK(h3 != NULL);
  char mv[64] = "", src[96], dst[96];
  for (int i = 0; i < 1000; i++) {
    snprintf(mv, sizeof mv, "smv%d", i);
    snprintf(src, sizeof src, "cl::%s", mv);
    snprintf(dst, sizeof dst, "cl3::%s", mv);
    if (master_of(src) == victim && master_of(dst) != victim) break;
  }
  CHECK_EQ(put_s(h, mv, "a"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, mv, "b"), DBR_SUCCESS);
  kill(pid, SIGSTOP);
  double t0 = now_ms();
  CHECK_EQ(put_s(h, on_stopped, "x"), DBR_ERR_TIMEOUT); /* DBR_TIMEOUT=1 */
  double el = now_ms() - t0;
  CHECK(el >= 900 && el < 2500);
  /* the move's pop times out; the server runs it when it wakes up, and the values must not vanish then */
  CHECK_EQ(dbrMove(h, NULL, mv, NULL, h3, NULL), DBR_ERR_TIMEOUT);
  t0 = now_ms();
  CHECK_EQ(get_s(h, on_stopped, NULL, 300, out), DBR_ERR_TIMEOUT);
  CHECK(now_ms() - t0 < 1500);
  t0 = now_ms();
  CHECK_EQ(put_s(h, on_live, "y"), DBR_SUCCESS);
  CHECK_EQ(get_s(h, on_live, NULL, 0, out), DBR_SUCCESS);
  CHECK(now_ms() - t0 < 500);
  printf("SIGSTOPped master: put timed out after %.0f ms; the other masters answered meanwhile\n", el);
  kill(pid, SIGCONT);
  sleep_ms(200);
  /* the late put landed; the late get found nothing then: no value lost either way */
  CHECK_EQ(get_s(h, on_stopped, NULL, 1000, out), DBR_SUCCESS);
  CHECK_STR(out, "x");
  /* the late pop of the move: its values went back where they were, in order */
  CHECK_EQ(rq_int(victim, "LLEN %s", src) + rq_int(master_of(dst), "LLEN %s", dst), 2);
  CHECK_EQ(get_s(h, mv, NULL, 1000, out), DBR_SUCCESS);
  CHECK_STR(out, "a");
  CHECK_EQ(get_s(h, mv, NULL, 1000, out), DBR_SUCCESS);
  CHECK_STR(out, "b");
  dbrDetach(h3);
  dbrDelete("cl3");
}

static void test_killed_master(DBR_Handle_t h)
{
  char on_dead[64], on_live[64], out[256];
  int victim = (master_of("cl") + 1) % 3;
  name_on("cl", victim, "dead", on_dead, sizeof on_dead);
  name_on("cl", (victim + 1) % 3, "alive", on_live, sizeof on_live);
  /* a waiter on the master that dies is told, not left hanging */
  waiter_t w = {.h = h, .timeout_ms = 20000};
  snprintf(w.name, sizeof w.name, "%s", on_dead);
  pthread_t th;
  pthread_create(&th, NULL, waiter_main, &w);
  sleep_ms(200);
  /* capture the log while the node is dead */
  char logpath[400];
  snprintf(logpath, sizeof logpath, "%s/stderr.log", g_dir);
  fflush(stderr);
  int saved = dup(2), lf = open(logpath, O_CREAT | O_TRUNC | O_WRONLY, 0600);
  dup2(lf, 2);
  kill(pid_of(victim), SIGKILL);
  double t0 = now_ms();
  pthread_join(th, NULL);
  CHECK_EQ(w.rc, DBR_ERR_NOCONNECT);
  CHECK(now_ms() - t0 < 3000);
  /* calls to the dead master fail at once, calls to the others keep working */
  int fast = 0, live_ok = 0;
  double c0 = cpu_ms(), w0 = now_ms();
  for (int i = 0; i < 20; i++) {
    double s = now_ms();
    DBR_Errorcode_t rc = put_s(h, on_dead, "x");
    if (rc == DBR_ERR_NOCONNECT && now_ms() - s < 1000) fast++;
    live_ok += put_s(h, on_live, "y") == DBR_SUCCESS;
    sleep_ms(100);
  }
  double cpu_pct = 100.0 * (cpu_ms() - c0) / (now_ms() - w0);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(lf);
  int lines = 0;
  FILE *f = fopen(logpath, "r");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    lines++;
    fputs(line, stdout);
  }
  if (f) fclose(f);
  printf("killed master: %d/20 calls to it failed NOCONNECT at once, %d/20 to a live one worked, %.2f%% CPU, "
         "%d log lines in 2 s\n", fast, live_ok, cpu_pct, lines);
  CHECK_EQ(fast, 20);
  CHECK_EQ(live_ok, 20);
  CHECK(cpu_pct < 25);
  CHECK(lines <= 5);
  /* a get on the dead master with a timeout fails NOCONNECT within it */
  double g0 = now_ms();
  CHECK_EQ(get_s(h, on_dead, NULL, 500, out), DBR_ERR_NOCONNECT);
  CHECK(now_ms() - g0 < 600);
}

static int body(void)
{
  for (int i = 0; i < 3; i++) g_rc[i] = rc_open(g_ports[i], NULL);
  load_slots();
  CHECK_STR(dbrxBackend(), "redis-cluster");
  DBR_Handle_t h = dbrCreate("cl", 0, NULL);
  CHECK(h != NULL);
  test_spread(h);
  test_move(h);
  test_wait_each_master(h);
  test_migration(h);
  test_stopped_master(h);
  test_killed_master(h);
  for (int i = 0; i < 3; i++) redisFree(g_rc[i]);
  return CHECK_DONE();
}

int main(void)
{
  snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-test-redis-cluster.%d", (int)getpid());
  char ports[128];
  if (run_script(ports, sizeof ports, "cluster 0 %s", g_dir) != 0 ||
      sscanf(ports, "%d %d %d", &g_ports[0], &g_ports[1], &g_ports[2]) != 3) {
    printf("0 passed, 1 failed (could not start the redis cluster)\n");
    run_script(NULL, 0, "stop %s", g_dir);
    return 1;
  }
  char server[64];
  snprintf(server, sizeof server, "sock://127.0.0.1:%d", g_ports[0]);
  setenv("DBR_SERVER", server, 1);
  unsetenv("DBR_AUTHFILE");
  setenv("DBR_TIMEOUT", "1", 1);
  return supervise(body);
}
