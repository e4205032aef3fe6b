#include "batch.h"
#include <string.h>
#include "libdbr_ext.h"
#include "util.h"

int dbr_name_list(const char *what, const char *list, dbr_name_ref_t *out, int max)
{
  if (list == NULL) return dbr_err(DBR_ERR_INVALID, "the %s list is NULL", what), -1;
  int n = 0;
  for (const char *p = list;;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len == 0)
      return dbr_err(DBR_ERR_INVALID, "%s %d of the list is empty (names are separated by one '\\n')", what, n + 1), -1;
    if (len > DBR_MAX_KEY_LEN)
      return dbr_err(DBR_ERR_INVALID, "%s %d is %zu bytes; the limit is %d (DBR_MAX_KEY_LEN)", what, n + 1, len,
                     DBR_MAX_KEY_LEN), -1;
    if (n == max) return dbr_err(DBR_ERR_INVALID, "the %s list has more than %d names", what, max), -1;
    out[n].name = p;
    out[n].len = len;
    n++;
    if (!nl) return n;
    p = nl + 1;
  }
}

void dbr_step_next(const void *packed, int64_t *off, dbr_step_t *step)
{
  const unsigned char *p = (const unsigned char *)packed + *off;
  step->pop_len = dbr_rd32(p);
  step->put_len = dbr_rd32(p + 4);
  step->unless_len = dbr_rd32(p + 8);
  step->flags = dbr_rd32(p + 12);
  step->value_len = (int64_t)dbr_rd64(p + 16);
  step->pop = (const char *)p + DBR_STEP_HEADER;
  step->put = step->pop + step->pop_len;
  step->unless = step->put + step->put_len;
  step->value = step->unless + step->unless_len;
  *off += DBR_STEP_HEADER + (int64_t)(step->pop_len + step->put_len + step->unless_len) + step->value_len;
}

static int bad_name(const char *name, size_t len)
{
  return len > DBR_MAX_KEY_LEN || memchr(name, '\0', len) != NULL || memchr(name, '\n', len) != NULL;
}

DBR_Errorcode_t dbr_steps_check(const void *packed, int64_t len, int64_t *count)
{
  *count = 0;
  if (len < 0) return dbr_err(DBR_ERR_INVALID, "the batch length is negative (%lld)", (long long)len);
  if (packed == NULL && len > 0) return dbr_err(DBR_ERR_INVALID, "the batch is NULL but its length is %lld", (long long)len);
  const unsigned char *p = packed;
  uint64_t off = 0, total = (uint64_t)len;
  for (uint64_t rec = 0; off < total; rec++) {
    if (total - off < DBR_STEP_HEADER)
      return dbr_err(DBR_ERR_INVALID, "batch step %llu at byte %llu: truncated header (%d bytes needed, %llu left)",
                     (unsigned long long)rec, (unsigned long long)off, DBR_STEP_HEADER,
                     (unsigned long long)(total - off));
    uint64_t pl = dbr_rd32(p + off), ql = dbr_rd32(p + off + 4), ul = dbr_rd32(p + off + 8);
    uint32_t flags = dbr_rd32(p + off + 12);
    uint64_t vl = dbr_rd64(p + off + 16);
    uint64_t left = total - off - DBR_STEP_HEADER;
    if (pl > left || ql > left - pl || ul > left - pl - ql || vl > left - pl - ql - ul)
      return dbr_err(DBR_ERR_INVALID, "batch step %llu at byte %llu: its names and value run past the end of the batch",
                     (unsigned long long)rec, (unsigned long long)off);
    const char *pop = (const char *)p + off + DBR_STEP_HEADER, *put = pop + pl, *unless = put + ql;
    if (pl == 0 && ql == 0 && ul == 0)
      return dbr_err(DBR_ERR_INVALID, "batch step %llu names no tuple (pop, put or unless)", (unsigned long long)rec);
    if (ql == 0 && vl != 0)
      return dbr_err(DBR_ERR_INVALID, "batch step %llu carries a value (%llu bytes) but no name to put it under",
                     (unsigned long long)rec, (unsigned long long)vl);
    if (flags & ~(uint32_t)DBRX_STEP_PEEK_UNLESS)
      return dbr_err(DBR_ERR_INVALID, "batch step %llu has unknown flags 0x%x (only DBRX_STEP_PEEK_UNLESS)",
                     (unsigned long long)rec, flags);
    if (bad_name(pop, pl) || bad_name(put, ql) || bad_name(unless, ul))
      return dbr_err(DBR_ERR_INVALID,
                     "batch step %llu: a name is longer than %d bytes or contains a NUL or newline byte",
                     (unsigned long long)rec, DBR_MAX_KEY_LEN);
    off += DBR_STEP_HEADER + pl + ql + ul + vl;
    (*count)++;
  }
  return DBR_SUCCESS;
}

void dbr_name_copy(char *buf, const char *name, size_t len)
{
  memcpy(buf, name, len);
  buf[len] = '\0';
}
