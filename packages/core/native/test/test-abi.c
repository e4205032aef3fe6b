/*
 * A plain Data Broker program: it includes only libdatabroker.h and uses only the v0.7 API, the way programs
 * written for IBM's Data Broker do (create, put, read, get with tags, directory, iterator, move, delete).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libdatabroker.h"
#include "check.h"

int main(void)
{
  unsetenv("DBR_SERVER");
  CHECK_EQ(DBR_MAJOR_VERSION, 0);
  CHECK_EQ(DBR_MINOR_VERSION, 7);
  CHECK_EQ(sizeof(DBR_Tag_t), 8);
  CHECK_EQ(DBR_ERR_PLUGIN, 22);
  CHECK_EQ(DBR_FLAGS_PARTIAL, 2);

  char name[] = "abi-test";
  DBR_Handle_t cs_hdl = dbrCreate(name, DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(cs_hdl != NULL);
  DBR_State_t cs_state;
  CHECK_EQ(dbrQuery(cs_hdl, &cs_state, DBR_STATE_MASK_ALL), DBR_SUCCESS);

  char in[] = "Hello World!";
  CHECK_EQ(dbrPut(cs_hdl, in, (int64_t)strlen(in), "testTup", DBR_GROUP_EMPTY), DBR_SUCCESS);
  char out[1024];
  int64_t out_size = sizeof out;
  CHECK_EQ(dbrRead(cs_hdl, out, &out_size, "testTup", "", DBR_GROUP_EMPTY, DBR_FLAGS_NONE), DBR_SUCCESS);
  CHECK_EQ(out_size, (int64_t)strlen(in));
  out_size = sizeof out;
  CHECK_EQ(dbrGet(cs_hdl, out, &out_size, "testTup", "", DBR_GROUP_EMPTY, DBR_FLAGS_NONE), DBR_SUCCESS);
  CHECK(strncmp(out, in, (size_t)out_size) == 0);
  CHECK_EQ(dbrTestKey(cs_hdl, "testTup"), DBR_ERR_UNAVAIL);

  /* asynchronous get, completed by a later put; polled with dbrTest */
  out_size = sizeof out;
  DBR_Tag_t tag = dbrGetA(cs_hdl, out, &out_size, "asyncTup", "", DBR_GROUP_EMPTY);
  CHECK(tag != DB_TAG_ERROR);
  DBR_Tag_t ptag = dbrPutA(cs_hdl, in, (int64_t)strlen(in), "asyncTup", DBR_GROUP_EMPTY);
  CHECK(ptag != DB_TAG_ERROR);
  DBR_Errorcode_t state;
  int spins = 0;
  while ((state = dbrTest(tag)) == DBR_ERR_INPROGRESS && spins++ < 1000000) {
  }
  CHECK_EQ(state, DBR_SUCCESS);
  CHECK_EQ(out_size, (int64_t)strlen(in));
  while ((state = dbrTest(ptag)) == DBR_ERR_INPROGRESS) {
  }
  CHECK_EQ(state, DBR_SUCCESS);

  /* directory and iterator */
  for (int i = 0; i < 10; i++) {
    char key[16];
    snprintf(key, sizeof key, "key%d", i);
    CHECK_EQ(dbrPut(cs_hdl, in, 1, key, DBR_GROUP_EMPTY), DBR_SUCCESS);
  }
  char tbuf[1024];
  int64_t rsize = 0;
  CHECK_EQ(dbrDirectory(cs_hdl, "*", DBR_GROUP_EMPTY, 100, tbuf, sizeof tbuf, &rsize), DBR_SUCCESS);
  int n = 0;
  for (char *pos = tbuf; pos != NULL; n++) {
    pos = strchr(pos, '\n');
    if (pos) pos++;
  }
  CHECK_EQ(n, 10);
  DBR_Iterator_t it = DBR_ITERATOR_NEW;
  char key[DBR_MAX_KEY_LEN + 1];
  n = 0;
  while ((it = dbrIterator(cs_hdl, it, DBR_GROUP_EMPTY, "key*", key)) != DBR_ITERATOR_DONE) n++;
  CHECK_EQ(n, 10);

  /* move to a second namespace, remove, delete */
  DBR_Handle_t other = dbrCreate("abi-test-2", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK_EQ(dbrMove(cs_hdl, DBR_GROUP_EMPTY, "key0", "", other, DBR_GROUP_EMPTY), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(other, "key0"), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(cs_hdl, DBR_GROUP_EMPTY, "key1", ""), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(cs_hdl, DBR_GROUP_EMPTY, "key1", ""), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrDelete("abi-test-2"), DBR_SUCCESS);
  CHECK_EQ(dbrDelete(name), DBR_SUCCESS);
  CHECK(dbrAttach(name) == NULL);
  CHECK(dbrGet_error(DBR_ERR_NSBUSY) != NULL);
  CHECK_EQ(dbrDetach(cs_hdl), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(other), DBR_SUCCESS);
  return CHECK_DONE();
}
