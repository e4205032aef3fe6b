/*
 * The batches of dbrxMoveManyAsync and dbrxPopPutManyAsync, parsed the same way by the API (validation) and
 * by each backend (execution).
 */
#ifndef LIBDBR_BATCH_H_
#define LIBDBR_BATCH_H_

#include <stddef.h>
#include <stdint.h>
#include "libdatabroker.h"

/** One name of a '\n'-separated list (not NUL-terminated). */
typedef struct {
  const char *name;
  size_t len;
} dbr_name_ref_t;

/**
 * Splits a '\n'-separated list into at most max names. Returns how many, or -1 with dbrxLastError set when
 * the list is NULL, has an empty or too long name, or more than max names. `what` names the list in errors.
 */
int dbr_name_list(const char *what, const char *list, dbr_name_ref_t *out, int max);

/** One step of a pop-put batch: names are not NUL-terminated; a length of 0 means "none". */
typedef struct {
  const char *pop, *put, *unless;
  size_t pop_len, put_len, unless_len;
  unsigned flags; /* DBRX_STEP_PEEK_UNLESS */
  const void *value;
  int64_t value_len;
} dbr_step_t;

#define DBR_STEP_HEADER 24

/**
 * Reads the step at *off and advances *off past it. The batch must have passed dbr_steps_check().
 */
void dbr_step_next(const void *packed, int64_t *off, dbr_step_t *step);

/** Validates a whole batch; *count gets its number of steps. DBR_SUCCESS or DBR_ERR_INVALID (explained). */
DBR_Errorcode_t dbr_steps_check(const void *packed, int64_t len, int64_t *count);

/** Copies a name of a step into buf (DBR_MAX_KEY_LEN + 1 bytes), NUL-terminated. */
void dbr_name_copy(char *buf, const char *name, size_t len);

#endif /* LIBDBR_BATCH_H_ */
