/*
 * Namespaces: create/attach/detach/delete, NSBUSY and delete-pending, query, handles after delete, listing
 * namespaces, and that namespaces are shared by every thread of the process.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "libdbr_ext.h"
#define CHECK_LAST_ERROR() dbrxLastError()
#include "check.h"

static void test_lifecycle(void)
{
  DBR_Handle_t a = dbrCreate("ns-life", DBR_PERST_PERMANENT_FT, NULL);
  CHECK(a != NULL);
  CHECK(dbrCreate("ns-life", 0, NULL) == NULL); /* exists */
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_EXISTS);
  DBR_Handle_t b = dbrAttach("ns-life");
  DBR_Handle_t c = dbrAttach("ns-life");
  CHECK(b != NULL && c != NULL && b != a && c != b);
  DBR_State_t st = 0;
  CHECK_EQ(dbrQuery(c, &st, DBR_STATE_MASK_ALL), DBR_SUCCESS);
  CHECK_EQ(st, 3);
  CHECK_EQ(dbrPut(a, "v", 1, "k", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrTestKey(b, "k"), DBR_SUCCESS); /* same namespace through every handle */

  /* NSBUSY while others are attached; the delete is then pending */
  CHECK_EQ(dbrDelete("ns-life"), DBR_ERR_NSBUSY);
  dbrx_stat_t s;
  CHECK_EQ(dbrxStat(a, &s), DBR_SUCCESS);
  CHECK_EQ(s.flags, 1);
  CHECK_EQ(s.refcnt, 3);
  CHECK(dbrAttach("ns-life") == NULL); /* no new clients while deletion is pending */
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_NSINVAL);
  CHECK(dbrCreate("ns-life", 0, NULL) == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_EXISTS);
  CHECK_EQ(dbrDetach(b), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(b), DBR_ERR_HANDLE); /* detached handles are invalid */
  CHECK_EQ(dbrPut(b, "v", 1, "k", NULL), DBR_ERR_HANDLE);
  CHECK_EQ(dbrTestKey(a, "k"), DBR_SUCCESS); /* still there */
  CHECK_EQ(dbrDetach(c), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(a), DBR_SUCCESS); /* the last detach deletes it */
  CHECK(dbrAttach("ns-life") == NULL);
  CHECK_EQ(dbrxLastErrorCode(), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrDelete("ns-life"), DBR_ERR_UNAVAIL);

  /* recreate: empty */
  a = dbrCreate("ns-life", 0, NULL);
  CHECK(a != NULL);
  CHECK_EQ(dbrTestKey(a, "k"), DBR_ERR_UNAVAIL);
  /* the Data Broker idiom: delete while attached by the caller only */
  CHECK_EQ(dbrPut(a, "v", 1, "k", NULL), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("ns-life"), DBR_SUCCESS);
  CHECK_EQ(dbrQuery(a, &st, DBR_STATE_MASK_ALL), DBR_ERR_NSINVAL);
  CHECK_EQ(dbrPut(a, "v", 1, "k", NULL), DBR_ERR_NSINVAL);
  char buf[8];
  int64_t size = sizeof buf;
  CHECK_EQ(dbrGet(a, buf, &size, "k", NULL, NULL, 0), DBR_ERR_NSINVAL);
  CHECK(dbrAttach("ns-life") == NULL);
  /* a new namespace of the same name is independent of the stale handle */
  DBR_Handle_t n = dbrCreate("ns-life", 0, NULL);
  CHECK(n != NULL);
  CHECK_EQ(dbrPut(a, "v", 1, "k", NULL), DBR_ERR_NSINVAL);
  CHECK_EQ(dbrTestKey(n, "k"), DBR_ERR_UNAVAIL);
  CHECK_EQ(dbrDetach(a), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(n), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("ns-life"), DBR_SUCCESS);

  /* a pending delete completes with a later dbrDelete once only one client is left */
  a = dbrCreate("ns-life2", 0, NULL);
  b = dbrAttach("ns-life2");
  CHECK_EQ(dbrDelete("ns-life2"), DBR_ERR_NSBUSY);
  CHECK_EQ(dbrDetach(b), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("ns-life2"), DBR_SUCCESS);
  CHECK_EQ(dbrDetach(a), DBR_SUCCESS);

  /* names are arbitrary bytes (but no newline), glob characters included, up to 1023 bytes */
  char longname[DBR_MAX_KEY_LEN + 1];
  memset(longname, 'n', DBR_MAX_KEY_LEN);
  longname[DBR_MAX_KEY_LEN] = '\0';
  longname[0] = (char)0xff;
  DBR_Handle_t l = dbrCreate(longname, 0, NULL);
  CHECK(l != NULL);
  char nm[DBR_MAX_KEY_LEN + 1];
  CHECK_EQ(dbrxNamespaceName(l, nm, sizeof nm), DBR_SUCCESS);
  CHECK_STR(nm, longname);
  CHECK_EQ(dbrDetach(l), DBR_SUCCESS);
  CHECK_EQ(dbrDelete(longname), DBR_SUCCESS);
  DBR_Handle_t g1 = dbrCreate("n*", 0, NULL), g2 = dbrCreate("nx", 0, NULL);
  CHECK(g1 && g2);
  CHECK_EQ(dbrDetach(g1), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("n*"), DBR_SUCCESS); /* a name, not a pattern: nx survives */
  CHECK_EQ(dbrDetach(g2), DBR_SUCCESS);
  CHECK_EQ(dbrDelete("nx"), DBR_SUCCESS);
}

