/*
 * A plain Data Broker program: it uses only libdatabroker.h (the v0.7 ABI), so it builds unchanged against
 * libdbr or any other implementation. It attaches to a namespace, puts COUNT tuples "sample:<i>" holding
 * "value <i>", puts "done", then gets one reply from "ack" (put by the TypeScript side).
 *
 *   cc c-producer.c -I../../packages/core/native/include -L../../packages/core/native/build -ldbr -o c-producer
 *   DBR_SERVER=sock://127.0.0.1:6379 DBR_AUTHFILE=... ./c-producer NAMESPACE COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libdatabroker.h"

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s NAMESPACE COUNT\n", argv[0]);
    return 2;
  }
  DBR_Handle_t h = dbrAttach(argv[1]);
  if (h == NULL) {
    fprintf(stderr, "c-producer: cannot attach to namespace %s\n", argv[1]);
    return 1;
  }
  int count = atoi(argv[2]);
  for (int i = 0; i < count; i++) {
    char name[64], value[64];
    snprintf(name, sizeof name, "sample:%d", i);
    snprintf(value, sizeof value, "value %d", i);
    DBR_Errorcode_t rc = dbrPut(h, value, (int64_t)strlen(value), name, DBR_GROUP_EMPTY);
    if (rc != DBR_SUCCESS) {
      fprintf(stderr, "c-producer: put %s failed: %s\n", name, dbrGet_error(rc));
      return 1;
    }
  }
  dbrPut(h, "ok", 2, "done", DBR_GROUP_EMPTY);
  char ack[256];
  int64_t size = sizeof ack - 1;
  DBR_Errorcode_t rc = dbrGet(h, ack, &size, "ack", "", DBR_GROUP_EMPTY, DBR_FLAGS_NONE);
  if (rc != DBR_SUCCESS) {
    fprintf(stderr, "c-producer: no ack: %s\n", dbrGet_error(rc));
    return 1;
  }
  ack[size] = '\0';
  printf("c-producer: %d tuples sent, ack: %s\n", count, ack);
  dbrDetach(h);
  return 0;
}
