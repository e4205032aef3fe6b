/**
 * PyDBR's function table, one to one: the same names, argument order and return shapes, so a PyDBR program
 * ports line by line. The one difference: `read` and `get` may wait, so they return promises (`await` them)
 * instead of blocking the thread.
 *
 * ```ts
 * import { dbr } from '@tsdbr/core';
 * const h = dbr.create('DBRtestname', dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
 * dbr.put(h, 'Hello World!', 'HelloTuple', dbr.DBR_GROUP_EMPTY);
 * const [value, status] = await dbr.get(h, 'HelloTuple', '', dbr.DBR_GROUP_EMPTY, dbr.DBR_FLAGS_NONE);
 * ```
 * @module
 */
import { toBytes, type ValueLike } from './codecs.js';
import {
  DB_TAG_ERROR,
  DBR_MAX_KEY_LEN,
  DBR_STATE_MASK_ALL,
  ERROR_MESSAGES,
  ErrorCode,
  errorCodeName,
  Flags,
  PersistLevel,
} from './constants.js';
import { ChurnMap } from './churn-map.js';
import { DbrError } from './errors.js';
import type { NativePointer } from './ffi.js';
import { splitNames } from './namespace.js';
import { blockingTake, runtime } from './runtime.js';
import { pointer, size, stateArray, tagOf, text, textOrNull } from './dbr-args.js';

/** Status 0: Operation successful. */
export const DBR_SUCCESS = ErrorCode.DBR_SUCCESS;
/** Status 1: A general or unknown error has occurred. */
export const DBR_ERR_GENERIC = ErrorCode.DBR_ERR_GENERIC;
/** Status 2: Invalid argument. */
export const DBR_ERR_INVALID = ErrorCode.DBR_ERR_INVALID;
/** Status 3: An invalid handle was encountered. */
export const DBR_ERR_HANDLE = ErrorCode.DBR_ERR_HANDLE;
/** Status 4: Operation in progress. */
export const DBR_ERR_INPROGRESS = ErrorCode.DBR_ERR_INPROGRESS;
/** Status 5: Operation timed out. */
export const DBR_ERR_TIMEOUT = ErrorCode.DBR_ERR_TIMEOUT;
/** Status 6: Provided user buffer problem (too small, not available). */
export const DBR_ERR_UBUFFER = ErrorCode.DBR_ERR_UBUFFER;
/** Status 7: Entry not available. */
export const DBR_ERR_UNAVAIL = ErrorCode.DBR_ERR_UNAVAIL;
/** Status 8: Entry already exists. */
export const DBR_ERR_EXISTS = ErrorCode.DBR_ERR_EXISTS;
/** Status 9: Namespace still referenced by a client. */
export const DBR_ERR_NSBUSY = ErrorCode.DBR_ERR_NSBUSY;
/** Status 10: Namespace is invalid. */
export const DBR_ERR_NSINVAL = ErrorCode.DBR_ERR_NSINVAL;
/** Status 11: Insufficient memory or storage. */
export const DBR_ERR_NOMEMORY = ErrorCode.DBR_ERR_NOMEMORY;
/** Status 12: Invalid tag. */
export const DBR_ERR_TAGERROR = ErrorCode.DBR_ERR_TAGERROR;
/** Status 13: File not found. */
export const DBR_ERR_NOFILE = ErrorCode.DBR_ERR_NOFILE;
/** Status 14: Access authorization required or failed. */
export const DBR_ERR_NOAUTH = ErrorCode.DBR_ERR_NOAUTH;
/** Status 15: Connection to a storage backend failed. */
export const DBR_ERR_NOCONNECT = ErrorCode.DBR_ERR_NOCONNECT;
/** Status 16: Operation was cancelled. */
export const DBR_ERR_CANCELLED = ErrorCode.DBR_ERR_CANCELLED;
/** Status 17: Operation not implemented. */
export const DBR_ERR_NOTIMPL = ErrorCode.DBR_ERR_NOTIMPL;
/** Status 18: Invalid operation. */
export const DBR_ERR_INVALIDOP = ErrorCode.DBR_ERR_INVALIDOP;
/** Status 19: Failed to post request to back-end. */
export const DBR_ERR_BE_POST = ErrorCode.DBR_ERR_BE_POST;
/** Status 20: Unspecified back-end error. */
export const DBR_ERR_BE_GENERAL = ErrorCode.DBR_ERR_BE_GENERAL;
/** Status 21: Invalid iterator. */
export const DBR_ERR_ITERATOR = ErrorCode.DBR_ERR_ITERATOR;
/** Status 22: Plugin error. */
export const DBR_ERR_PLUGIN = ErrorCode.DBR_ERR_PLUGIN;
/** One past the largest status code. */
export const DBR_ERR_MAXERROR = ErrorCode.DBR_ERR_MAXERROR;
/** Read/get wait for a value until the timeout. */
export const DBR_FLAGS_NONE = Flags.DBR_FLAGS_NONE;
/** Read/get return DBR_ERR_UNAVAIL at once when no value exists. */
export const DBR_FLAGS_NOWAIT = Flags.DBR_FLAGS_NOWAIT;
/** A too-small buffer receives the first bytes of the value. */
export const DBR_FLAGS_PARTIAL = Flags.DBR_FLAGS_PARTIAL;
/** One past the largest flag. */
export const DBR_FLAGS_MAX = Flags.DBR_FLAGS_MAX;
/** Persistence level 0 (accepted and ignored by libdbr). */
export const DBR_PERST_VOLATILE_SIMPLE = PersistLevel.DBR_PERST_VOLATILE_SIMPLE;
/** Persistence level 1 (accepted and ignored by libdbr). */
export const DBR_PERST_VOLATILE_FT = PersistLevel.DBR_PERST_VOLATILE_FT;
/** Persistence level 2 (accepted and ignored by libdbr). */
export const DBR_PERST_TEMPORARY_SIMPLE = PersistLevel.DBR_PERST_TEMPORARY_SIMPLE;
/** Persistence level 3 (accepted and ignored by libdbr). */
export const DBR_PERST_TEMPORARY_FT = PersistLevel.DBR_PERST_TEMPORARY_FT;
/** Persistence level 4 (accepted and ignored by libdbr). */
export const DBR_PERST_PERMANENT_SIMPLE = PersistLevel.DBR_PERST_PERMANENT_SIMPLE;
/** Persistence level 5 (accepted and ignored by libdbr). */
export const DBR_PERST_PERMANENT_FT = PersistLevel.DBR_PERST_PERMANENT_FT;
/** Persistence level 6 (accepted and ignored by libdbr). */
export const DBR_PERST_MAX = PersistLevel.DBR_PERST_MAX;

