/**
 * The Data Broker's constants, with PyDBR's names and values.
 * @module
 */

/** Error codes of the Data Broker C API (v0.7). */
export const ErrorCode = {
  DBR_SUCCESS: 0,
  DBR_ERR_GENERIC: 1,
  DBR_ERR_INVALID: 2,
  DBR_ERR_HANDLE: 3,
  DBR_ERR_INPROGRESS: 4,
  DBR_ERR_TIMEOUT: 5,
  DBR_ERR_UBUFFER: 6,
  DBR_ERR_UNAVAIL: 7,
  DBR_ERR_EXISTS: 8,
  DBR_ERR_NSBUSY: 9,
  DBR_ERR_NSINVAL: 10,
  DBR_ERR_NOMEMORY: 11,
  DBR_ERR_TAGERROR: 12,
  DBR_ERR_NOFILE: 13,
  DBR_ERR_NOAUTH: 14,
  DBR_ERR_NOCONNECT: 15,
  DBR_ERR_CANCELLED: 16,
  DBR_ERR_NOTIMPL: 17,
  DBR_ERR_INVALIDOP: 18,
  DBR_ERR_BE_POST: 19,
  DBR_ERR_BE_GENERAL: 20,
  DBR_ERR_ITERATOR: 21,
  DBR_ERR_PLUGIN: 22,
  DBR_ERR_MAXERROR: 23,
} as const;

/** The name of an error code, such as `'DBR_ERR_TIMEOUT'`. */
export type ErrorCodeName = Exclude<keyof typeof ErrorCode, 'DBR_ERR_MAXERROR'>;

const NAMES = Object.keys(ErrorCode) as (keyof typeof ErrorCode)[];

/** The name of a numeric error code (`'DBR_ERR_UNKNOWN'` outside the table). */
export function errorCodeName(code: number): ErrorCodeName | 'DBR_ERR_UNKNOWN' {
  const name = NAMES[code];
  return name === undefined || name === 'DBR_ERR_MAXERROR' ? 'DBR_ERR_UNKNOWN' : name;
}

/** The Data Broker's description of each error code, as in its errorcodes.h. */
export const ERROR_MESSAGES: readonly string[] = [
  'Operation successful',
  'A general or unknown error has occurred',
  'Invalid argument',
  'An invalid handle was encountered',
  'Operation in progress',
  'Operation timed out',
  'Provided user buffer problem (too small, not available)',
  'Entry not available',
  'Entry already exists',
  'Namespace still referenced by a client',
  'Namespace is invalid',
  'Insufficient memory or storage',
  'Invalid tag',
  'File not found',
  'Access authorization required or failed',
  'Connection to a storage backend failed',
  'Operation was cancelled',
  'Operation not implemented',
  'Invalid operation',
  'Failed to post request to back-end',
  'Unspecified back-end error',
  'Invalid iterator',
  'Plugin error',
];

/** Read/get flags. */
export const Flags = {
  DBR_FLAGS_NONE: 0,
  DBR_FLAGS_NOWAIT: 1,
  DBR_FLAGS_PARTIAL: 2,
  DBR_FLAGS_MAX: 3,
} as const;

/** The read index (n-th value under a name) travels in flags >> 4. */
export const FLAGS_INDEX_SHIFT = 4;
/** Largest read index: flags is a C int that must stay non-negative, leaving 27 bits above the flag bits. */
export const DBR_MAX_READ_INDEX = 2 ** (31 - FLAGS_INDEX_SHIFT) - 1;

/** Persistence levels: accepted and ignored by libdbr. */
export const PersistLevel = {
  DBR_PERST_VOLATILE_SIMPLE: 0,
  DBR_PERST_VOLATILE_FT: 1,
  DBR_PERST_TEMPORARY_SIMPLE: 2,
  DBR_PERST_TEMPORARY_FT: 3,
  DBR_PERST_PERMANENT_SIMPLE: 4,
  DBR_PERST_PERMANENT_FT: 5,
  DBR_PERST_MAX: 6,
} as const;

/** Largest tuple or namespace name, in UTF-8 bytes. */
export const DBR_MAX_KEY_LEN = 1023;
/** Every query mask bit. */
export const DBR_STATE_MASK_ALL = 0xffffffffffffffffn;
/** Tag value of a failed asynchronous call. */
export const DB_TAG_ERROR = -1;
/** Timeout (ms) meaning: use DBR_TIMEOUT. */
export const DBRX_TIMEOUT_DEFAULT = -1;
/** Timeout (ms) meaning: wait until a value comes or the call is cancelled. */
export const DBRX_TIMEOUT_INFINITE = -2;
