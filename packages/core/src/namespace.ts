/**
 * A namespace of the Data Broker: a multiset of named tuples shared by every attached process.
 * @module
 */
import type { ZodType } from 'zod';
import { constants as bufferConstants } from 'node:buffer';
import { Channel, type ChannelOptions } from './channel.js';
import { type Codec, toBytes, type ValueLike } from './codecs.js';
import { DBRX_TIMEOUT_INFINITE, ErrorCode, Flags } from './constants.js';
import { abortReason, DbrError } from './errors.js';
import type { NativePointer } from './ffi.js';
import { type Duration, parseDuration } from './options.js';
import { Int64Cell } from './int64-cell.js';
import { blockingTake, checkName, checkPattern, type Describe, onPool, readIndexFlags, type Runtime, splitSelector } from './runtime.js';
import {
  MOVE_MANY_MAX_DESTINATIONS,
  MOVE_MANY_MAX_SOURCES,
  type NamespaceInfo,
  type PopPutStep,
  type PutOptions,
  type ReadOptions,
  type StepOutcome,
  type TakeOptions,
  type TupleSelector,
} from './namespace-types.js';
import { decode, describe, EMPTY, MoveRequest, StatusRequest, TakeRequest } from './namespace-requests.js';
import { isPlainName, packEntries, packSteps } from './batch-packing.js';

const STEP_OUTCOMES: readonly StepOutcome[] = ['empty', 'done', 'skipped'];

const NAME_BYTES = 1024;
/** Names per native call of keys(), and the buffer that holds them (a name needs at most NAME_BYTES + 1). */
const KEYS_BATCH = 256;
const KEYS_BUFFER = 64 * 1024;

/** A handle on a namespace. Close it (or use `await using`) to detach. */
export class Namespace implements AsyncDisposable {
  /** The namespace's name. */
  readonly name: string;
  private handle: NativePointer | null;
  private readonly rt: Runtime;
  private readonly defaultTimeoutMs: number;
  private readonly onClose: ((ns: Namespace) => void) | undefined;

  /** @internal Use Broker.create/attach/open. */
  constructor(rt: Runtime, handle: NativePointer, name: string, defaultTimeoutMs: number, onClose?: (ns: Namespace) => void) {
    this.rt = rt;
    this.handle = handle;
    this.name = name;
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.onClose = onClose;
  }

  /** @internal The native handle. */
  get nativeHandle(): NativePointer {
    if (this.handle === null) throw new DbrError(ErrorCode.DBR_ERR_HANDLE, `Namespace "${this.name}" is closed: attach again to use it (DBR_ERR_HANDLE).`);
    return this.handle;
  }

  /** True until close(). */
  get isOpen(): boolean {
    return this.handle !== null;
  }