static void test_list(void)
{
  DBR_Handle_t a = dbrCreate("lst-a", 0, NULL), b = dbrCreate("lst-b", 0, NULL), c = dbrCreate("other", 0, NULL);
  char buf[256];
  int64_t ret = 0;
  CHECK_EQ(dbrxNamespaces("lst-*", 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK(strcmp(buf, "lst-a\nlst-b") == 0 || strcmp(buf, "lst-b\nlst-a") == 0);
  CHECK_EQ(ret, 12);
  CHECK_EQ(dbrxNamespaces("lst-*", 1, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 6);
  CHECK_EQ(dbrxNamespaces("lst-*", 0, buf, 8, &ret), DBR_ERR_UBUFFER);
  CHECK_EQ(ret, 6);
  CHECK_EQ(dbrxNamespaces(NULL, 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK(strstr(buf, "other") != NULL);
  CHECK_EQ(dbrxNamespaces("zz*", 0, buf, sizeof buf, &ret), DBR_SUCCESS);
  CHECK_EQ(ret, 0);
  CHECK_EQ(dbrxNamespaces("*", 0, NULL, 5, &ret), DBR_ERR_INVALID);
  dbrDetach(a);
  dbrDetach(b);
  dbrDetach(c);
  dbrDelete("lst-a");
  dbrDelete("lst-b");
  dbrDelete("other");
}

/* Many threads attach/detach/create/delete the same names at once: no crash, consistent outcomes. */
static void *churn(void *arg)
{
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < 500; i++) {
    char name[32];
    snprintf(name, sizeof name, "churn-%d", i % 4);
    DBR_Handle_t x = dbrCreate(name, 0, NULL);
    if (x == NULL) x = dbrAttach(name);
    if (x != NULL) {
      dbrPut(x, "v", 1, "k", NULL);
      DBR_State_t st;
      dbrQuery(x, &st, DBR_STATE_MASK_ALL);
      if ((i + id) % 3 == 0) dbrDelete(name);
      dbrDetach(x);
    }
  }
  return NULL;
}

static void test_churn(void)
{
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  /* whatever is left can be cleaned up */
  for (int i = 0; i < 4; i++) {
    char name[32];
    snprintf(name, sizeof name, "churn-%d", i);
    DBR_Handle_t x = dbrAttach(name);
    if (x) {
      CHECK_EQ(dbrDelete(name), DBR_SUCCESS);
      CHECK_EQ(dbrDetach(x), DBR_SUCCESS);
    }
    CHECK(dbrAttach(name) == NULL);
  }
}

/* Handle ids are never reused, even when their slots are. */
static void test_handle_ids(void)
{
  enum { ROUNDS = 40 };
  DBR_Handle_t seen[ROUNDS * 2];
  int n = 0, dup = 0;
  for (int i = 0; i < ROUNDS; i++) {
    DBR_Handle_t a = dbrCreate("ids", 0, NULL), b = dbrAttach("ids");
    CHECK(a != NULL && b != NULL);
    for (int j = 0; j < n; j++) dup += seen[j] == a || seen[j] == b;
    seen[n++] = a;
    seen[n++] = b;
    CHECK_EQ(dbrDetach(b), DBR_SUCCESS);
    CHECK_EQ(dbrDetach(a), DBR_SUCCESS);
    CHECK_EQ(dbrDelete("ids"), DBR_SUCCESS);
  }
  CHECK_EQ(dup, 0);
  for (int i = 0; i < n; i++) CHECK_EQ(dbrPut(seen[i], "v", 1, "k", NULL), DBR_ERR_HANDLE);
}

int main(void)
{
  unsetenv("DBR_SERVER");
  test_lifecycle();
  test_list();
  test_churn();
  test_handle_ids();
  return CHECK_DONE();
}
