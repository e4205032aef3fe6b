/*
 * Submits a task to @tsdbr/worker workers from C and prints its result, following docs/protocol.md: the task
 * envelope is a JSON object put under q:{QUEUE}:pending, and the worker answers a JSON task with a JSON result
 * envelope under q:{QUEUE}:result:<id>. It uses only libdatabroker.h (no msgpack, no JSON library).
 *
 *   cc c-submit-task.c -I../../packages/core/native/include -L../../packages/core/native/build -ldbr -o c-submit-task
 *   DBR_SERVER=sock://127.0.0.1:6379 DBR_AUTHFILE=... ./c-submit-task NAMESPACE QUEUE TASK_ID A B
 *
 * It submits the task "add" with the input {"a":A,"b":B}, waits for the result (as long as it takes: a
 * blocking get gives up after DBR_TIMEOUT seconds, so it asks again), prints the result envelope and exits 0
 * if the task succeeded, 1 if it failed, 2 on a usage or Data Broker error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libdatabroker.h"

/* Attaches to the namespace, creating it if no worker has yet (two programs may race to create it). */
static DBR_Handle_t open_namespace(const char *name)
{
  DBR_Handle_t h = dbrAttach((DBR_Name_t)name);
  if (h == NULL) h = dbrCreate((DBR_Name_t)name, DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  if (h == NULL) h = dbrAttach((DBR_Name_t)name);
  return h;
}

/* Blocks until a value is under `name` and pops it into a malloc'ed, NUL-terminated buffer (NULL on error). */
static char *get_blocking(DBR_Handle_t h, const char *name)
{
  int64_t capacity = 4096;
  char *buf = malloc((size_t)capacity + 1);
  for (;;) {
    if (buf == NULL) return NULL;
    int64_t size = capacity;
    DBR_Errorcode_t rc = dbrGet(h, buf, &size, (DBR_Tuple_name_t)name, "", DBR_GROUP_EMPTY, DBR_FLAGS_NONE);
    if (rc == DBR_SUCCESS) {
      buf[size] = '\0';
      return buf;
    }
    if (rc == DBR_ERR_TIMEOUT) continue; /* no result yet: wait again */
    if (rc == DBR_ERR_UBUFFER && size > capacity) {
      /* the value did not fit and stays in the namespace; *size is the size it needs */
      capacity = size;
      char *bigger = realloc(buf, (size_t)capacity + 1);
      if (bigger == NULL) free(buf);
      buf = bigger;
      continue;
    }
    fprintf(stderr, "c-submit-task: get %s failed: %s\n", name, dbrGet_error(rc));
    free(buf);
    return NULL;
  }
}

int main(int argc, char **argv)
{
  if (argc != 6) {
    fprintf(stderr, "usage: %s NAMESPACE QUEUE TASK_ID A B\n", argv[0]);
    return 2;
  }
  const char *queue = argv[2], *id = argv[3];
  char *end_a, *end_b;
  long a = strtol(argv[4], &end_a, 10), b = strtol(argv[5], &end_b, 10);
  if (*end_a != '\0' || *end_b != '\0') {
    fprintf(stderr, "c-submit-task: A and B must be integers, got %s and %s\n", argv[4], argv[5]);
    return 2;
  }
  DBR_Handle_t h = open_namespace(argv[1]);
  if (h == NULL) {
    fprintf(stderr, "c-submit-task: cannot attach to or create namespace %s (is DBR_SERVER right?)\n", argv[1]);
    return 2;
  }

  /* The task envelope: id, task and input are required; the worker fills in att, at and max. */
  char envelope[512], pending[256], result[512];
  snprintf(envelope, sizeof envelope, "{\"id\":\"%s\",\"task\":\"add\",\"input\":{\"a\":%ld,\"b\":%ld}}", id, a, b);
  snprintf(pending, sizeof pending, "q:{%s}:pending", queue);
  snprintf(result, sizeof result, "q:{%s}:result:%s", queue, id);

  DBR_Errorcode_t rc = dbrPut(h, envelope, (int64_t)strlen(envelope), pending, DBR_GROUP_EMPTY);
  if (rc != DBR_SUCCESS) {
    fprintf(stderr, "c-submit-task: put %s failed: %s\n", pending, dbrGet_error(rc));
    dbrDetach(h);
    return 2;
  }

  char *answer = get_blocking(h, result); /* consumes the result, as result() does in TypeScript */
  dbrDetach(h);
  if (answer == NULL) return 2;
  printf("%s\n", answer);
  int ok = strstr(answer, "\"ok\":true") != NULL; /* JSON.stringify writes no spaces */
  free(answer);
  return ok ? 0 : 1;
}