/** A namespace handle as returned by create/attach (null on failure). */
export type DbrHandle = NativePointer | null;
/** An iterator position; null is both DBR_ITERATOR_NEW and DBR_ITERATOR_DONE. */
export type DbrIterator = NativePointer | null;

/** No group (groups are accepted and ignored). */
export const DBR_GROUP_EMPTY = null;
/** An empty group list. */
export const DBR_GROUP_LIST_EMPTY = null;
/** An empty unit list. */
export const DBR_UNIT_LIST_EMPTY = null;
/** Starts an iteration. */
export const DBR_ITERATOR_NEW: DbrIterator = null;
/** The iterator value that ends an iteration. */
export const DBR_ITERATOR_DONE: DbrIterator = null;
export { DB_TAG_ERROR, DBR_MAX_KEY_LEN, DBR_STATE_MASK_ALL };

const abi = () => runtime().lib.abi;

/** Creates a namespace and attaches to it; null if it exists or on error. */
export function create(dbrname: string, level: number = PersistLevel.DBR_PERST_VOLATILE_SIMPLE, groups: unknown = null): DbrHandle {
  void groups;
  return abi().dbrCreate(text('create', 'dbrname', dbrname), size('create', 'level', level, PersistLevel.DBR_PERST_MAX), null);
}

/** Deletes a namespace; returns the exit status. */
export function delete_(dbrname: string): number {
  return abi().dbrDelete(text('delete', 'dbrname', dbrname));
}
export { delete_ as delete };

/** Attaches to an existing namespace; null if there is none. */
export function attach(dbrname: string): DbrHandle {
  return abi().dbrAttach(text('attach', 'dbrname', dbrname));
}

/** Detaches; returns the exit status. */
export function detach(dbrHandle: DbrHandle): number {
  return abi().dbrDetach(pointer('detach', 'dbrHandle', dbrHandle));
}

/** Queries a namespace: the number of attached clients is stored in dbrState[0] when given. */
export function query(dbrHandle: DbrHandle, dbrState?: Uint32Array | null, stateMask: bigint = DBR_STATE_MASK_ALL): number {
  return abi().dbrQuery(pointer('query', 'dbrHandle', dbrHandle), stateArray('query', dbrState) ?? new Uint32Array(1), stateMask);
}

