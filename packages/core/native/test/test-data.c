/*
 * Data operations on the memory backend, synchronous: put/read/get, FIFO order, read index, NOWAIT, buffers
 * that are too small, PARTIAL, empty values, templates, move/remove, testKey, directory, iterator, count,
 * stat, put-many and move-value.
 */
#include <stdint.h>
#include <stdlib.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static DBR_Handle_t h;

static int64_t put_s(DBR_Handle_t hd, const char *name, const char *val)
{
  return dbrPut(hd, (void *)val, (int64_t)strlen(val), (char *)name, DBR_GROUP_EMPTY);
}

/* Gets (or reads) a string value; returns the code, the value in out (NUL-terminated). */
static DBR_Errorcode_t get_s(DBR_Handle_t hd, const char *name, const char *tmpl, int flags, char *out, int get)
{
  int64_t size = 255;
  DBR_Errorcode_t rc = get ? dbrGet(hd, out, &size, (char *)name, (char *)tmpl, DBR_GROUP_EMPTY, flags)
                           : dbrRead(hd, out, &size, (char *)name, (char *)tmpl, DBR_GROUP_EMPTY, flags);
  out[rc == DBR_SUCCESS ? size : 0] = '\0';
  return rc;
}

static void test_fifo_read_get(void)
{
  char out[256];
  CHECK_EQ(put_s(h, "fifo", "one"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "fifo", "two"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "fifo", "three"), DBR_SUCCESS);
  /* read does not consume: same value twice */
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NONE, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "one");
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NONE, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "one");
  /* read index */
  CHECK_EQ(get_s(h, "fifo", NULL, 1 << DBR_FLAGS_INDEX_SHIFT, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "two");
  CHECK_EQ(get_s(h, "fifo", NULL, 2 << DBR_FLAGS_INDEX_SHIFT, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "three");
  CHECK_EQ(get_s(h, "fifo", NULL, (3 << DBR_FLAGS_INDEX_SHIFT) | DBR_FLAGS_NOWAIT, out, 0), DBR_ERR_UNAVAIL);
  /* get index other than 0 is invalid */
  CHECK_EQ(get_s(h, "fifo", NULL, 1 << DBR_FLAGS_INDEX_SHIFT, out, 1), DBR_ERR_INVALID);
  int64_t n = -1;
  CHECK_EQ(dbrxCount(h, "fifo", &n), DBR_SUCCESS);
  CHECK_EQ(n, 3);
  /* get pops in FIFO order */
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NONE, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "one");
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NONE, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "two");
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NONE, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "three");
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_UNAVAIL);
  CHECK_EQ(get_s(h, "fifo", NULL, DBR_FLAGS_NOWAIT, out, 0), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrxCount(h, "fifo", &n), DBR_SUCCESS);
  CHECK_EQ(n, 0);
  CHECK_EQ(dbrTestKey(h, "fifo"), DBR_ERR_UNAVAIL);
}

