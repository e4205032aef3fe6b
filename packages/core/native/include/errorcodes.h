/*
 * libdbr: error codes of the Data Broker C API (v0.7 numbering).
 * Written for tsdbr from the documented ABI; values must never change.
 */
#ifndef LIBDBR_ERRORCODES_H_
#define LIBDBR_ERRORCODES_H_

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  DBR_SUCCESS = 0,     /**< operation successful */
  DBR_ERR_GENERIC,     /**< a general or unknown error */
  DBR_ERR_INVALID,     /**< an invalid argument */
  DBR_ERR_HANDLE,      /**< an invalid handle */
  DBR_ERR_INPROGRESS,  /**< request still in progress */
  DBR_ERR_TIMEOUT,     /**< timed out */
  DBR_ERR_UBUFFER,     /**< user buffer too small or missing; *size holds the needed size */
  DBR_ERR_UNAVAIL,     /**< tuple or namespace not available */
  DBR_ERR_EXISTS,      /**< entry already exists */
  DBR_ERR_NSBUSY,      /**< namespace still attached by others */
  DBR_ERR_NSINVAL,     /**< invalid namespace */
  DBR_ERR_NOMEMORY,    /**< out of memory or storage */
  DBR_ERR_TAGERROR,    /**< invalid tag */
  DBR_ERR_NOFILE,      /**< file not found */
  DBR_ERR_NOAUTH,      /**< authorization required or failed */
  DBR_ERR_NOCONNECT,   /**< connection to the backend failed */
  DBR_ERR_CANCELLED,   /**< operation cancelled */
  DBR_ERR_NOTIMPL,     /**< not implemented */
  DBR_ERR_INVALIDOP,   /**< invalid operation */
  DBR_ERR_BE_POST,     /**< posting the request to the backend failed */
  DBR_ERR_BE_GENERAL,  /**< unspecified backend error */
  DBR_ERR_ITERATOR,    /**< invalid iterator */
  DBR_ERR_PLUGIN,      /**< plugin error */
  DBR_ERR_MAXERROR
} DBR_Errorcode_t;

static const char *const dbrError_table[DBR_ERR_MAXERROR] = {
  [DBR_SUCCESS] = "Operation successful",
  [DBR_ERR_GENERIC] = "A general or unknown error has occurred",
  [DBR_ERR_INVALID] = "Invalid argument",
  [DBR_ERR_HANDLE] = "An invalid handle was encountered",
  [DBR_ERR_INPROGRESS] = "Operation in progress",
  [DBR_ERR_TIMEOUT] = "Operation timed out",
  [DBR_ERR_UBUFFER] = "Provided user buffer problem (too small, not available)",
  [DBR_ERR_UNAVAIL] = "Entry not available",
  [DBR_ERR_EXISTS] = "Entry already exists",
  [DBR_ERR_NSBUSY] = "Namespace still referenced by a client",
  [DBR_ERR_NSINVAL] = "Namespace is invalid",
  [DBR_ERR_NOMEMORY] = "Insufficient memory or storage",
  [DBR_ERR_TAGERROR] = "Invalid tag",
  [DBR_ERR_NOFILE] = "File not found",
  [DBR_ERR_NOAUTH] = "Access authorization required or failed",
  [DBR_ERR_NOCONNECT] = "Connection to a storage backend failed",
  [DBR_ERR_CANCELLED] = "Operation was cancelled",
  [DBR_ERR_NOTIMPL] = "Operation not implemented",
  [DBR_ERR_INVALIDOP] = "Invalid operation",
  [DBR_ERR_BE_POST] = "Failed to post request to back-end",
  [DBR_ERR_BE_GENERAL] = "Unspecified back-end error",
  [DBR_ERR_ITERATOR] = "Invalid iterator",
  [DBR_ERR_PLUGIN] = "Plugin error",
};

/** A short description of an error code; "Unknown Error" for values outside the table. */
static inline const char *dbrGet_error(const DBR_Errorcode_t err)
{
  if ((unsigned)err < (unsigned)DBR_ERR_MAXERROR) return dbrError_table[err];
  return "Unknown Error";
}

#ifdef __cplusplus
}
#endif
#endif /* LIBDBR_ERRORCODES_H_ */