/** Appends a tuple; strings are stored as UTF-8 and binary values as raw bytes. */
export function put(dbrHdl: DbrHandle, tupleVal: ValueLike, tupleName: string, group: string | null = null): number {
  const h = pointer('put', 'dbrHdl', dbrHdl);
  const bytes = toBytes(tupleVal);
  return abi().dbrPut(h, bytes, bytes.byteLength, text('put', 'tupleName', tupleName), textOrNull('put', 'group', group));
}

function bufferSizeOf(fn: string, bufferSize: number | number[] | null | undefined): number | undefined {
  const n: unknown = Array.isArray(bufferSize) ? bufferSize[0] : bufferSize;
  return n === null || n === undefined ? undefined : size(fn, 'bufferSize', n);
}

/** The checked name and template of a read/get: '' means none, as in PyDBR. */
function selectorArgs(fn: string, tupleName: unknown, matchTemplate: unknown): [string | null, string | null] {
  const name = text(fn, 'tupleName', tupleName);
  const tmpl = text(fn, 'matchTemplate', matchTemplate);
  return [name === '' ? null : name, tmpl === '' ? null : tmpl];
}

/** Largest flags word: flags is a C int (koffi would silently wrap a larger number). */
const MAX_FLAGS = 2 ** 31 - 1;

async function take(op: 'read' | 'get', dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, flag: number, bufferSize: number | number[] | null | undefined): Promise<[Buffer, number]> {
  const rt = runtime();
  pointer(op, 'dbrHdl', dbrHdl);
  const [name, tmpl] = selectorArgs(op, tupleName, matchTemplate);
  size(op, 'flag', flag, MAX_FLAGS);
  const capacity = bufferSizeOf(op, bufferSize);
  const ext = rt.lib.ext;
  if (ext === undefined || capacity !== undefined || dbrHdl === null) {
    const fn = op === 'get' ? rt.lib.abi.dbrGet : rt.lib.abi.dbrRead;
    const [value, status, valueSize] = await blockingTake(fn, dbrHdl as NativePointer, name, tmpl, flag, capacity);
    // PyDBR's buffer_size is the C call's *size: it receives the value's size, the size to retry with
    if (Array.isArray(bufferSize) && (status === ErrorCode.DBR_SUCCESS || status === ErrorCode.DBR_ERR_UBUFFER)) bufferSize[0] = valueSize;
    return [value, status];
  }
  const asyncFn = op === 'get' ? ext.dbrxGetAsync : ext.dbrxReadAsync;
  const tag = asyncFn(rt.submitQueue().handle, dbrHdl, name, tmpl, flag, -1);
  if (tag < 0) return [Buffer.alloc(0), ext.dbrxLastErrorCode() || ErrorCode.DBR_ERR_GENERIC];
  const c = await rt.queue.track(tag);
  return [c.value ?? Buffer.alloc(0), c.status];
}

/**
 * Reads (copies) a tuple, waiting for it unless flag is DBR_FLAGS_NOWAIT. Resolves to [value, status].
 * With `bufferSize`, a value larger than it resolves to DBR_ERR_UBUFFER: the value is empty (or its first
 * bufferSize bytes with DBR_FLAGS_PARTIAL), and a list's bufferSize[0] receives the size to retry with.
 */
export function read(dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, group: string | null, flag: number, bufferSize?: number | number[] | null): Promise<[Buffer, number]> {
  try {
    textOrNull('read', 'group', group);
  } catch (e) {
    return Promise.reject(e);
  }
  return take('read', dbrHdl, tupleName, matchTemplate, flag, bufferSize);
}

/**
 * Pops a tuple, waiting for it unless flag is DBR_FLAGS_NOWAIT. Resolves to [value, status]. A too-small
 * `bufferSize` behaves as in read; without DBR_FLAGS_PARTIAL the value stays in the namespace.
 */
export function get(dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, group: string | null, flag: number, bufferSize?: number | number[] | null): Promise<[Buffer, number]> {
  try {
    textOrNull('get', 'group', group);
  } catch (e) {
    return Promise.reject(e);
  }
  return take('get', dbrHdl, tupleName, matchTemplate, flag, bufferSize);
}

/**
 * The value an asynchronous readA/getA fills in. Its `value` is there once test(tag) returned DBR_SUCCESS;
 * `status` is what test (or cancel) returned, DBR_ERR_INPROGRESS until then.
 */
