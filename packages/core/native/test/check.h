/*
 * A tiny test harness: CHECK* macros count passes and failures, CHECK_DONE() prints "N passed, N failed" and
 * yields the exit status. Define CHECK_LAST_ERROR() before including to print a context string on failure.
 */
#ifndef TEST_CHECK_H_
#define TEST_CHECK_H_

#include <stdio.h>
#include <string.h>

#ifndef CHECK_LAST_ERROR
#define CHECK_LAST_ERROR() ""
#endif

static int check_passed_, check_failed_;

#define CHECK(cond)                                                                                         \
  do {                                                                                                      \
    if (cond) {                                                                                             \
      check_passed_++;                                                                                      \
    } else {                                                                                                \
      check_failed_++;                                                                                      \
      fprintf(stderr, "%s:%d: CHECK(%s) failed [%s]\n", __FILE__, __LINE__, #cond, CHECK_LAST_ERROR());   \
    }                                                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                                      \
  do {                                                                                                      \
    long long a_ = (long long)(a), b_ = (long long)(b);                                                     \
    if (a_ == b_) {                                                                                         \
      check_passed_++;                                                                                      \
    } else {                                                                                                \
      check_failed_++;                                                                                      \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld [%s]\n", __FILE__, __LINE__, #a, #b, a_, b_,    \
              CHECK_LAST_ERROR());                                                                          \
    }                                                                                                       \
  } while (0)

#define CHECK_STR(a, b)                                                                                     \
  do {                                                                                                      \
    const char *a_ = (a), *b_ = (b);                                                                        \
    if (a_ && b_ && strcmp(a_, b_) == 0) {                                                                  \
      check_passed_++;                                                                                      \
    } else {                                                                                                \
      check_failed_++;                                                                                      \
      fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,            \
              a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                                      \
    }                                                                                                       \
  } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define CHECK_DONE()                                                                                        \
  (printf("%d passed, %d failed\n", check_passed_, check_failed_), fflush(stdout), check_failed_ ? 1 : 0)

#endif /* TEST_CHECK_H_ */
