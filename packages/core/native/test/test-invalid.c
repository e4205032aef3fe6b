/*
 * Invalid arguments everywhere: every entry point reports them (with a sentence in dbrxLastError) and never
 * crashes, whatever the handle, name, size, flag, tag, iterator or queue.
 */
#include <stdint.h>
#include <stdlib.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static char long_name[1501], max_name[DBR_MAX_KEY_LEN + 1], over_name[DBR_MAX_KEY_LEN + 2];

#define CHECK_ERR(call, code)                   \
  do {                                          \
    CHECK_EQ((call), (code));                   \
    CHECK_EQ(dbrxLastErrorCode(), (code));      \
    CHECK(dbrxLastError()[0] != '\0');          \
  } while (0)

static void test_names(DBR_Handle_t h)
{
  char buf[16];
  int64_t size = sizeof buf;
  const char *bad[] = {NULL, "", "a\nb", "\n", long_name, over_name};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *n = (char *)bad[i];
    CHECK_ERR(dbrPut(h, "v", 1, n, NULL), DBR_ERR_INVALID);
    CHECK_EQ(dbrPutA(h, "v", 1, n, NULL), DB_TAG_ERROR);
    CHECK_ERR(dbrTestKey(h, n), DBR_ERR_INVALID);
    CHECK_EQ(dbrxPutAsync(NULL, h, "v", 1, n), DB_TAG_ERROR);
    int64_t c;
    CHECK_ERR(dbrxCount(h, n, &c), DBR_ERR_INVALID);
    CHECK(dbrCreate(n, 0, NULL) == NULL);
    CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
    CHECK(dbrAttach(n) == NULL);
    CHECK_ERR(dbrDelete(n), DBR_ERR_INVALID);
    CHECK_ERR(dbrxMoveValue(h, n, h, "x", buf, &size, 0, 0), DBR_ERR_INVALID);
    CHECK_ERR(dbrxMoveValue(h, "x", h, n, buf, &size, 0, 0), DBR_ERR_INVALID);
    if (n && *n) { /* as a non-empty name it must be rejected even with a valid template */
      CHECK_ERR(dbrGet(h, buf, &size, n, "*", NULL, DBR_FLAGS_NOWAIT), DBR_ERR_INVALID);
      CHECK_ERR(dbrRead(h, buf, &size, n, NULL, NULL, DBR_FLAGS_NOWAIT), DBR_ERR_INVALID);
      CHECK_ERR(dbrRemove(h, NULL, n, NULL), DBR_ERR_INVALID);
      CHECK_ERR(dbrMove(h, NULL, n, NULL, h, NULL), DBR_ERR_INVALID);
      CHECK_EQ(dbrGetA(h, buf, &size, n, NULL, NULL), DB_TAG_ERROR);
      CHECK_EQ(dbrxGetAsync(NULL, h, n, NULL, 0, 0), DB_TAG_ERROR);
    }
  }
  CHECK_ERR(dbrPut(h, "v", 1, long_name, NULL), DBR_ERR_INVALID);
  CHECK(strstr(dbrxLastError(), "1500 bytes; the limit is 1023") != NULL);
  CHECK_ERR(dbrPut(h, "v", 1, "a\nb", NULL), DBR_ERR_INVALID);
  CHECK(strstr(dbrxLastError(), "newline") != NULL);
  /* 1023 bytes is fine, and so are arbitrary bytes */
  CHECK_EQ(dbrPut(h, "v", 1, max_name, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, max_name), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h, NULL, max_name, NULL), DBR_SUCCESS);
  char odd[] = {(char)0xff, (char)0xc3, 0x01, '*', '\\', 0};
  CHECK_EQ(dbrPut(h, "v", 1, odd, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrGet(h, buf, &size, odd, NULL, NULL, 0), DBR_SUCCESS);
  /* both name and template empty */
  CHECK_ERR(dbrGet(h, buf, &size, "", "", NULL, 0), DBR_ERR_INVALID);
  CHECK_ERR(dbrRead(h, buf, &size, NULL, NULL, NULL, 0), DBR_ERR_INVALID);
  CHECK_ERR(dbrRemove(h, NULL, NULL, ""), DBR_ERR_INVALID);
  CHECK_ERR(dbrMove(h, NULL, "", NULL, h, NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrxReadAsync(NULL, h, NULL, NULL, 0, 0), DB_TAG_ERROR);
  /* over-long templates */
  char tl[3000];
  memset(tl, '*', sizeof tl - 1);
  tl[sizeof tl - 1] = '\0';
  CHECK_ERR(dbrGet(h, buf, &size, NULL, tl, NULL, 0), DBR_ERR_INVALID);
  int64_t ret;
  CHECK_ERR(dbrDirectory(h, tl, NULL, 0, buf, sizeof buf, &ret), DBR_ERR_INVALID);
  char it_name[DBR_MAX_KEY_LEN + 1];
  CHECK(dbrIterator(h, DBR_ITERATOR_NEW, NULL, tl, it_name) == NULL);
  CHECK_EQ(it_name[0], (char)EOF);
}

static void test_sizes_flags(DBR_Handle_t h)
{
  char buf[16];
  int64_t size = sizeof buf, neg = -1;
  CHECK_ERR(dbrPut(h, "v", -1, "k", NULL), DBR_ERR_INVALID);
  CHECK_ERR(dbrPut(h, NULL, 5, "k", NULL), DBR_ERR_INVALID);
  CHECK_ERR(dbrPut(h, "v", INT64_MIN, "k", NULL), DBR_ERR_INVALID);
  CHECK_EQ(dbrPutA(h, NULL, 1, "k", NULL), DB_TAG_ERROR);
  CHECK_EQ(dbrxPutAsync(NULL, h, NULL, 1, "k"), DB_TAG_ERROR);
  CHECK_EQ(dbrPut(h, "v", 1, "k", NULL), DBR_SUCCESS);
  CHECK_ERR(dbrGet(h, buf, NULL, "k", NULL, NULL, 0), DBR_ERR_INVALID);
  CHECK_ERR(dbrGet(h, buf, &neg, "k", NULL, NULL, 0), DBR_ERR_INVALID);
  size = 4;
  CHECK_ERR(dbrGet(h, NULL, &size, "k", NULL, NULL, 0), DBR_ERR_INVALID);
  CHECK_ERR(dbrRead(h, buf, NULL, "k", NULL, NULL, 0), DBR_ERR_INVALID);
  CHECK_EQ(dbrGetA(h, buf, NULL, "k", NULL, NULL), DB_TAG_ERROR);
  CHECK_EQ(dbrReadA(h, NULL, &size, "k", NULL, NULL), DB_TAG_ERROR);
  size = sizeof buf;
  CHECK_ERR(dbrGet(h, buf, &size, "k", NULL, NULL, 4), DBR_ERR_INVALID);  /* unknown bit */
  CHECK_ERR(dbrGet(h, buf, &size, "k", NULL, NULL, 8), DBR_ERR_INVALID);  /* unknown bit */
  CHECK_ERR(dbrGet(h, buf, &size, "k", NULL, NULL, -1), DBR_ERR_INVALID); /* negative */
  CHECK_ERR(dbrRead(h, buf, &size, "k", NULL, NULL, INT32_MIN), DBR_ERR_INVALID);
  CHECK_ERR(dbrGet(h, buf, &size, "k", NULL, NULL, 1 << DBR_FLAGS_INDEX_SHIFT), DBR_ERR_INVALID);
  CHECK_EQ(dbrxGetAsync(NULL, h, "k", NULL, 2 << DBR_FLAGS_INDEX_SHIFT, 0), DB_TAG_ERROR);
  CHECK_EQ(dbrxReadAsync(NULL, h, "k", NULL, 0x4, 0), DB_TAG_ERROR);
  CHECK_ERR(dbrxGet(h, buf, &size, "k", NULL, 0, -5), DBR_ERR_INVALID);
  CHECK_ERR(dbrxRead(h, buf, &size, "k", NULL, 0, INT64_MIN), DBR_ERR_INVALID);
  /* a huge index just is not there */
  CHECK_EQ(dbrRead(h, buf, &size, "k", NULL, NULL, (INT32_MAX >> DBR_FLAGS_INDEX_SHIFT) << DBR_FLAGS_INDEX_SHIFT |
                   DBR_FLAGS_NOWAIT), DBR_ERR_UNAVAIL);
  /* the value is intact after all that */
  size = sizeof buf;
  CHECK_EQ(dbrGet(h, buf, &size, "k", NULL, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(size, 1);
  /* other NULL outputs */
  CHECK_ERR(dbrQuery(h, NULL, DBR_STATE_MASK_ALL), DBR_ERR_INVALID);
  CHECK_ERR(dbrxCount(h, "k", NULL), DBR_ERR_INVALID);
  CHECK_ERR(dbrxStat(h, NULL), DBR_ERR_INVALID);
  CHECK_ERR(dbrxNamespaceName(h, NULL, 100), DBR_ERR_INVALID);
  int64_t ret;
  CHECK_ERR(dbrDirectory(h, "*", NULL, 0, NULL, 10, &ret), DBR_ERR_INVALID);
  CHECK_ERR(dbrxTake(1, buf, NULL), DBR_ERR_INVALID);
  CHECK_ERR(dbrxTake(1, NULL, &size), DBR_ERR_INVALID);
  CHECK_ERR(dbrxTake(1, buf, &neg), DBR_ERR_INVALID);
  CHECK(dbrIterator(h, DBR_ITERATOR_NEW, NULL, "*", NULL) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  /* levels: 0..5 accepted, others refused */
  for (int lv = 0; lv < DBR_PERST_MAX; lv++) {
    DBR_Handle_t x = dbrCreate("lvl", (DBR_Tuple_persist_level_t)lv, (DBR_GroupList_t)(uintptr_t)0x1);
    CHECK(x != NULL);
    CHECK_EQ(dbrDetach(x), DBR_SUCCESS);
    CHECK_EQ(dbrDelete("lvl"), DBR_SUCCESS);
  }
  CHECK(dbrCreate("lvl", DBR_PERST_MAX, NULL) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_INVALID);
  CHECK(dbrCreate("lvl", (DBR_Tuple_persist_level_t)-1, NULL) == NULL);
  /* groups are never dereferenced */
  CHECK_EQ(dbrPut(h, "v", 1, "g", (DBR_Group_t)(uintptr_t)0x1), DBR_SUCCESS);
  size = sizeof buf;
  CHECK_EQ(dbrGet(h, buf, &size, "g", NULL, (DBR_Group_t)(uintptr_t)0x1, 0), DBR_SUCCESS);
}

static void test_handles(DBR_Handle_t live)
{
  char buf[16], nm[DBR_MAX_KEY_LEN + 1];
  int stackvar = 0;
  DBR_Handle_t detached = dbrAttach("test-invalid");
  CHECK(detached != NULL);
  CHECK_EQ(dbrDetach(detached), DBR_SUCCESS);
  DBR_Handle_t bad[] = {NULL, (DBR_Handle_t)(uintptr_t)1, (DBR_Handle_t)(uintptr_t)0xdeadbeef,
                        (DBR_Handle_t)&stackvar, (DBR_Handle_t)(uintptr_t)UINTPTR_MAX, detached,
                        (DBR_Handle_t)((uintptr_t)live + 1), (DBR_Handle_t)((uintptr_t)live + 4096),
                        (DBR_Handle_t)((uintptr_t)live ^ ((uintptr_t)1 << 40))};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    DBR_Handle_t h = bad[i];
    int64_t size = sizeof buf, ret, c;
    DBR_State_t st;
    dbrx_stat_t xs;
    CHECK_ERR(dbrPut(h, "v", 1, "k", NULL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrGet(h, buf, &size, "k", NULL, NULL, DBR_FLAGS_NOWAIT), DBR_ERR_HANDLE);
    CHECK_ERR(dbrRead(h, buf, &size, "k", NULL, NULL, 0), DBR_ERR_HANDLE);
    CHECK_EQ(dbrPutA(h, "v", 1, "k", NULL), DB_TAG_ERROR);
    CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_HANDLE);
    CHECK_EQ(dbrGetA(h, buf, &size, "k", NULL, NULL), DB_TAG_ERROR);
    CHECK_EQ(dbrReadA(h, buf, &size, "k", NULL, NULL), DB_TAG_ERROR);
    CHECK_ERR(dbrTestKey(h, "k"), DBR_ERR_HANDLE);
    CHECK_ERR(dbrDirectory(h, "*", NULL, 0, buf, sizeof buf, &ret), DBR_ERR_HANDLE);
    CHECK_ERR(dbrMove(h, NULL, "k", NULL, live, NULL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrMove(live, NULL, "k", NULL, h, NULL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrRemove(h, NULL, "k", NULL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrQuery(h, &st, DBR_STATE_MASK_ALL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrDetach(h), DBR_ERR_HANDLE);
    CHECK_ERR(dbrAddUnits(h, NULL), DBR_ERR_HANDLE);
    CHECK_ERR(dbrRemoveUnits(h, NULL), DBR_ERR_HANDLE);
    CHECK(dbrIterator(h, DBR_ITERATOR_NEW, NULL, "*", nm) == NULL);
    CHECK_EQ(nm[0], (char)EOF);
    CHECK_ERR(dbrxGet(h, buf, &size, "k", NULL, 0, 0), DBR_ERR_HANDLE);
    CHECK_ERR(dbrxRead(h, buf, &size, "k", NULL, 0, 0), DBR_ERR_HANDLE);
    CHECK_EQ(dbrxGetAsync(NULL, h, "k", NULL, 0, 0), DB_TAG_ERROR);
    CHECK_EQ(dbrxReadAsync(NULL, h, "k", NULL, 0, 0), DB_TAG_ERROR);
    CHECK_EQ(dbrxPutAsync(NULL, h, "v", 1, "k"), DB_TAG_ERROR);
    CHECK_EQ(dbrxPutManyAsync(NULL, h, NULL, 0), DB_TAG_ERROR);
    CHECK_EQ(dbrxMoveValueAsync(NULL, h, "k", live, "j", 0, 0), DB_TAG_ERROR);
    CHECK_EQ(dbrxMoveValueAsync(NULL, live, "k", h, "j", 0, 0), DB_TAG_ERROR);
    CHECK_ERR(dbrxMoveValue(h, "k", live, "j", buf, &size, 0, 0), DBR_ERR_HANDLE);
    CHECK_ERR(dbrxPutMany(h, NULL, 0), DBR_ERR_HANDLE);
    CHECK_ERR(dbrxCount(h, "k", &c), DBR_ERR_HANDLE);
    CHECK_ERR(dbrxStat(h, &xs), DBR_ERR_HANDLE);
    CHECK_ERR(dbrxNamespaceName(h, nm, sizeof nm), DBR_ERR_HANDLE);
  }
  /* an iterator is not a handle, and a handle is not an iterator */
  CHECK_EQ(dbrPut(live, "v", 1, "iter-k", NULL), DBR_SUCCESS);
  DBR_Iterator_t it = dbrIterator(live, DBR_ITERATOR_NEW, NULL, "*", nm);
  CHECK(it != NULL);
  CHECK_ERR(dbrPut((DBR_Handle_t)it, "v", 1, "k", NULL), DBR_ERR_HANDLE);
  CHECK(dbrIterator(live, (DBR_Iterator_t)live, NULL, "*", nm) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_ITERATOR);
  CHECK_ERR(dbrxIteratorFree((DBR_Iterator_t)live), DBR_ERR_ITERATOR);
  CHECK_ERR(dbrxIteratorFree(NULL), DBR_ERR_ITERATOR);
  /* an iterator belongs to its handle */
  DBR_Handle_t other = dbrAttach("test-invalid");
  CHECK(dbrIterator(other, it, NULL, "*", nm) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_ITERATOR);
  CHECK_EQ(dbrDetach(other), DBR_SUCCESS);
  CHECK_ERR(dbrxIteratorFree(it), DBR_ERR_ITERATOR); /* ended by the failed call */
  /* an iterator whose handle was detached ends */
  other = dbrAttach("test-invalid");
  it = dbrIterator(other, DBR_ITERATOR_NEW, NULL, "*", nm);
  CHECK(it != NULL);
  CHECK_EQ(dbrDetach(other), DBR_SUCCESS);
  CHECK(dbrIterator(other, it, NULL, "*", nm) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_HANDLE);
  CHECK_ERR(dbrxIteratorFree(it), DBR_ERR_ITERATOR);
  CHECK_EQ(dbrRemove(live, NULL, "iter-k", NULL), DBR_SUCCESS);
}

static void test_tags(DBR_Handle_t h)
{
  char buf[16];
  int64_t size = sizeof buf;
  DBR_Tag_t bad[] = {0, -1, INT64_MIN, INT64_MAX, 1000000000};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_ERR(dbrTest(bad[i]), DBR_ERR_TAGERROR);
    CHECK_ERR(dbrCancel(bad[i]), DBR_ERR_TAGERROR);
    CHECK_ERR(dbrxTake(bad[i], buf, &size), DBR_ERR_TAGERROR);
  }
  /* reused tags */
  DBR_Tag_t t = dbrPutA(h, "v", 1, "t", NULL);
  CHECK(t > 0);
  CHECK_EQ(dbrTest(t), DBR_SUCCESS);
  CHECK_ERR(dbrTest(t), DBR_ERR_TAGERROR);
  CHECK_ERR(dbrCancel(t), DBR_ERR_TAGERROR);
  CHECK_ERR(dbrxTake(t, buf, &size), DBR_ERR_TAGERROR);
  /* unsupported calls */
  CHECK_EQ(dbrEval(h, buf, 1, "t", NULL, NULL), DB_TAG_ERROR);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_NOTIMPL);
  CHECK_ERR(dbrAddUnits(h, NULL), DBR_ERR_NOTIMPL);
  CHECK_ERR(dbrRemoveUnits(h, NULL), DBR_ERR_NOTIMPL);
  CHECK_EQ(dbrRemove(h, NULL, "t", NULL), DBR_SUCCESS);
}

int main(void)
{
  unsetenv("DBR_SERVER");
  memset(long_name, 'a', sizeof long_name - 1);
  memset(max_name, 'm', sizeof max_name - 1);
  memset(over_name, 'o', sizeof over_name - 1);
  CHECK_STR(dbrxLastError(), "");
  CHECK_EQ(dbrxLastErrorCode(), DBR_SUCCESS);
  CHECK_STR(dbrGet_error(DBR_ERR_MAXERROR), "Unknown Error");
  CHECK_STR(dbrGet_error((DBR_Errorcode_t)-1), "Unknown Error");
  DBR_Handle_t h = dbrCreate("test-invalid", 0, NULL);
  CHECK(h != NULL);
  if (h == NULL) return CHECK_DONE();
  test_names(h);
  test_sizes_flags(h);
  test_handles(h);
  test_tags(h);
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-invalid"), DBR_SUCCESS);
  return CHECK_DONE();
}