export class TupleFuture {
  /** DBR_ERR_INPROGRESS until test(tag) collects the request, then its status. */
  status: number = ErrorCode.DBR_ERR_INPROGRESS;

  /** @internal */
  constructor(
    readonly buffer: Buffer,
    private readonly sizeCell: BigInt64Array,
    private readonly op: 'readA' | 'getA',
  ) {}

  /** The value's size once complete (with DBR_ERR_UBUFFER: the size the buffer needed). */
  get size(): number {
    return Number(this.sizeCell[0]);
  }

  /** The received value; a DbrError naming the status if the request has not completed with DBR_SUCCESS. */
  get value(): Buffer {
    if (this.status === ErrorCode.DBR_SUCCESS) return this.buffer.subarray(0, Math.min(this.size, this.buffer.length));
    const code = errorCodeName(this.status);
    let why: string;
    if (this.status === ErrorCode.DBR_ERR_INPROGRESS) why = 'has not completed: poll test(tag) until it returns DBR_SUCCESS';
    else if (this.status === ErrorCode.DBR_ERR_UBUFFER) why = `found a ${this.size}-byte value, larger than its ${this.buffer.length}-byte buffer (DBR_ERR_UBUFFER): the value stays in the namespace; call ${this.op} again with bufferSize >= ${this.size}`;
    else why = `ended with ${code}: ${getErrorMessage(this.status)}`;
    throw new DbrError(this.status, `dbr.${this.op} ${why}.`);
  }

  /** @internal test() or cancel() collected the request. */
  settle(status: number): void {
    this.status = status;
  }
}

/** Buffers native code writes into until their tag completes. */
const inFlight = new ChurnMap<number, unknown>();
const DEFAULT_ASYNC_BUFFER = 64 * 1024;

function startTake(op: 'read' | 'get', dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, bufferSize: number | number[] | null | undefined): [number, TupleFuture] {
  const fnName = `${op}A`;
  const h = pointer(fnName, 'dbrHdl', dbrHdl);
  const [name, tmpl] = selectorArgs(fnName, tupleName, matchTemplate);
  const capacity = bufferSizeOf(fnName, bufferSize) ?? DEFAULT_ASYNC_BUFFER;
  const buffer = Buffer.alloc(capacity);
  const sizeCell = new BigInt64Array([BigInt(capacity)]);
  const fn = op === 'get' ? abi().dbrGetA : abi().dbrReadA;
  const tag = fn(h, buffer, sizeCell, name, tmpl, null);
  const future = new TupleFuture(buffer, sizeCell, fnName as 'readA' | 'getA');
  if (tag !== DB_TAG_ERROR) inFlight.set(tag, future);
  return [tag, future];
}

/** Starts an asynchronous read. Returns [tag, future]; poll test(tag). */
export function readA(dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, group: string | null, flag: number = Flags.DBR_FLAGS_NONE, bufferSize?: number | number[] | null): [number, TupleFuture] {
  void group;
  void flag;
  return startTake('read', dbrHdl, tupleName, matchTemplate, bufferSize);
}

/** Starts an asynchronous get. Returns [tag, future]; poll test(tag). */
export function getA(dbrHdl: DbrHandle, tupleName: string, matchTemplate: string, group: string | null, flag: number = Flags.DBR_FLAGS_NONE, bufferSize?: number | number[] | null): [number, TupleFuture] {
  void group;
  void flag;
  return startTake('get', dbrHdl, tupleName, matchTemplate, bufferSize);
}

/** Starts an asynchronous put. Returns the tag; poll test(tag). */
export function putA(dbrHdl: DbrHandle, tupleVal: ValueLike, tupleName: string, group: string | null = null): number {
  const h = pointer('putA', 'dbrHdl', dbrHdl);
  const bytes = toBytes(tupleVal);
  const tag = abi().dbrPutA(h, bytes, bytes.byteLength, text('putA', 'tupleName', tupleName), textOrNull('putA', 'group', group));
  if (tag !== DB_TAG_ERROR) inFlight.set(tag, bytes);
  return tag;
}

/** The request behind `tag` ended with `status`: its buffer is no longer written to. */
function collect(tag: number, status: number): void {
  const held = inFlight.get(tag);
  if (held instanceof TupleFuture) held.settle(status);
  inFlight.delete(tag);
}

