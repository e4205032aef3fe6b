/**
 * The packed buffers of libdbr's batch calls (dbrxPutMany, dbrxPopPutMany; libdbr_ext.h has the layouts), with
 * the checks of their names and values.
 * @internal
 * @module
 */
import { type Codec, toBytes, type ValueLike } from './codecs.js';
import { DBR_MAX_KEY_LEN, ErrorCode } from './constants.js';
import { DbrError } from './errors.js';
import type { PopPutStep } from './namespace-types.js';
import { EMPTY } from './namespace-requests.js';
import { checkName } from './runtime.js';

/**
 * True for a name checkName passes without counting its bytes. The batch calls look at their names with this
 * first and build checkName's description only for the rest (a worker sends thousands of names a second).
 */
export function isPlainName(name: unknown): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= DBR_MAX_KEY_LEN / 3 && !name.includes('\0') && !name.includes('\n');
}

function checkStepName(name: string, step: number, role: string): void {
  if (!isPlainName(name)) checkName(name, `Step ${step}: ${role}`);
}

/** A little-endian uint64 from a safe integer, without the BigInt that writeBigUInt64LE needs. */
function writeU64(buf: Buffer, v: number, off: number): void {
  buf.writeUInt32LE(v % 0x100000000, off);
  buf.writeUInt32LE(Math.floor(v / 0x100000000), off + 4);
}

function utf8Length(s: string | undefined): number {
  return s === undefined ? 0 : Buffer.byteLength(s, 'utf8');
}

/** popPutMany's steps, checked and packed (per step: 24-byte header, names, value). */
export function packSteps<T>(steps: readonly PopPutStep<T>[], codec: Codec<T> | undefined): Buffer {
  // sizes first, then one buffer: a worker sends thousands of steps a second
  const values: Uint8Array[] = new Array(steps.length);
  let total = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as PopPutStep<T>;
    if (step.pop !== undefined) checkStepName(step.pop, i, 'name to pop');
    if (step.put !== undefined) checkStepName(step.put, i, 'name to put');
    if (step.unless !== undefined) checkStepName(step.unless, i, 'unless name');
    if (step.pop === undefined && step.put === undefined && step.unless === undefined) throw new DbrError(ErrorCode.DBR_ERR_INVALID, `Step ${i} of popPutMany names no tuple: give pop, put or unless (DBR_ERR_INVALID).`);
    if (step.put === undefined && step.value !== undefined) throw new DbrError(ErrorCode.DBR_ERR_INVALID, `Step ${i} of popPutMany has a value but no name to put it under (DBR_ERR_INVALID).`);
    const value = step.put === undefined ? EMPTY : codec ? codec.encode(step.value as T) : toBytes(step.value as ValueLike);
    values[i] = value;
    total += 24 + utf8Length(step.pop) + utf8Length(step.put) + utf8Length(step.unless) + value.byteLength;
  }
  const packed = Buffer.allocUnsafe(total);
  let off = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i] as PopPutStep<T>;
    const value = values[i] as Uint8Array;
    const at = off;
    off += 24;
    const pop = step.pop === undefined ? 0 : packed.write(step.pop, off, 'utf8');
    off += pop;
    const put = step.put === undefined ? 0 : packed.write(step.put, off, 'utf8');
    off += put;
    const unless = step.unless === undefined ? 0 : packed.write(step.unless, off, 'utf8');
    off += unless;
    packed.set(value, off);
    off += value.byteLength;
    packed.writeUInt32LE(pop, at);
    packed.writeUInt32LE(put, at + 4);
    packed.writeUInt32LE(unless, at + 8);
    packed.writeUInt32LE(step.peekUnless === true ? 1 : 0, at + 12);
    writeU64(packed, value.byteLength, at + 16);
  }
  return packed;
}

/** putMany's entries, checked and packed (per entry: 12-byte header, name, value); undefined for none. */
export function packEntries<T>(entries: Iterable<readonly [string, T]>, codec: Codec<T> | undefined): { packed: Buffer; count: number } | undefined {
  // Two passes into one buffer: no per-record header, name buffer or BigInt to collect afterwards.
  const names: string[] = [];
  const values: Uint8Array[] = [];
  let total = 0;
  for (const [name, value] of entries) {
    checkName(name, 'Tuple name');
    const bytes = codec ? codec.encode(value) : toBytes(value as ValueLike);
    names.push(name);
    values.push(bytes);
    total += 12 + Buffer.byteLength(name, 'utf8') + bytes.byteLength;
  }
  const count = names.length;
  if (count === 0) return undefined;
  const packed = Buffer.allocUnsafe(total);
  for (let i = 0, off = 0; i < count; i++) {
    const bytes = values[i] as Uint8Array;
    const nameLen = packed.write(names[i] as string, off + 12, 'utf8');
    packed.writeUInt32LE(nameLen, off);
    writeU64(packed, bytes.byteLength, off + 4);
    packed.set(bytes, off + 12 + nameLen);
    off += 12 + nameLen + bytes.byteLength;
  }
  return { packed, count };
}
