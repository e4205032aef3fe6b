/**
 * Argument checks of the PyDBR table. Its functions hand their arguments to C, and koffi takes a number or a
 * BigInt where C expects a string or a buffer as a raw address: a wrong type there would crash the process
 * instead of failing the call. Each check throws a TypeError or RangeError that names the function and the
 * parameter, as PyDBR's ctypes layer raises ArgumentError; a string with a NUL, which C would silently cut
 * short, is a DbrError DBR_ERR_INVALID.
 * @internal
 * @module
 */
import { ErrorCode } from './constants.js';
import { DbrError } from './errors.js';
import type { NativePointer } from './ffi.js';

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return typeof v;
}

function fail(fn: string, param: string, expected: string, v: unknown): never {
  throw new TypeError(`dbr.${fn}: ${param} must be ${expected}, got ${typeName(v)}.`);
}

/** C would end the string at a NUL and act on a shorter name than the one given. */
function withoutNul(fn: string, param: string, v: string): string {
  if (v.includes('\0')) throw new DbrError(ErrorCode.DBR_ERR_INVALID, `dbr.${fn}: ${param} ${JSON.stringify(v.slice(0, 60))} contains a NUL, where C would cut it short; remove it (DBR_ERR_INVALID).`);
  return v;
}

/** A string (a tuple or namespace name, a template) without NUL. */
export function text(fn: string, param: string, v: unknown): string {
  if (typeof v !== 'string') fail(fn, param, 'a string', v);
  return withoutNul(fn, param, v);
}

/** A string without NUL, or null/undefined for none (groups, optional names). */
export function textOrNull(fn: string, param: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') fail(fn, param, 'a string or null', v);
  return withoutNul(fn, param, v);
}

/** A handle from create/attach, or an iterator: a native pointer (BigInt) or null. */
export function pointer(fn: string, param: string, v: unknown): NativePointer | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'bigint') fail(fn, param, 'a handle returned by dbr.create/dbr.attach (or null)', v);
  return v;
}

/** A tag from putA/readA/getA. */
export function tagOf(fn: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(fn, 'tag', 'an integer tag returned by putA, readA or getA', v);
  return v;
}

/** Largest buffer the table allocates on a caller's request (Node's own Buffer limit is about 4 GiB). */
const MAX_BUFFER = 2 ** 32;

/** A buffer size or count: a non-negative integer. */
export function size(fn: string, param: string, v: unknown, max = MAX_BUFFER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(fn, param, 'a non-negative integer', v);
  if (v < 0 || v > max) throw new RangeError(`dbr.${fn}: ${param} must be between 0 and ${max}, got ${v}.`);
  return v;
}

/** dbrQuery's state out-parameter: a Uint32Array with room for the attach count, or null. */
export function stateArray(fn: string, v: unknown): Uint32Array | null {
  if (v === null || v === undefined) return null;
  if (!(v instanceof Uint32Array) || v.length < 1) fail(fn, 'dbrState', 'a Uint32Array of length >= 1 (or null)', v);
  return v;
}
