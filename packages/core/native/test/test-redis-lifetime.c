/*
 * libdbr on one Redis server (with a password), the lifetimes around the data: a namespace another client
 * uses cannot be deleted by a process without a handle; a process that dies attached does not make its
 * namespace undeletable, and one alive but idle whose connection dropped is not taken for dead; closing a
 * backend completes its waiters, and deleting a namespace fails its waiters; opening fails cleanly: wrong or
 * missing password (NOAUTH, the password never in the message), an unreachable server (NOCONNECT), a
 * malformed address.
 *
 * The server is started by test/redis-servers.sh and stopped when the test ends, even if it crashes (the
 * checks run in a child process). DBR_TEST_REDIS=host:port (and DBR_TEST_REDIS_PASSWORD) use a given server
 * instead; it must be disposable (the test flushes it).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#include "backend.h"
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

#define rq(...) rc_cmd(g_rc, __VA_ARGS__)
#define rq_int(...) rc_int(g_rc, __VA_ARGS__)
#define rq_str(...) rc_str(g_rc, __VA_ARGS__) /* "" for nil */

static DBR_Errorcode_t put_s(DBR_Handle_t h, const char *name, const char *val)
{
  return dbrPut(h, (void *)val, (int64_t)strlen(val), (char *)name, NULL);
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

/* The connections of this process's clients named libdbr-<pid>-... on the server. */
static int conns_of(int pid)
{
  char pref[64];
  snprintf(pref, sizeof pref, " name=libdbr-%d-", pid);
  redisReply *r = rq("CLIENT LIST");
  int n = 0;
  for (const char *p = r->str; p && (p = strstr(p, pref)) != NULL; p++) n++;
  freeReplyObject(r);
  return n;
}

/* A live process stays attached when its connection drops while it is idle (a network blip, the server's
 * idle timeout, a restart): it reconnects by itself, so a delete does not take it for dead and reap it. */
static void test_idle_attacher_keeps_its_namespace(void)
{
  DBR_Handle_t h = dbrCreate("idler", 0, NULL);
  CHECK(h != NULL);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "exec %s --attach-and-idle idler", g_exe);
  FILE *child = popen(cmd, "r");
  char line[32] = "";
  if (!child || !fgets(line, sizeof line, child)) line[0] = '\0';
  int pid = atoi(line);
  CHECK(pid > 0);
  CHECK_STR(rq_str("HGET idler refcnt"), "2");
  CHECK(conns_of(pid) > 0);
  freeReplyObject(rq("CLIENT KILL TYPE normal SKIPME yes")); /* every connection but this inspector's */
  for (int i = 0; i < 300 && conns_of(pid) == 0; i++) sleep_ms(10);
  CHECK(conns_of(pid) > 0);
  CHECK_EQ(dbrDelete("idler"), DBR_ERR_NSBUSY);
  CHECK_STR(rq_str("HGET idler refcnt"), "2");
  if (pid > 0) kill(pid, SIGKILL);
  if (child) pclose(child);
  CHECK_EQ(dbrDelete("idler"), DBR_SUCCESS); /* now it is dead: released */
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(rq_int("DBSIZE"), 0);
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
  test_delete_by_an_unattached_process();
  test_dead_attacher();
  test_idle_attacher_keeps_its_namespace();
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
  if (argc == 3 && strcmp(argv[1], "--attach-and-idle") == 0) {
    /* a child run by test_idle_attacher_keeps_its_namespace: attached and idle until killed */
    if (dbrAttach(argv[2]) == NULL) return 1;
    printf("%d\n", (int)getpid());
    fflush(stdout);
    for (;;) pause();
  }
  setenv("DBR_TIMEOUT", "2", 1);
  return run_with_password("test-redis-lifetime", g_pass, sizeof g_pass, &g_port, body);
}
