/*
 * libdbr: the Data Broker C API, v0.7 ABI.
 *
 * Written for tsdbr from the documented interface of the Data Broker: the same exported symbols, argument
 * order, types, enum values and error codes, so a program written against the Data Broker builds and runs
 * against libdbr unchanged. tsdbr's own additions live in libdbr_ext.h.
 */
#ifndef INCLUDE_LIBDATABROKER_H_
#define INCLUDE_LIBDATABROKER_H_

#ifndef DBR_INTTAG
#define DBR_INTTAG
#endif

#include <inttypes.h>
#include <stddef.h>
#include "errorcodes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DBR_TIMEOUT_ENV "DBR_TIMEOUT"
/** Default timeout of blocking calls, in seconds; DBR_TIMEOUT overrides it. */
#define DBR_TIMEOUT_DEFAULT (5)

#define DBR_MAJOR_VERSION (0)
#define DBR_MINOR_VERSION (7)
#define DBR_PATCH_VERSION (0)

/** Persistence levels: accepted and ignored by every libdbr backend. */
typedef enum {
  DBR_PERST_VOLATILE_SIMPLE,
  DBR_PERST_VOLATILE_FT,
  DBR_PERST_TEMPORARY_SIMPLE,
  DBR_PERST_TEMPORARY_FT,
  DBR_PERST_PERMANENT_SIMPLE,
  DBR_PERST_PERMANENT_FT,
  DBR_PERST_MAX
} DBR_Tuple_persist_level_t;

/**
 * Flags of read/get. NOWAIT returns DBR_ERR_UNAVAIL at once when no value exists. PARTIAL lets a too-small
 * buffer receive the first bytes of the value (the call still returns DBR_ERR_UBUFFER and the full size).
 * A read index (the n-th value under the name, 0 = oldest) may be passed in flags >> DBR_FLAGS_INDEX_SHIFT.
 */
typedef enum {
  DBR_FLAGS_NONE = 0,
  DBR_FLAGS_NOWAIT = 1,
  DBR_FLAGS_PARTIAL = 2,
  DBR_FLAGS_MAX
} DBR_Request_flags_t;

#define DBR_FLAGS_INDEX_SHIFT (4)

typedef void *DBR_Handle_t;
typedef uint32_t DBR_State_t;
typedef uint64_t DBR_State_mask_t;
#ifdef DBR_INTTAG
typedef int64_t DBR_Tag_t;
#else
typedef void *DBR_Tag_t;
#endif
typedef char *DBR_Name_t;
typedef char *DBR_Group_t;
typedef DBR_Group_t *DBR_GroupList_t;
typedef char *DBR_Unit_t;
typedef DBR_Unit_t *DBR_UnitList_t;
typedef char *DBR_Tuple_name_t;
typedef char *DBR_Tuple_template_t;
typedef void *DBR_Iterator_t;
typedef DBR_Errorcode_t (*FunctPtr_t)(void *);

#ifdef DBR_INTTAG
#define DB_TAG_ERROR (-1)
#else
#define DB_TAG_ERROR NULL
#endif

/** Largest length of a tuple or namespace name, in bytes, without the terminating NUL. */
#define DBR_MAX_KEY_LEN (1023)
#define DBR_GROUP_EMPTY (NULL)
#define DBR_GROUP_LIST_EMPTY (NULL)
#define DBR_UNIT_LIST_EMPTY (NULL)
#define DBR_STATE_MASK_ALL (0xFFFFFFFFFFFFFFFFull)
#define DBR_ITERATOR_NEW ((DBR_Iterator_t)NULL)
#define DBR_ITERATOR_DONE ((DBR_Iterator_t)NULL)

/* ---- management ---- */

/** Creates a namespace and attaches to it. NULL if it exists or on error. */
DBR_Handle_t dbrCreate(DBR_Name_t db_name, DBR_Tuple_persist_level_t level, DBR_GroupList_t groups);
/** Deletes a namespace. DBR_ERR_NSBUSY while other handles are attached (the delete is then pending). */
DBR_Errorcode_t dbrDelete(DBR_Name_t db_name);
/** Attaches to an existing namespace. NULL if it does not exist. */
DBR_Handle_t dbrAttach(DBR_Name_t db_name);
/** Detaches; the handle is invalid afterwards. */
DBR_Errorcode_t dbrDetach(DBR_Handle_t dbr_handle);
/** Reports a namespace's state: libdbr stores the number of attached clients in *dbr_state. */
DBR_Errorcode_t dbrQuery(DBR_Handle_t dbr_handle, DBR_State_t *dbr_state, DBR_State_mask_t dbr_state_mask);
/** Not supported: DBR_ERR_NOTIMPL. */
DBR_Errorcode_t dbrAddUnits(DBR_Handle_t dbr_handle, DBR_UnitList_t dbr_units);
/** Not supported: DBR_ERR_NOTIMPL. */
DBR_Errorcode_t dbrRemoveUnits(DBR_Handle_t dbr_handle, DBR_UnitList_t dbr_units);