  /** Appends a value under a name. Strings are stored as UTF-8, typed arrays as their bytes. */
  put<T = ValueLike>(name: string, value: T, options: PutOptions<T> = {}): Promise<void> {
    try {
      checkName(name, 'Tuple name');
      const bytes = options.codec ? options.codec.encode(value) : toBytes(value as ValueLike);
      const h = this.nativeHandle;
      const what = () => `put "${name}" in "${this.name}"`;
      const ext = this.rt.lib.ext;
      if (this.rt.inProcess || ext === undefined) {
        this.rt.check(this.rt.lib.abi.dbrPut(h, bytes, bytes.byteLength, name, null), what);
        return Promise.resolve();
      }
      const tag = ext.dbrxPutAsync(this.rt.submitQueue().handle, h, bytes, bytes.byteLength, name);
      return this.rt.expect(tag, new StatusRequest(this.rt, what, bytes));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Stores a value only if no value is stored under the name, atomically across every client; resolves to
   * true if it stored it. The basis of deduplication keys and first-writer-wins markers.
   */
  async putIfAbsent<T = ValueLike>(name: string, value: T, options: PutOptions<T> = {}): Promise<boolean> {
    checkName(name, 'Tuple name');
    const bytes = options.codec ? options.codec.encode(value) : toBytes(value as ValueLike);
    const stored = new Int32Array(1);
    const ext = this.requireExt('putIfAbsent');
    const rc = await this.rt.nonWaiting(ext.dbrxPutIfAbsent, this.nativeHandle, bytes, bytes.byteLength, name, stored);
    this.rt.checkNonWaiting(rc, () => `putIfAbsent "${name}" in "${this.name}"`);
    return stored[0] === 1;
  }

  /**
   * Atomically drops the oldest value under `popName` and appends `value` under `putName`; resolves to false
   * (and puts nothing) when `popName` holds no value. Finishes a claimed task in one step: the claim goes
   * exactly when the result appears. On Redis Cluster both names need the same {hash tag}.
   */
  async popPut<T = ValueLike>(popName: string, putName: string, value: T, options: PutOptions<T> = {}): Promise<boolean> {
    checkName(popName, 'Name to pop');
    checkName(putName, 'Name to put');
    const bytes = options.codec ? options.codec.encode(value) : toBytes(value as ValueLike);
    const ext = this.requireExt('popPut');
    const h = this.nativeHandle;
    const what = () => `popPut "${popName}" -> "${putName}" in "${this.name}"`;
    const c = this.rt.inProcess
      ? { status: ext.dbrxPopPut(h, popName, putName, bytes, bytes.byteLength) }
      : await this.rt.wait(ext.dbrxPopPutAsync(this.rt.submitQueue().handle, h, popName, putName, bytes, bytes.byteLength), what, bytes);
    if (c.status === ErrorCode.DBR_ERR_UNAVAIL) return false;
    this.rt.check(c.status, what, c.detail);
    return true;
  }

  /**
   * Claims values in one step (one round trip on Redis): fills `destinations` in order, each with the oldest
   * value of the first of `sources` that holds one (every move atomic, as in moveValue), and resolves with the
   * moved values, the i-th having gone to destinations[i]. Fewer values than destinations means the sources ran
   * dry. Never waits and cannot be aborted, so the caller always learns where values went. On Redis Cluster
   * every name needs the same {hash tag}.
   */
  async moveMany<T = Buffer>(sources: readonly string[], destinations: readonly string[], options: { codec?: Codec<T> } = {}): Promise<T[]> {
    checkList(sources, 'source', MOVE_MANY_MAX_SOURCES);
    checkList(destinations, 'destination', MOVE_MANY_MAX_DESTINATIONS);
    const ext = this.requireExt('moveMany');
    const what = () => `moveMany [${sources.join(', ')}] -> ${destinations.length} names in "${this.name}"`;
    const tag = ext.dbrxMoveManyAsync(this.rt.submitQueue().handle, this.nativeHandle, sources.join('\n'), destinations.join('\n'));
    const packed = await this.completion(tag, what);
    const values: T[] = [];
    for (let off = 0; off + 8 <= packed.length; ) {
      const len = Number(packed.readBigUInt64LE(off));
      values.push(decode(packed.subarray(off + 8, off + 8 + len), options.codec));
      off += 8 + len;
    }
    return values;
  }

  /**
   * Runs many independent atomic steps in one call (one round trip on Redis): pop-puts, puts, pops, each
   * optionally guarded by `unless` (see PopPutStep). Resolves with what each step did. Not a transaction: on
   * an error it rejects, and other steps may have run. On Redis Cluster the names of one step need one {hash tag}.
   */
  async popPutMany<T = ValueLike>(steps: readonly PopPutStep<T>[], options: PutOptions<T> = {}): Promise<StepOutcome[]> {
    if (steps.length === 0) return [];
    const packed = packSteps(steps, options.codec);
    const ext = this.requireExt('popPutMany');
    const what = () => `popPutMany (${steps.length} steps) in "${this.name}"`;
    const c = await this.rt.wait(ext.dbrxPopPutManyAsync(this.rt.submitQueue().handle, this.nativeHandle, packed, packed.length), what, packed);
    this.rt.check(c.status, what, c.detail);
    const codes = c.value ?? EMPTY;
    return steps.map((_, i) => STEP_OUTCOMES[codes[i] ?? 0] ?? 'empty');
  }

  /** Appends many values in one call (one round trip on Redis). Order is kept per name. */
  async putMany<T = ValueLike>(entries: Iterable<readonly [string, T]>, options: PutOptions<T> = {}): Promise<void> {
    const batch = packEntries(entries, options.codec);
    if (batch === undefined) return;
    const { packed, count } = batch;
    const h = this.nativeHandle;
    const what = () => `putMany (${count} values) in "${this.name}"`;
    const ext = this.rt.lib.ext;
    if (ext === undefined) {
      for (let i = 0, off = 0; i < count; i++) {
        const nameLen = packed.readUInt32LE(off);
        const valueLen = Number(packed.readBigUInt64LE(off + 4));
        const name = packed.toString('utf8', off + 12, off + 12 + nameLen);
        const value = packed.subarray(off + 12 + nameLen, off + 12 + nameLen + valueLen);
        this.rt.check(this.rt.lib.abi.dbrPut(h, value, valueLen, name, null), what);
        off += 12 + nameLen + valueLen;
      }
      return;
    }
    if (this.rt.inProcess) {
      this.rt.check(ext.dbrxPutMany(h, packed, packed.length), what);
      return;
    }
    const c = await this.rt.wait(ext.dbrxPutManyAsync(this.rt.submitQueue().handle, h, packed, packed.length), what, packed);
    this.rt.check(c.status, what, c.detail);
  }

  /**
   * Pops the oldest value under a name (or under the first name matching a template), waiting for one up to
   * the timeout. Rejects with DbrError DBR_ERR_TIMEOUT (or DBR_ERR_UNAVAIL with timeout 0).
   */
  get<T = Buffer>(selector: TupleSelector, options: TakeOptions<T> = {}): Promise<T> {
    return this.take('get', selector, 0, options, false) as Promise<T>;
  }

  /** Copies the oldest (or `index`-th) value without consuming it, waiting like get. */
  read<T = Buffer>(selector: TupleSelector, options: ReadOptions<T> = {}): Promise<T> {
    return this.take('read', selector, options.index ?? 0, options, false) as Promise<T>;
  }

  /**
   * The first `maxBytes` (default 64 KiB) of the oldest (or `index`-th) value under a name, with the value's
   * full size, without consuming it and without waiting; undefined if there is none. Large values are
   * previewed without being copied whole into JS.
   */
  async peek(name: string, options: { index?: number; maxBytes?: number } = {}): Promise<{ bytes: Buffer; size: number } | undefined> {
    checkName(name, 'Tuple name');
    const index = options.index ?? 0;
    const maxBytes = options.maxBytes ?? 64 * 1024;
    const indexFlags = readIndexFlags(index, 'peek index');
    if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > bufferConstants.MAX_LENGTH) {
      throw new DbrError(ErrorCode.DBR_ERR_INVALID, `peek maxBytes must be an integer from 0 to ${bufferConstants.MAX_LENGTH} (Node's largest Buffer), got ${maxBytes} (DBR_ERR_INVALID).`);
    }
    const h = this.nativeHandle;
    const buf = Buffer.allocUnsafe(maxBytes);
    const size = new Int64Cell();
    size.set(maxBytes);
    const flags = Flags.DBR_FLAGS_NOWAIT | Flags.DBR_FLAGS_PARTIAL | indexFlags;
    const ext = this.rt.lib.ext;
    let rc: number;
    if (ext !== undefined && this.rt.inProcess) rc = ext.dbrxRead(h, buf, size.words, name, null, flags, 0);
    else {
      // may do I/O: run it on the pool so the event loop stays free
      const fn = this.rt.lib.abi.dbrRead;
      rc = await onPool<number>((done) => fn.async(h, buf, size.words, name, null, null, flags, done));
    }
    if (rc === ErrorCode.DBR_ERR_UNAVAIL) return undefined;
    if (rc !== ErrorCode.DBR_SUCCESS && rc !== ErrorCode.DBR_ERR_UBUFFER) throw this.rt.error(rc, `peek "${name}" in "${this.name}"`);
    const full = size.get();
    return { bytes: buf.subarray(0, Math.min(full, maxBytes)), size: full };
  }

  /** Pops a value if one is there now; undefined otherwise. */
  tryGet<T = Buffer>(selector: TupleSelector, options: Omit<TakeOptions<T>, 'timeout'> = {}): Promise<T | undefined> {
    return this.take('get', selector, 0, { ...options, timeout: 0 }, true);
  }

  /** Copies the oldest (or `index`-th) value if one is there now, without consuming it; undefined otherwise. */
  tryRead<T = Buffer>(selector: TupleSelector, options: Omit<ReadOptions<T>, 'timeout'> = {}): Promise<T | undefined> {
    return this.take('read', selector, options.index ?? 0, { ...options, timeout: 0 }, true);
  }

  /**
   * Atomically pops the oldest value under `name` here and appends it under `dstName` in `dst`, returning it.
   * The value is never outside the tuple space: the basis of reliable task claiming.
   */
  moveValue<T = Buffer>(name: string, dst: Namespace, dstName: string, options: TakeOptions<T> = {}): Promise<T> {
    try {
      checkName(name, 'Tuple name');
      checkName(dstName, 'Destination tuple name');
      const ext = this.requireExt('moveValue');
      const timeoutMs = this.timeoutOf(options.timeout);
      const flags = timeoutMs === 0 ? Flags.DBR_FLAGS_NOWAIT : 0;
      const h = this.nativeHandle;
      const dh = dst.nativeHandle;
      const req = new MoveRequest<T>(this.rt, () => `moveValue "${name}" -> "${dst.name}"/"${dstName}"`, options.codec);
      if (options.signal?.aborted) throw abortReason(options.signal, req.description);
      if (this.rt.inProcess) {
        const now = this.syncTake(() => req.description, (buf, size) => ext.dbrxMoveValue(h, name, dh, dstName, buf, size, Flags.DBR_FLAGS_NOWAIT, 0));
        if (now !== undefined) return Promise.resolve(decode(now, options.codec));
        if (timeoutMs === 0) throw this.rt.error(ErrorCode.DBR_ERR_UNAVAIL, () => req.description);
      }
      const tag = ext.dbrxMoveValueAsync(this.rt.submitQueue().handle, h, name, dh, dstName, flags, nativeTimeout(timeoutMs));
      return this.rt.expectUnless(tag, req, options.signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** True if at least one value is stored under the name. */
  async has(name: string): Promise<boolean> {
    checkName(name, 'Tuple name');
    const rc = await this.rt.nonWaiting(this.rt.lib.abi.dbrTestKey, this.nativeHandle, name);
    if (rc === ErrorCode.DBR_ERR_UNAVAIL) return false;
    this.rt.checkNonWaiting(rc, `has "${name}" in "${this.name}"`);
    return true;
  }

  /** Number of values stored under a name. */
  async count(name: string): Promise<number> {
    checkName(name, 'Tuple name');
    const ext = this.requireExt('count');
    const out = new BigInt64Array(1);
    this.rt.checkNonWaiting(await this.rt.nonWaiting(ext.dbrxCount, this.nativeHandle, name, out), `count "${name}" in "${this.name}"`);
    return Number(out[0]);
  }

  /**
   * Moves every value under a name (or under every name matching a template) to another namespace.
   * Resolves to false when nothing matched.
   */
  async move(selector: TupleSelector, dst: Namespace): Promise<boolean> {
    const [name, tmpl] = splitSelector(selector);
    const rc = await this.rt.nonWaiting(this.rt.lib.abi.dbrMove, this.nativeHandle, null, name, tmpl, dst.nativeHandle, null);
    if (rc === ErrorCode.DBR_ERR_UNAVAIL) return false;
    this.rt.checkNonWaiting(rc, `move ${describe(selector)} from "${this.name}" to "${dst.name}"`);
    return true;
  }

  /** Removes every value under a name (or under every name matching a template). Resolves to false when nothing matched. */
  async remove(selector: TupleSelector): Promise<boolean> {
    const [name, tmpl] = splitSelector(selector);
    const rc = await this.rt.nonWaiting(this.rt.lib.abi.dbrRemove, this.nativeHandle, null, name, tmpl);
    if (rc === ErrorCode.DBR_ERR_UNAVAIL) return false;
    this.rt.checkNonWaiting(rc, `remove ${describe(selector)} from "${this.name}"`);
    return true;
  }

  /** Tuple names matching a glob, at most `limit` of them (default: all). */
  async list(pattern = '*', options: { limit?: number } = {}): Promise<string[]> {
    checkPattern(pattern, 'Name pattern');
    const limit = options.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) throw new DbrError(ErrorCode.DBR_ERR_INVALID, `limit must be a non-negative integer, got ${limit} (DBR_ERR_INVALID).`);
    const h = this.nativeHandle;
    const retSize = new BigInt64Array(1);
    for (let size = 64 * 1024; ; size *= 4) {
      const buf = Buffer.allocUnsafe(size);
      const rc = await this.rt.nonWaiting(this.rt.lib.abi.dbrDirectory, h, pattern, null, limit, buf, size, retSize);
      if (rc === ErrorCode.DBR_ERR_UBUFFER && size < 1 << 30) continue;
      if (rc === ErrorCode.DBR_ERR_UNAVAIL) return [];
      this.rt.checkNonWaiting(rc, `list "${pattern}" in "${this.name}"`);
      return splitNames(buf, Number(retSize[0]));
    }
  }

  /**
   * Walks the tuple names matching a glob, without loading them all: up to KEYS_BATCH names per native call
   * (on Redis each call is a pool hop, so one per name would cost ~30 µs a name).
   */
  async *keys(pattern = '*'): AsyncGenerator<string, void, undefined> {
    checkPattern(pattern, 'Name pattern');
    const h = this.nativeHandle;
    const ext = this.rt.lib.ext;
    if (ext !== undefined) {
      const it = new BigUint64Array(1); // DBR_ITERATOR_NEW; then the iterator the library hands back
      const buf = Buffer.allocUnsafe(KEYS_BUFFER);
      const count = new Uint32Array(1);
      try {
        do {
          const rc = await this.rt.nonWaiting(ext.dbrxIteratorNextMany, h, it, pattern, KEYS_BATCH, buf, buf.length, count);
          this.rt.checkNonWaiting(rc, () => `keys "${pattern}" in "${this.name}"`);
          if (count[0] === 0) continue;
          const names = buf.toString('utf8', 0, buf.indexOf(0)).split('\n');
          names.pop(); // after the last '\n'
          yield* names;
        } while (it[0] !== 0n);
      } finally {
        const unfinished = it[0] ?? 0n;
        if (unfinished !== 0n) ext.dbrxIteratorFree(unfinished);
      }
      return;
    }
    const out = Buffer.alloc(NAME_BYTES);
    const { dbrIterator } = this.rt.lib.abi;
    let it = await this.rt.nonWaiting(dbrIterator, h, null, null, pattern, out);
    try {
      while (it !== null) {
        yield out.toString('utf8', 0, out.indexOf(0));
        it = await this.rt.nonWaiting(dbrIterator, h, it, null, pattern, out);
      }
    } finally {
      if (it !== null) this.rt.lib.ext?.dbrxIteratorFree(it);
    }
  }

  /** Counts of names, values and bytes, and who is attached. */
  async query(): Promise<NamespaceInfo> {
    const ext = this.rt.lib.ext;
    if (ext === undefined) {
      const state = new Uint32Array(1);
      this.rt.check(this.rt.lib.abi.dbrQuery(this.nativeHandle, state, 0xffffffffffffffffn), `query "${this.name}"`);
      return { name: this.name, names: -1, values: -1, bytes: -1, attached: state[0] ?? 0, deletePending: false };
    }
    const st = new BigInt64Array(5);
    this.rt.checkNonWaiting(await this.rt.nonWaiting(ext.dbrxStat, this.nativeHandle, st), `query "${this.name}"`);
    return {
      name: this.name,
      names: Number(st[0]),
      values: Number(st[1]),
      bytes: Number(st[2]),
      attached: Number(st[3]),
      deletePending: st[4] === 1n,
    };
  }

  /** A typed view of one tuple name whose values are validated by a zod schema. */
  channel<S extends ZodType>(name: string, schema: S, options: ChannelOptions = {}): Channel<S> {
    return new Channel(this, checkName(name, 'Channel name'), schema, options);
  }

  /** Detaches. Safe to call twice. Pending requests of this namespace are not affected. */
  async close(): Promise<void> {
    if (this.handle === null) return;
    const h = this.handle;
    this.handle = null;
    this.onClose?.(this);
    this.rt.check(this.rt.lib.abi.dbrDetach(h), `detach from "${this.name}"`);
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * read/get; with `absentIsUndefined`, "nothing there" resolves to undefined instead of building an error.
   * Not async: the common case (an async request) settles the caller's promise straight from the completion
   * queue, one promise per call.
   */
  private take<T>(op: 'get' | 'read', selector: TupleSelector, index: number, options: TakeOptions<T>, absentIsUndefined: boolean): Promise<T | undefined> {
    try {
      const flags = readIndexFlags(index, 'read index');
      const [name, tmpl] = splitSelector(selector);
      const timeoutMs = this.timeoutOf(options.timeout);
      const h = this.nativeHandle;
      const ext = this.rt.lib.ext;
      const req = new TakeRequest<T>(this.rt, this.name, op, selector, options.codec, absentIsUndefined);
      if (options.signal?.aborted) throw abortReason(options.signal, req.description);
      if (ext === undefined) {
        const fn = op === 'get' ? this.rt.lib.abi.dbrGet : this.rt.lib.abi.dbrRead;
        return blockingTake(fn, h, name, tmpl, timeoutMs === 0 ? flags | Flags.DBR_FLAGS_NOWAIT : flags).then(([value, rc]) => req.settle(rc, value, undefined));
      }
      if (this.rt.inProcess) {
        const syncFn = op === 'get' ? ext.dbrxGet : ext.dbrxRead;
        const now = this.syncTake(() => req.description, (buf, size) => syncFn(h, buf, size, name, tmpl, flags | Flags.DBR_FLAGS_NOWAIT, 0));
        if (now !== undefined) return Promise.resolve(decode(now, options.codec));
        if (timeoutMs === 0) return Promise.resolve(req.settle(ErrorCode.DBR_ERR_UNAVAIL, undefined, undefined));
      }
      const asyncFn = op === 'get' ? ext.dbrxGetAsync : ext.dbrxReadAsync;
      const waitFlags = timeoutMs === 0 ? flags | Flags.DBR_FLAGS_NOWAIT : flags;
      const tag = asyncFn(this.rt.submitQueue().handle, h, name, tmpl, waitFlags, nativeTimeout(timeoutMs));
      return this.rt.expectUnless(tag, req, options.signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** One non-waiting attempt into the scratch buffer (then an exact one for large values); undefined if empty. */
  private syncTake(what: Describe, call: (buf: Buffer, size: Uint32Array) => number): Buffer | undefined {
    const { scratch, size } = this.rt;
    size.set(scratch.length);
    let rc = call(scratch, size.words);
    if (rc === ErrorCode.DBR_SUCCESS) {
      const len = size.get();
      const out = Buffer.allocUnsafe(len);
      scratch.copy(out, 0, 0, len);
      return out;
    }
    if (rc === ErrorCode.DBR_ERR_UBUFFER) {
      const exact = Buffer.allocUnsafe(size.get());
      rc = call(exact, size.words);
      if (rc === ErrorCode.DBR_SUCCESS) return exact.subarray(0, size.get());
      // A racing consumer may have swapped in a larger value: the async path below handles any size.
      if (rc === ErrorCode.DBR_ERR_UBUFFER || rc === ErrorCode.DBR_ERR_UNAVAIL) return undefined;
    }
    if (rc === ErrorCode.DBR_ERR_UNAVAIL) return undefined;
    throw this.rt.error(rc, what);
  }

  private async completion(tag: number, what: Describe): Promise<Buffer> {
    const c = await this.rt.wait(tag, what);
    this.rt.check(c.status, what, c.detail);
    return c.value ?? Buffer.alloc(0);
  }

  private timeoutOf(timeout: Duration | undefined): number {
    return timeout === undefined ? this.defaultTimeoutMs : parseDuration(timeout, 'timeout');
  }

  private requireExt(what: string) {
    const ext = this.rt.lib.ext;
    if (ext === undefined) throw new DbrError(ErrorCode.DBR_ERR_NOTIMPL, `${what} needs libdbr's extensions; ${this.rt.lib.path} is a plain Data Broker library (DBR_ERR_NOTIMPL).`);
    return ext;
  }
}

function checkList(names: readonly string[], what: string, max: number): void {
  if (!Array.isArray(names) || names.length === 0 || names.length > max) {
    throw new DbrError(ErrorCode.DBR_ERR_INVALID, `moveMany needs 1 to ${max} ${what} names, got ${Array.isArray(names) ? names.length : typeof names} (DBR_ERR_INVALID).`);
  }
  for (const n of names) if (!isPlainName(n)) checkName(n, `A ${what} name`);
}

function nativeTimeout(ms: number): number {
  return ms === Infinity ? DBRX_TIMEOUT_INFINITE : Math.ceil(ms);
}

/** Splits dbrDirectory output ("a\nb\n...\0") into names. */
export function splitNames(buf: Buffer, retSize: number): string[] {
  let end = Math.max(0, Math.min(retSize, buf.length));
  const nul = buf.indexOf(0);
  if (nul >= 0 && nul < end) end = nul;
  if (end === 0) return [];
  return buf.toString('utf8', 0, end).split('\n').filter((s) => s.length > 0);
}
