/**
 * Typed errors of @tsdbr/core. `instanceof` works across duplicated module copies and worker_threads
 * realms: each class recognises instances by a registered symbol, not by prototype identity.
 * @module
 */
import { ERROR_MESSAGES, type ErrorCodeName, errorCodeName } from './constants.js';

const brands = new Map<string, symbol>();

/** The registered symbol that marks instances of the class `name` (cached: `instanceof` is on hot paths). */
function brandOf(name: string): symbol {
  let brand = brands.get(name);
  if (brand === undefined) {
    brand = Symbol.for(`tsdbr.${name}`);
    brands.set(name, brand);
  }
  return brand;
}

/**
 * Base of tsdbr's error classes. `instanceof` recognises instances by registered symbols, not prototype
 * identity, so it works across duplicated module copies and worker_threads realms. Subclasses need nothing
 * but `extends TsdbrError`.
 */
export class TsdbrError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      Object.defineProperty(this, brandOf((c as { name: string }).name), { value: true });
    }
  }

  /** Recognises instances from any copy of the module that defines the class. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brandOf(this.name)] === true;
  }
}

/** What to do about each error, appended to the generic descriptions (libdbr's own messages say it themselves). */
const HINTS: Partial<Record<ErrorCodeName, string>> = {
  DBR_ERR_TIMEOUT: 'No value arrived in time: raise the timeout (option `timeout`, or DBR_TIMEOUT in seconds) or check that a producer puts under this name.',
  DBR_ERR_UNAVAIL: 'Nothing is stored under that name (or the namespace does not exist).',
  DBR_ERR_UBUFFER: 'The value is larger than the buffer; it was left in place. Retry with a buffer of the reported size.',
  DBR_ERR_HANDLE: 'The namespace handle is closed or invalid: attach again.',
  DBR_ERR_EXISTS: 'A namespace with that name exists already: attach to it instead, or delete it first.',
  DBR_ERR_NSBUSY: 'Other clients are still attached; the namespace will be deleted when the last one detaches.',
  DBR_ERR_NSINVAL: 'The namespace was deleted or is invalid.',
  DBR_ERR_NOAUTH: 'Redis refused the password: check the file named by DBR_AUTHFILE.',
  DBR_ERR_NOCONNECT: 'The backend is unreachable: check DBR_SERVER (sock://host:port) and that the server is up; `dbr doctor` checks it.',
  DBR_ERR_NOFILE: 'A file could not be read: check DBR_AUTHFILE.',
  DBR_ERR_CANCELLED: 'The request was cancelled.',
  DBR_ERR_NOTIMPL: 'This backend does not implement the operation.',
  DBR_ERR_TAGERROR: 'The tag is unknown, already collected or cancelled.',
  DBR_ERR_NOMEMORY: 'The backend is out of memory.',
};

/** The pieces of a DbrError built by DbrError.fromCode, for callers (such as the CLI) that reword them. */
export interface DbrErrorParts {
  /** What failed, for example `get "x" from "ns"`. */
  what: string;
  /** The library's explanation, or the code's generic description. */
  description: string;
  /** What to do, when the description does not say it already. */
  hint?: string;
}

/** An error reported by the Data Broker, carrying its code's name and number. */
export class DbrError extends TsdbrError {
  /** The error code's name, for example `'DBR_ERR_TIMEOUT'`. */
  readonly code: ErrorCodeName | 'DBR_ERR_UNKNOWN';
  /** The numeric error code of the C API. */
  readonly errno: number;
  /** The message's pieces, when it was built by fromCode. */
  readonly parts: DbrErrorParts | undefined;

  constructor(errno: number, message: string, parts?: DbrErrorParts) {
    super(message);
    this.errno = errno;
    this.code = errorCodeName(errno);
    this.parts = parts;
  }

  /**
   * Builds an error for a failed call: "<what>: <description> (<CODE>). <hint>". `detail` (from the
   * library) replaces the generic description and hint when given: libdbr's messages name the problem and,
   * after a ';', what to do, so the generic hint would only say it again.
   */
  static fromCode(errno: number, what: string, detail?: string): DbrError {
    const code = errorCodeName(errno);
    const fromLibrary = detail !== undefined && detail.length > 0;
    const description = fromLibrary ? detail : (ERROR_MESSAGES[errno] ?? 'Unknown error');
    const hint = code === 'DBR_ERR_UNKNOWN' || fromLibrary ? undefined : HINTS[code];
    return new DbrError(errno, `${what}: ${description} (${code}).${hint ? ` ${hint}` : ''}`, { what, description, ...(hint ? { hint } : {}) });
  }
}

/** True if `err` is a DbrError with the given code name. */
export function isDbrError(err: unknown, code?: ErrorCodeName): err is DbrError {
  return err instanceof DbrError && (code === undefined || err.code === code);
}

/** The native library could not be found or loaded. */
export class LibraryLoadError extends TsdbrError {}

/** Invalid configuration (options or environment). */
export class ConfigError extends TsdbrError {}

/** One problem found by a schema, with the path to the offending field. */
export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/** A value did not match a channel's schema. */
export class SchemaError extends TsdbrError {
  /** The tuple name involved. */
  readonly tuple: string;
  /** What the schema found wrong. */
  readonly issues: SchemaIssue[];

  constructor(tuple: string, direction: 'put' | 'get' | 'read', issues: SchemaIssue[]) {
    const lines = issues.map((i) => `  - ${i.path.length > 0 ? i.path.join('.') : '(value)'}: ${i.message}`);
    super(`Value ${direction === 'put' ? 'put under' : 'taken from'} "${tuple}" does not match the channel's schema:\n${lines.join('\n')}`);
    this.tuple = tuple;
    this.issues = issues;
  }
}

/** The error an aborted call rejects with: the signal's reason if it is an Error, else an AbortError. */
export function abortReason(signal: AbortSignal, what: string): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const err = new Error(`${what}: aborted`);
  err.name = 'AbortError';
  return err;
}