static void test_buffers(void)
{
  char big[100], small[4];
  memset(big, 'x', sizeof big);
  CHECK_EQ(dbrPut(h, big, sizeof big, "big", NULL), DBR_SUCCESS);
  /* too small: value stays, size reports the need */
  int64_t size = sizeof small;
  CHECK_EQ(dbrGet(h, small, &size, "big", NULL, NULL, DBR_FLAGS_NONE), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  size = 0;
  CHECK_EQ(dbrGet(h, NULL, &size, "big", NULL, NULL, DBR_FLAGS_NONE), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  size = sizeof small;
  CHECK_EQ(dbrRead(h, small, &size, "big", NULL, NULL, DBR_FLAGS_NONE), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_EQ(dbrTestKey(h, "big"), DBR_SUCCESS);
  /* PARTIAL read: first bytes, full size, value stays */
  memset(small, 0, sizeof small);
  size = sizeof small;
  CHECK_EQ(dbrRead(h, small, &size, "big", NULL, NULL, DBR_FLAGS_PARTIAL), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_MEM(small, "xxxx", 4);
  /* PARTIAL get consumes */
  memset(small, 0, sizeof small);
  size = sizeof small;
  CHECK_EQ(dbrGet(h, small, &size, "big", NULL, NULL, DBR_FLAGS_PARTIAL), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 100);
  CHECK_MEM(small, "xxxx", 4);
  CHECK_EQ(dbrTestKey(h, "big"), DBR_ERR_UNAVAIL);
  /* an exact fit */
  CHECK_EQ(dbrPut(h, big, sizeof big, "big", NULL), DBR_SUCCESS);
  char exact[100];
  size = sizeof exact;
  CHECK_EQ(dbrGet(h, exact, &size, "big", NULL, NULL, DBR_FLAGS_NONE), DBR_SUCCESS);
  CHECK_EQ(size, 100);
  CHECK_MEM(exact, big, 100);
  /* empty values */
  CHECK_EQ(dbrPut(h, NULL, 0, "empty", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrPut(h, big, 0, "empty", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "empty"), DBR_SUCCESS);
  size = 0;
  CHECK_EQ(dbrGet(h, NULL, &size, "empty", NULL, NULL, DBR_FLAGS_NONE), DBR_SUCCESS);
  CHECK_EQ(size, 0);
  size = 10;
  CHECK_EQ(dbrGet(h, small, &size, "empty", NULL, NULL, DBR_FLAGS_NONE), DBR_SUCCESS);
  CHECK_EQ(size, 0);
  CHECK_EQ(dbrTestKey(h, "empty"), DBR_ERR_UNAVAIL);
  /* a failed NOWAIT get leaves *size alone (programs loop on it) */
  size = 42;
  CHECK_EQ(dbrGet(h, small, &size, "none", NULL, NULL, DBR_FLAGS_NOWAIT), DBR_ERR_UNAVAIL);
  CHECK_EQ(size, 42);
  /* binary values with NUL bytes */
  unsigned char bin[256], back[256];
  for (int i = 0; i < 256; i++) bin[i] = (unsigned char)i;
  CHECK_EQ(dbrPut(h, bin, sizeof bin, "bin", NULL), DBR_SUCCESS);
  size = sizeof back;
  CHECK_EQ(dbrGet(h, back, &size, "bin", NULL, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(size, 256);
  CHECK_MEM(back, bin, 256);
  /* a huge size fails cleanly */
  CHECK_EQ(dbrPut(h, bin, INT64_MAX, "huge", NULL), DBR_ERR_NOMEMORY);
  CHECK_EQ(dbrPut(h, bin, (int64_t)1 << 50, "huge", NULL), DBR_ERR_NOMEMORY);
  CHECK_EQ(dbrTestKey(h, "huge"), DBR_ERR_UNAVAIL);
}

static void test_templates(void)
{
  char out[256];
  CHECK_EQ(put_s(h, "task:1", "a"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "task:2", "b"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "other", "c"), DBR_SUCCESS);
  /* the name wins when it is non-empty */
  CHECK_EQ(get_s(h, "other", "task:*", DBR_FLAGS_NOWAIT, out, 0), DBR_SUCCESS);
  CHECK_STR(out, "c");
  /* empty or NULL name: template */
  CHECK_EQ(get_s(h, "", "task:?", DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK(strcmp(out, "a") == 0 || strcmp(out, "b") == 0);
  char first = out[0];
  CHECK_EQ(get_s(h, NULL, "task:[12]", DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK(out[0] != first && (out[0] == 'a' || out[0] == 'b'));
  CHECK_EQ(get_s(h, NULL, "task:*", DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_UNAVAIL);
  CHECK_EQ(get_s(h, NULL, "oth\\er", DBR_FLAGS_NOWAIT, out, 0), DBR_SUCCESS); /* escaped literal */
  CHECK_STR(out, "c");
  CHECK_EQ(get_s(h, "", "", DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_INVALID);
  CHECK_EQ(get_s(h, NULL, NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_ERR_INVALID);
  /* a name with glob characters is a plain name */
  CHECK_EQ(put_s(h, "we*rd[1]?", "w"), DBR_SUCCESS);
  CHECK_EQ(get_s(h, "we*rd[1]?", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "w");
  CHECK_EQ(dbrRemove(h, NULL, "other", NULL), DBR_SUCCESS);
}

static void test_move_remove(void)
{
  DBR_Handle_t h2 = dbrCreate("test-data-2", DBR_PERST_VOLATILE_SIMPLE, NULL);
  CHECK(h2 != NULL);
  char out[256];
  CHECK_EQ(put_s(h, "m", "1"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "m", "2"), DBR_SUCCESS);
  CHECK_EQ(put_s(h2, "m", "0"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, "m", NULL, h2, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "m"), DBR_ERR_UNAVAIL);
  /* appended to the destination's FIFO, in order */
  CHECK_EQ(get_s(h2, "m", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "0");
  CHECK_EQ(get_s(h2, "m", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "1");
  CHECK_EQ(get_s(h2, "m", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "2");
  CHECK_EQ(dbrMove(h, NULL, "m", NULL, h2, NULL), DBR_ERR_UNAVAIL);
  /* by template */
  CHECK_EQ(put_s(h, "mv:a", "a"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "mv:b", "b"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "keep", "k"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, "", "mv:*", h2, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h2, "mv:a"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h2, "mv:b"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "mv:a"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrTestKey(h, "keep"), DBR_SUCCESS);
  CHECK_EQ(dbrMove(h, NULL, NULL, "mv:*", h2, NULL), DBR_ERR_UNAVAIL);
  /* move within the same namespace is a no-op */
  CHECK_EQ(dbrMove(h, NULL, "keep", NULL, h, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h, "keep"), DBR_SUCCESS);
  /* remove by name and by template */
  CHECK_EQ(dbrRemove(h2, NULL, "mv:a", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h2, NULL, "mv:a", NULL), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrRemove(h2, NULL, NULL, "mv:*"), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(h2, "mv:b"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrRemove(h2, NULL, NULL, "mv:*"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrRemove(h, NULL, "keep", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h, NULL, "", ""), DBR_ERR_INVALID);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-data-2"), DBR_SUCCESS);
}

static void test_directory(void)
{
  char name[32];
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "dir:%02d", i);
    CHECK_EQ(put_s(h, name, "v"), DBR_SUCCESS);
  }
  CHECK_EQ(put_s(h, "nodir", "v"), DBR_SUCCESS);
  char buf[4096];
  int64_t ret = -1;
  CHECK_EQ(dbrDirectory(h, "dir:*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 20 * 6 + 19 + 1);
  CHECK_EQ((int64_t)strlen(buf) + 1, ret);
  int lines = 1;
  for (char *p = buf; *p; p++) lines += *p == '\n';
  CHECK_EQ(lines, 20);
  CHECK(strstr(buf, "nodir") == NULL);
  CHECK(strstr(buf, "dir:07") != NULL);
  /* count limits the names, not an error */
  CHECK_EQ(dbrDirectory(h, "dir:*", NULL, 5, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 5 * 6 + 4 + 1);
  /* a small buffer truncates at a name boundary and says so */
  CHECK_EQ(dbrDirectory(h, "dir:*", NULL, 0, buf, 20, &ret), DBR_ERR_UBUFFER);
  CHECK_EQ(ret, 2 * 6 + 1 + 1);
  CHECK_EQ((int64_t)strlen(buf), 13);
  CHECK_EQ(dbrDirectory(h, "dir:*", NULL, 0, buf, 3, &ret), DBR_ERR_UBUFFER);
  CHECK_EQ(ret, 0);
  CHECK_STR(buf, "");
  CHECK_EQ(dbrDirectory(h, "dir:*", NULL, 0, NULL, 0, &ret), DBR_ERR_UBUFFER);
  /* no match: empty, size 0 */
  ret = 10;
  CHECK_EQ(dbrDirectory(h, "nothing*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 0);
  CHECK_STR(buf, "");
  /* NULL or empty template: everything */
  CHECK_EQ(dbrDirectory(h, NULL, NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK(strstr(buf, "nodir") != NULL);
  CHECK_EQ(dbrDirectory(h, "", NULL, 0, buf, sizeof buf, NULL), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "*dir*"), DBR_SUCCESS);
  CHECK_EQ(dbrDirectory(h, "*", NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 0);
}

static void test_iterator(void)
{
  enum { N = 10000, EXTRA = 5000 };
  char name[DBR_MAX_KEY_LEN + 1], key[32];
  for (int i = 0; i < N; i++) {
    snprintf(key, sizeof key, "it:%d", i);
    CHECK_EQ(put_s(h, key, "v") == DBR_SUCCESS, 1);
  }
  CHECK_EQ(put_s(h, "other:x", "v"), DBR_SUCCESS);
  unsigned char *seen = calloc(N + EXTRA, 1);
  int calls = 0, foreign = 0;
  DBR_Iterator_t it = DBR_ITERATOR_NEW, last = NULL;
  /* inserts during the walk make the table grow between calls */
  while ((it = dbrIterator(h, it, NULL, "it:*", name)) != DBR_ITERATOR_DONE) {
    last = it;
    int k = -1;
    if (sscanf(name, "it:%d", &k) == 1 && k >= 0 && k < N + EXTRA)
      seen[k] = 1;
    else
      foreign++;
    if (calls < EXTRA) {
      snprintf(key, sizeof key, "it:%d", N + calls);
      put_s(h, key, "v");
    }
    if (++calls > 4 * (N + EXTRA)) break;
  }
  CHECK_EQ(name[0], (char)EOF);
  CHECK_EQ(name[1], '\0');
  CHECK_EQ(foreign, 0);
  int missing = 0;
  for (int i = 0; i < N; i++) missing += !seen[i];
  CHECK_EQ(missing, 0); /* every name present for the whole walk was returned */
  CHECK(calls >= N);
  CHECK(calls <= 2 * (N + EXTRA)); /* duplicates are possible, but bounded */
  free(seen);
  /* an iterator is dead after DONE */
  CHECK(last != NULL);
  CHECK(dbrIterator(h, last, NULL, "it:*", name) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_ITERATOR);
  /* early release */
  it = dbrIterator(h, DBR_ITERATOR_NEW, NULL, "it:1*", name);
  CHECK(it != NULL);
  CHECK(strncmp(name, "it:1", 4) == 0);
  CHECK_EQ(dbrxIteratorFree(it), DBR_SUCCESS);
  CHECK_EQ(dbrxIteratorFree(it), DBR_ERR_ITERATOR);
  CHECK(dbrIterator(h, it, NULL, "it:*", name) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_ITERATOR);
  CHECK_EQ(name[0], (char)EOF);
  CHECK(dbrIterator(h, (DBR_Iterator_t)(uintptr_t)0x12345, NULL, "*", name) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_ITERATOR);
  CHECK(dbrIterator(h, DBR_ITERATOR_NEW, NULL, "*", NULL) == NULL);
  /* nothing matches: done at once */
  CHECK(dbrIterator(h, DBR_ITERATOR_NEW, NULL, "zzz*", name) == NULL);
  CHECK_EQ(name[0], (char)EOF);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "it:*"), DBR_SUCCESS);
  CHECK_EQ(dbrRemove(h, NULL, "other:x", NULL), DBR_SUCCESS);
  /* an iterator on a namespace that is deleted mid-walk ends */
  DBR_Handle_t h3 = dbrCreate("test-data-iter", 0, NULL);
  CHECK(h3 != NULL);
  for (int i = 0; i < 100; i++) {
    snprintf(key, sizeof key, "k%d", i);
    put_s(h3, key, "v");
  }
  it = dbrIterator(h3, DBR_ITERATOR_NEW, NULL, NULL, name);
  CHECK(it != NULL);
  CHECK_EQ(dbrDelete("test-data-iter"), DBR_SUCCESS); /* only h3 attached: deleted */
  int more = 0;
  while ((it = dbrIterator(h3, it, NULL, NULL, name)) != NULL) more++;
  CHECK(more < 100);
  CHECK_EQ(dbrDetach(h3), DBR_SUCCESS);
}

static void test_stat_query(void)
{
  dbrx_stat_t st;
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.names, 0);
  CHECK_EQ(st.values, 0);
  CHECK_EQ(st.bytes, 0);
  CHECK_EQ(st.refcnt, 1);
  CHECK_EQ(put_s(h, "s1", "abc"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "s1", "de"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "s2", "f"), DBR_SUCCESS);
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.names, 2);
  CHECK_EQ(st.values, 3);
  CHECK_EQ(st.bytes, 6);
  CHECK_EQ(st.flags, 0);
  DBR_Handle_t h2 = dbrAttach("test-data");
  CHECK(h2 != NULL);
  DBR_State_t state = 0;
  CHECK_EQ(dbrQuery(h, &state, DBR_STATE_MASK_ALL), DBR_SUCCESS);
  CHECK_EQ(state, 2);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(dbrQuery(h, &state, DBR_STATE_MASK_ALL), DBR_SUCCESS);
  CHECK_EQ(state, 1);
  char nm[DBR_MAX_KEY_LEN + 1];
  CHECK_EQ(dbrxNamespaceName(h, nm, sizeof nm), DBR_SUCCESS);
  CHECK_STR(nm, "test-data");
  CHECK_EQ(dbrxNamespaceName(h, nm, 4), DBR_ERR_UBUFFER);
  CHECK_EQ(dbrRemove(h, NULL, NULL, "s?"), DBR_SUCCESS);
  CHECK_EQ(dbrxStat(h, &st), DBR_SUCCESS);
  CHECK_EQ(st.values, 0);
  CHECK_EQ(st.names, 0);
}

static size_t pack(unsigned char *p, const char *name, const void *val, uint64_t vlen)
{
  uint32_t nl = (uint32_t)strlen(name);
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(nl >> (8 * i));
  for (int i = 0; i < 8; i++) p[4 + i] = (unsigned char)(vlen >> (8 * i));
  memcpy(p + 12, name, nl);
  memcpy(p + 12 + nl, val, vlen);
  return 12 + nl + vlen;
}

static void test_put_many(void)
{
  unsigned char buf[1024];
  size_t n = 0;
  n += pack(buf + n, "pm:a", "1", 1);
  n += pack(buf + n, "pm:b", "22", 2);
  n += pack(buf + n, "pm:a", "333", 3);
  n += pack(buf + n, "pm:e", "", 0);
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_SUCCESS);
  char out[256];
  CHECK_EQ(get_s(h, "pm:a", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "1");
  CHECK_EQ(get_s(h, "pm:a", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "333");
  CHECK_EQ(get_s(h, "pm:b", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "22");
  CHECK_EQ(get_s(h, "pm:e", NULL, DBR_FLAGS_NOWAIT, out, 1), DBR_SUCCESS);
  CHECK_STR(out, "");
  CHECK_EQ(dbrxPutMany(h, NULL, 0), DBR_SUCCESS);
  CHECK_EQ(dbrxPutMany(h, buf, 0), DBR_SUCCESS);
  /* malformed batches are rejected whole: nothing stored */
  n = pack(buf, "pm:ok", "v", 1);
  size_t good = n;
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n - 1), DBR_ERR_INVALID); /* truncated value */
  n += pack(buf + n, "pm:bad", "v", 1);
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)good + 5), DBR_ERR_INVALID); /* truncated header */
  buf[good + 12] = '\n';
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_ERR_INVALID); /* newline in a name */
  buf[good + 12] = '\0';
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_ERR_INVALID); /* NUL in a name */
  n = good;
  n += pack(buf + n, "x", "v", 1);
  buf[good] = 0; /* name length 0 */
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_ERR_INVALID);
  n = good;
  n += pack(buf + n, "x", "v", 1);
  buf[good + 11] = 0x80; /* value length 2^63 + 1 */
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_ERR_INVALID);
  n = good;
  n += pack(buf + n, "x", "v", 1);
  buf[good + 1] = 0x10; /* name length 4097 */
  CHECK_EQ(dbrxPutMany(h, buf, (int64_t)n), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutMany(h, buf, -1), DBR_ERR_INVALID);
  CHECK_EQ(dbrxPutMany(h, NULL, 5), DBR_ERR_INVALID);
  CHECK_EQ(dbrTestKey(h, "pm:ok"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrTestKey(h, "x"), DBR_ERR_UNAVAIL);
}

static void test_move_value(void)
{
  DBR_Handle_t h2 = dbrCreate("test-data-mv", 0, NULL);
  CHECK(h2 != NULL);
  char out[16];
  int64_t size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, DBR_FLAGS_NONE, 0), DBR_ERR_UNAVAIL);
  CHECK_EQ(put_s(h, "todo", "job1"), DBR_SUCCESS);
  CHECK_EQ(put_s(h, "todo", "job2"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, DBR_FLAGS_NONE, DBRX_TIMEOUT_DEFAULT), DBR_SUCCESS);
  CHECK_EQ(size, 4);
  CHECK_MEM(out, "job1", 4);
  int64_t n = 0;
  CHECK_EQ(dbrxCount(h, "todo", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  CHECK_EQ(dbrxCount(h2, "doing", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  /* too small: nothing moves */
  size = 2;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, DBR_FLAGS_NONE, 0), DBR_ERR_UBUFFER);
  CHECK_EQ(size, 4);
  CHECK_EQ(dbrxCount(h, "todo", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  /* same namespace, other name; and no result buffer at all */
  CHECK_EQ(dbrxMoveValue(h, "todo", h, "todo2", NULL, NULL, DBR_FLAGS_NONE, 0), DBR_SUCCESS);
  CHECK_EQ(dbrxCount(h, "todo2", &n), DBR_SUCCESS);
  CHECK_EQ(n, 1);
  /* same name: rotates */
  CHECK_EQ(put_s(h, "todo2", "job3"), DBR_SUCCESS);
  size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo2", h, "todo2", out, &size, 0, 0), DBR_SUCCESS);
  CHECK_MEM(out, "job2", 4);
  size = sizeof out;
  CHECK_EQ(dbrxGet(h, out, &size, "todo2", NULL, 0, 0), DBR_SUCCESS);
  CHECK_MEM(out, "job3", 4);
  size = sizeof out;
  CHECK_EQ(dbrxGet(h, out, &size, "todo2", NULL, 0, 0), DBR_SUCCESS);
  CHECK_MEM(out, "job2", 4);
  /* a read index is not allowed; names are required */
  size = sizeof out;
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "doing", out, &size, 1 << DBR_FLAGS_INDEX_SHIFT, 0), DBR_ERR_INVALID);
  CHECK_EQ(dbrxMoveValue(h, "", h2, "doing", out, &size, 0, 0), DBR_ERR_INVALID);
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, NULL, out, &size, 0, 0), DBR_ERR_INVALID);
  CHECK_EQ(dbrxMoveValue(h, "todo", NULL, "x", out, &size, 0, 0), DBR_ERR_HANDLE);
  CHECK_EQ(dbrxMoveValue(h, "todo", h2, "x", NULL, &size, 0, 0), DBR_ERR_INVALID);
  CHECK_EQ(dbrRemove(h2, NULL, "doing", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(h2), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-data-mv"), DBR_SUCCESS);
}

int main(void)
{
  unsetenv("DBR_SERVER");
  CHECK_STR(dbrxBackend(), "mem");
  CHECK_EQ(dbrxAbiVersion(), DBRX_ABI_VERSION);
  h = dbrCreate("test-data", DBR_PERST_VOLATILE_SIMPLE, DBR_GROUP_LIST_EMPTY);
  CHECK(h != NULL);
  if (h == NULL) return CHECK_DONE();
  test_fifo_read_get();
  test_buffers();
  test_templates();
  test_move_remove();
  test_directory();
  test_iterator();
  test_stat_query();
  test_put_many();
  test_move_value();
  CHECK_EQ(dbrDetach(h), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("test-data"), DBR_SUCCESS);
  return CHECK_DONE();
}
