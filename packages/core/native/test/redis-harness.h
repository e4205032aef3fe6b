/*
 * Helpers shared by the test-redis-*.c programs: start and stop servers with test/redis-servers.sh, run the
 * checks in a child process so the servers are stopped whatever happens, and inspect Redis with hiredis.
 */
#ifndef TEST_REDIS_HARNESS_H_
#define TEST_REDIS_HARNESS_H_

#include <errno.h>
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

#endif /* TEST_REDIS_HARNESS_H_ */
