/*
 * Helpers shared by the test-redis-*.c programs: start and stop servers with test/redis-servers.sh, run the
 * checks in a child process so the servers are stopped whatever happens, and inspect Redis with hiredis.
 */
#ifndef TEST_REDIS_HARNESS_H_
#define TEST_REDIS_HARNESS_H_

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

#define HARNESS_FN static __attribute__((unused))


static char g_dir[256];
static char g_script[512];

HARNESS_FN const char *script(void)
{
  if (g_script[0]) return g_script;
  if (access("test/redis-servers.sh", X_OK) == 0) {
    snprintf(g_script, sizeof g_script, "test/redis-servers.sh");
  } else {
    char exe[400] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(g_script, sizeof g_script, "%s/../../test/redis-servers.sh", exe);
  }
  return g_script;
}

/* Runs the script with the given arguments; its first output line goes to out. 0 on success. */
HARNESS_FN int run_script(char *out, size_t outlen, const char *fmt, ...)
{
  char args[1024], cmd[1600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s %s", script(), args);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  char line[256] = "";
  if (!fgets(line, sizeof line, p)) line[0] = '\0';
  int st = pclose(p);
  line[strcspn(line, "\n")] = '\0';
  if (out) snprintf(out, outlen, "%s", line);
  return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

HARNESS_FN redisContext *rc_open(int port, const char *password)
{
  redisContext *c = redisConnect("127.0.0.1", port);
  if (!c || c->err) {
    fprintf(stderr, "hiredis: cannot connect to 127.0.0.1:%d: %s\n", port, c ? c->errstr : "oom");
    exit(2);
  }
  if (password && *password) {
    redisReply *r = redisCommand(c, "AUTH %s", password);
    if (r) freeReplyObject(r);
  }
  return c;
}

/*
 * Starts a single redis-server in /tmp/libdbr-<name>.<pid> (password "-" for none) and points DBR_SERVER, and
 * DBR_AUTHFILE when there is a password, at it. Returns its port, or -1 after printing why.
 */
HARNESS_FN int start_single(const char *name, const char *password)
{
  snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-%s.%d", name, (int)getpid());
  char port[32];
  if (run_script(port, sizeof port, "single 0 %s %s", password, g_dir) != 0) {
    printf("0 passed, 1 failed (could not start redis-server)\n");
    run_script(NULL, 0, "stop %s", g_dir);
    return -1;
  }
  char server[64];
  snprintf(server, sizeof server, "sock://127.0.0.1:%d", atoi(port));
  setenv("DBR_SERVER", server, 1);
  unsetenv("DBR_AUTHFILE");
  if (strcmp(password, "-") != 0) {
    static char auth[300];
    snprintf(auth, sizeof auth, "%s/auth", g_dir);
    FILE *f = fopen(auth, "w");
    if (f) {
      fprintf(f, "%s\n", password);
      fclose(f);
    }
    setenv("DBR_AUTHFILE", auth, 1);
  }
  return atoi(port);
}

/* Starts a 3-master cluster in /tmp/libdbr-<name>.<pid> and points DBR_SERVER at its first master. 0 or -1. */
HARNESS_FN int start_cluster(const char *name, int ports[3])
{
  snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-%s.%d", name, (int)getpid());
  char out[128];
  if (run_script(out, sizeof out, "cluster 0 %s", g_dir) != 0 || sscanf(out, "%d %d %d", &ports[0], &ports[1], &ports[2]) != 3) {
    printf("0 passed, 1 failed (could not start the redis cluster)\n");
    run_script(NULL, 0, "stop %s", g_dir);
    return -1;
  }
  char server[64];
  snprintf(server, sizeof server, "sock://127.0.0.1:%d", ports[0]);
  setenv("DBR_SERVER", server, 1);
  unsetenv("DBR_AUTHFILE");
  return 0;
}

/* Runs body in a child process; the parent stops the servers whatever happens to the child. */
HARNESS_FN int supervise(int (*body)(void))
{
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return 2;
  if (pid == 0) exit(body());
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (g_dir[0]) run_script(NULL, 0, "stop %s", g_dir);
  if (WIFSIGNALED(st)) {
    printf("0 passed, 1 failed (the test process died of signal %d)\n", WTERMSIG(st));
    return 1;
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

HARNESS_FN double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

HARNESS_FN void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* The integer reply of a command (-999 for any other reply). */
HARNESS_FN long long rc_int(redisContext *rc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(rc, fmt, ap);
  va_end(ap);
  long long v = (r && r->type == REDIS_REPLY_INTEGER) ? r->integer : -999;
  if (r) freeReplyObject(r);
  return v;
}

/* A command's reply (never NULL: exits if the connection fails). */
HARNESS_FN redisReply *rc_cmd(redisContext *rc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(rc, fmt, ap);
  va_end(ap);
  if (!r) {
    fprintf(stderr, "hiredis: %s\n", rc->errstr);
    exit(2);
  }
  return r;
}

/* A reply's string ("" for nil), in a static buffer. */
HARNESS_FN const char *rc_str(redisContext *rc, const char *fmt, ...)
{
  static char buf[4][512];
  static int k;
  char *out = buf[k++ % 4];
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(rc, fmt, ap);
  va_end(ap);
  out[0] = '\0';
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
    snprintf(out, 512, "%.*s", (int)r->len, r->str);
  if (r) freeReplyObject(r);
  return out;
}

/*
 * Runs body (supervised) against one redis-server with the password pass, started in /tmp/libdbr-<name>.<pid>,
 * or against DBR_TEST_REDIS=host:port, whose password DBR_TEST_REDIS_PASSWORD replaces pass (that server must
 * be disposable: the tests flush it). Sets *port, and points DBR_SERVER and DBR_AUTHFILE at the server first.
 */
HARNESS_FN int run_with_password(const char *name, char *pass, size_t passlen, int *port, int (*body)(void))
{
  const char *given = getenv("DBR_TEST_REDIS");
  char authfile[300];
  if (given && *given) {
    const char *colon = strrchr(given, ':');
    *port = colon ? atoi(colon + 1) : 6379;
    const char *pw = getenv("DBR_TEST_REDIS_PASSWORD");
    snprintf(pass, passlen, "%s", pw ? pw : "");
    snprintf(authfile, sizeof authfile, "/tmp/libdbr-test-auth.%d", (int)getpid());
  } else {
    snprintf(g_dir, sizeof g_dir, "/tmp/libdbr-%s.%d", name, (int)getpid());
    char p[32];
    if (run_script(p, sizeof p, "single 0 %s %s", pass, g_dir) != 0) {
      printf("0 passed, 1 failed (could not start redis-server)\n");
      run_script(NULL, 0, "stop %s", g_dir);
      return 1;
    }
    *port = atoi(p);
    snprintf(authfile, sizeof authfile, "%s/auth", g_dir);
  }
  FILE *f = fopen(authfile, "w");
  if (f) {
    fprintf(f, "%s\n", pass);
    fclose(f);
  }
  char server[64];
  snprintf(server, sizeof server, "sock://127.0.0.1:%d", *port);
  setenv("DBR_SERVER", server, 1);
  setenv("DBR_AUTHFILE", authfile, 1);
  int rc = supervise(body);
  if (!g_dir[0]) unlink(authfile);
  return rc;
}

#ifdef INCLUDE_LIBDBR_EXT_H_
/* Collects a tag, waiting for it to complete (at most 10 s; then DBR_ERR_INPROGRESS). */
HARNESS_FN DBR_Errorcode_t take(DBR_Tag_t tag, char *out, int64_t *size)
{
  DBR_Errorcode_t rc;
  int64_t cap = *size;
  for (int i = 0; i < 10000 && (rc = dbrxTake(tag, out, size)) == DBR_ERR_INPROGRESS; i++) {
    *size = cap;
    sleep_ms(1);
  }
  return rc;
}

/*
 * Collects n tags of q within timeout_ms; *ok counts those whose value is "v<i>" for tags[i]. Returns how many
 * completed.
 */
HARNESS_FN int collect_values(dbrx_queue_t *q, const DBR_Tag_t *tags, int n, double timeout_ms, int *ok)
{
  int got = 0;
  *ok = 0;
  double t0 = now_ms();
  DBR_Tag_t done[64];
  while (got < n && now_ms() - t0 < timeout_ms) {
    struct pollfd pfd = {.fd = dbrxQueueFd(q), .events = POLLIN};
    poll(&pfd, 1, 200);
    int k;
    while ((k = dbrxQueueDrain(q, done, 64)) > 0) {
      for (int j = 0; j < k; j++) {
        int i = -1;
        for (int x = 0; x < n && i < 0; x++)
          if (tags[x] == done[j]) i = x;
        char buf[32], want[32];
        int64_t size = sizeof buf - 1;
        if (dbrxTake(done[j], buf, &size) == DBR_SUCCESS && i >= 0) {
          buf[size] = '\0';
          snprintf(want, sizeof want, "v%d", i);
          *ok += strcmp(buf, want) == 0;
        }
        got++;
      }
    }
  }
  return got;
}
#endif

#endif /* TEST_REDIS_HARNESS_H_ */