/** DBR_SUCCESS once the request completed, DBR_ERR_INPROGRESS while pending, or its error. */
export function test(tag: number): number {
  const rc = abi().dbrTest(tagOf('test', tag));
  if (rc !== ErrorCode.DBR_ERR_INPROGRESS) collect(tag, rc);
  return rc;
}

/**
 * Cancels a pending request. DBR_ERR_INVALIDOP when it completed, or when its completion is under way (on
 * Redis, a get whose pop is on the wire): test() then collects it, with the value if the pop got one, else
 * DBR_ERR_CANCELLED.
 */
export function cancel(tag: number): number {
  const rc = abi().dbrCancel(tagOf('cancel', tag));
  if (rc === ErrorCode.DBR_SUCCESS) collect(tag, ErrorCode.DBR_ERR_CANCELLED);
  return rc;
}

/** Moves the tuples under a name (or matching a template) to another namespace. */
export function move(srcHandle: DbrHandle, srcGroup: string | null, tupleName: string, matchTemplate: string, destHandle: DbrHandle, destGroup: string | null): number {
  const [name, tmpl] = selectorArgs('move', tupleName, matchTemplate);
  return abi().dbrMove(pointer('move', 'srcHandle', srcHandle), textOrNull('move', 'srcGroup', srcGroup), name, tmpl, pointer('move', 'destHandle', destHandle), textOrNull('move', 'destGroup', destGroup));
}

/** Removes the tuples under a name (or matching a template). */
export function remove(dbrHdl: DbrHandle, group: string | null, tupleName: string, matchTemplate: string): number {
  const [name, tmpl] = selectorArgs('remove', tupleName, matchTemplate);
  return abi().dbrRemove(pointer('remove', 'dbrHdl', dbrHdl), textOrNull('remove', 'group', group), name, tmpl);
}

/** DBR_SUCCESS if a tuple exists under the name, DBR_ERR_UNAVAIL if not. */
export function testKey(dbrHdl: DbrHandle, tupleName: string): number {
  return abi().dbrTestKey(pointer('testKey', 'dbrHdl', dbrHdl), text('testKey', 'tupleName', tupleName));
}

/** Lists tuple names matching a template: [keys, size in bytes, status]. count 0 means no limit. */
export function directory(dbrHdl: DbrHandle, matchTemplate: string, group: string | null, count: number, bufSize: number): [string[], number, number] {
  const h = pointer('directory', 'dbrHdl', dbrHdl);
  const buf = Buffer.alloc(size('directory', 'size', bufSize));
  const retSize = new BigInt64Array(1);
  const rc = abi().dbrDirectory(h, text('directory', 'matchTemplate', matchTemplate), textOrNull('directory', 'group', group), size('directory', 'count', count, 2 ** 32 - 1), buf, bufSize, retSize);
  return [splitNames(buf, Number(retSize[0])), Number(retSize[0]), rc];
}

const iteratorName = Buffer.alloc(DBR_MAX_KEY_LEN + 1);

/** Steps an iteration over tuple names: [key, iterator]; the iterator is DBR_ITERATOR_DONE (null) at the end. */
export function iterator(dbrHdl: DbrHandle, it: DbrIterator, matchTemplate: string, group: string | null = null): [string | null, DbrIterator] {
  const next = abi().dbrIterator(pointer('iterator', 'dbrHdl', dbrHdl), pointer('iterator', 'it', it), textOrNull('iterator', 'group', group), text('iterator', 'matchTemplate', matchTemplate), iteratorName);
  if (next === null) return [null, null];
  return [iteratorName.toString('utf8', 0, iteratorName.indexOf(0)), next];
}

/** A zero-filled buffer to pass to DBR functions (buftype is accepted for PyDBR compatibility). */
export function createBuf(buftype: string, bufsize: number): Buffer {
  void buftype;
  return Buffer.alloc(size('createBuf', 'bufsize', bufsize));
}

/** The error code's name for an exit status, e.g. 'DBR_ERR_TIMEOUT'. */
export function getErrorCode(exitstatus: number): string {
  return errorCodeName(exitstatus);
}

/** A description of an exit status. */
export function getErrorMessage(exitstatus: number): string {
  return ERROR_MESSAGES[exitstatus] ?? 'Unknown Error';
}

/** A tuple's bytes as text (PyDBR's decodeTuple for str values). */
export function decodeTuple(value: Buffer | TupleFuture): string {
  return (value instanceof TupleFuture ? value.value : value).toString('utf8');
}