/* ---- data access ---- */

DBR_Errorcode_t dbrPut(DBR_Handle_t dbr_handle, void *va_ptr, int64_t size, DBR_Tuple_name_t tuple_name,
                       DBR_Group_t group);
/** Asynchronous put. The buffer must stay valid until dbrTest() reports completion. */
DBR_Tag_t dbrPutA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t size, DBR_Tuple_name_t tuple_name,
                  DBR_Group_t group);
/**
 * Pops the oldest value under tuple_name (or under the first name matching match_template when tuple_name is
 * NULL or empty). *size is the buffer's capacity on entry and the value's size on return. A value that does
 * not fit stays in the namespace: the call returns DBR_ERR_UBUFFER with the needed size.
 */
DBR_Errorcode_t dbrGet(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                       DBR_Tuple_template_t match_template, DBR_Group_t group, int flags);
/** Asynchronous get. The buffer and *size must stay valid until dbrTest() reports completion. */
DBR_Tag_t dbrGetA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                  DBR_Tuple_template_t match_template, DBR_Group_t group);
/** Copies the oldest value (or the n-th, see DBR_FLAGS_INDEX_SHIFT) without consuming it. */
DBR_Errorcode_t dbrRead(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                        DBR_Tuple_template_t match_template, DBR_Group_t group, int flags);
DBR_Tag_t dbrReadA(DBR_Handle_t dbr_handle, void *va_ptr, int64_t *size, DBR_Tuple_name_t tuple_name,
                   DBR_Tuple_template_t match_template, DBR_Group_t group);
/** DBR_SUCCESS if at least one value exists under tuple_name, DBR_ERR_UNAVAIL if none. */
DBR_Errorcode_t dbrTestKey(DBR_Handle_t dbr_handle, DBR_Tuple_name_t tuple_name);
/**
 * Lists tuple names matching a glob, separated by '\n'. count 0 means no limit. A result that does not fit
 * in the buffer is truncated at a name boundary and reported as DBR_ERR_UBUFFER. *ret_size is the number of
 * bytes written, including the terminating NUL.
 */
DBR_Errorcode_t dbrDirectory(DBR_Handle_t dbr_handle, DBR_Tuple_template_t match_template, DBR_Group_t group,
                             const unsigned count, char *result_buffer, const size_t size, int64_t *ret_size);
/** Moves all values under a name (or under every name matching the template) to another namespace. */
DBR_Errorcode_t dbrMove(DBR_Handle_t src_dbr_handle, DBR_Group_t src_group, DBR_Tuple_name_t tuple_name,
                        DBR_Tuple_template_t match_template, DBR_Handle_t dest_dbr_handle,
                        DBR_Group_t dest_group);
/** Removes all values under a name (or under every name matching the template). */
DBR_Errorcode_t dbrRemove(DBR_Handle_t dbr_handle, DBR_Group_t group, DBR_Tuple_name_t tuple_name,
                          DBR_Tuple_template_t match_template);

/* ---- requests ---- */

/** DBR_SUCCESS once complete (the tag is then released), DBR_ERR_INPROGRESS while pending, or the error. */
DBR_Errorcode_t dbrTest(DBR_Tag_t req_tag);
/**
 * Cancels a pending request and releases its tag. DBR_ERR_INVALIDOP if it already completed, or if its
 * completion is under way (on Redis: a get's pop is on the wire); the tag then completes as usual, with the
 * value if the pop got one (so no value ever goes missing), else with DBR_ERR_CANCELLED.
 */
DBR_Errorcode_t dbrCancel(DBR_Tag_t req_tag);

/**
 * Walks the tuple names matching match_template, one per call. Start with DBR_ITERATOR_NEW; each call
 * writes a name into tuple_name (at least DBR_MAX_KEY_LEN + 1 bytes) and returns the iterator to pass next.
 * DBR_ITERATOR_DONE (NULL) means the walk is over; tuple_name is then {EOF, '\0'}.
 */
DBR_Iterator_t dbrIterator(DBR_Handle_t dbr_handle, DBR_Iterator_t iterator, DBR_Group_t group,
                           DBR_Tuple_template_t match_template, char *tuple_name);

/** Not supported: returns DB_TAG_ERROR. */
DBR_Tag_t dbrEval(DBR_Handle_t dbr_handle, void *va_ptr, int size, DBR_Tuple_name_t tuple_name,
                  DBR_Group_t group, FunctPtr_t fn_ptr);

#ifdef __cplusplus
}
#endif
#endif /* INCLUDE_LIBDATABROKER_H_ */
