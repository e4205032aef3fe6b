/**
 * The per-realm runtime shared by the idiomatic API and the PyDBR table: the loaded library, the backend
 * it serves, and (on libdbr) the completion queue that turns native requests into promises.
 * @internal
 * @module
 */
import { CompletionQueue, type Completion, type PendingRequest } from './completion-queue.js';
import { Int64Cell } from './int64-cell.js';
import { DBR_MAX_KEY_LEN, DBR_MAX_READ_INDEX, ErrorCode, Flags, FLAGS_INDEX_SHIFT } from './constants.js';
import { ConfigError, DbrError } from './errors.js';
import { type DataBrokerAbi, type Fn, loadLibrary, type NativeLibrary, type NativePointer } from './ffi.js';
import type { TupleSelector } from './namespace-types.js';
import { backendKindOf, type CompiledBrokerOptions } from './options.js';

/** The backend behind a runtime. `foreign` is a Data Broker library without libdbr's extensions. */
export type BackendKind = 'mem' | 'redis' | 'redis-cluster' | 'foreign';

/** Names a call in error messages: a string, or a function that builds it only when needed. */
export type Describe = string | (() => string);

/** Native state of one JS realm. */
export class Runtime {
  readonly lib: NativeLibrary;
  readonly backend: BackendKind;
  /** Reused buffer for small synchronous results. */
  readonly scratch = Buffer.allocUnsafe(64 * 1024);
  readonly size = new Int64Cell();
  private queueInstance: CompletionQueue | undefined;

  constructor(lib: NativeLibrary, backend: BackendKind) {
    this.lib = lib;
    this.backend = backend;
  }

  /** True when data calls are in-process and never wait on I/O, so they may run synchronously. */
  get inProcess(): boolean {
    return this.backend === 'mem';
  }

  /**
   * The completion queue (libdbr only), opened on first use, corked for this event-loop turn: the caller is
   * about to submit a request on it.
   */
  submitQueue(): CompletionQueue {
    const q = this.queue;
    q.cork();
    return q;
  }

  /** The completion queue (libdbr only), opened on first use. */
  get queue(): CompletionQueue {
    const ext = this.lib.ext;
    if (ext === undefined) throw new DbrError(ErrorCode.DBR_ERR_NOTIMPL, 'This library has no completion queues (not libdbr).');
    this.queueInstance ??= new CompletionQueue(ext, (tag) => this.lib.abi.dbrCancel(tag));
    return this.queueInstance;
  }

  /**
   * An error for a failed call, with the library's own explanation when it has one. `what` names the call;
   * hot paths pass a function so the description is only built on failure.
   */
  error(code: number, what: Describe, detail?: string): DbrError {
    const ext = this.lib.ext;
    detail ??= ext !== undefined && ext.dbrxLastErrorCode() === code ? ext.dbrxLastError() : undefined;
    return DbrError.fromCode(code, typeof what === 'string' ? what : what(), detail);
  }

  /** Throws unless code is DBR_SUCCESS. `detail`: the explanation a completion carried, if any. */
  check(code: number, what: Describe, detail?: string): void {
    if (code !== ErrorCode.DBR_SUCCESS) throw this.error(code, what, detail);
  }

  /**
   * Runs a native call that does not wait for values: directly on the embedded backend, on koffi's worker
   * threads when the backend does network I/O (so a slow or dead server never stalls the event loop). The
   * library's error detail is per thread, so errors of pool calls carry the generic description.
   */
  async nonWaiting<A extends unknown[], R>(fn: Fn<A, R>, ...args: A): Promise<R> {
    if (this.inProcess) return fn(...args);
    return onPool<R>((done) => fn.async(...args, done));
  }

  /** check() for a result of nonWaiting(). */
  checkNonWaiting(code: number, what: Describe): void {
    if (code === ErrorCode.DBR_SUCCESS) return;
    if (this.inProcess) throw this.error(code, what);
    throw DbrError.fromCode(code, typeof what === 'string' ? what : what());
  }

  /**
   * wait() without a signal, settling the promise through `request` straight from the drain (the hot path).
   * The request names the call, read only if the submit failed.
   */
  expect<T>(tag: number, request: PendingRequest<T>): Promise<T> {
    this.checkSubmitted(tag, () => request.description);
    return this.queue.expect(tag, request);
  }

  /**
   * expect() with an optional signal: an abort withdraws the native request and rejects with the signal's
   * reason.
   *
   * An abort that comes too late to withdraw (the request completed, or its pop is on the wire) does not
   * reject when the request brings a value: the promise resolves with it. Rejecting would drop a value that
   * has left the tuple space, and giving it back (libdbr used to) leaves it in nobody's hands for a round
   * trip, so other clients could see its name empty. Without a value, the abort rejects as usual.
   */
  expectUnless<T>(tag: number, request: PendingRequest<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) return this.expect(tag, request);
    this.checkSubmitted(tag, () => request.description);
    const queue = this.queue;
    const promise = queue.expect(tag, request);
    request.abortOn(signal, queue, tag);
    return promise;
  }

  /** Waits for a tag from the completion queue. */
  wait(tag: number, what: Describe, keepAlive?: unknown): Promise<Completion> {
    this.checkSubmitted(tag, what);
    return this.queue.track(tag, keepAlive);
  }

  /** A negative tag: the request was refused at submit, with the reason recorded by the library. */
  private checkSubmitted(tag: number, what: Describe): void {
    if (tag < 0) throw this.error(this.lib.ext?.dbrxLastErrorCode() || ErrorCode.DBR_ERR_BE_POST, what);
  }

  /** Closes the completion queue, cancelling requests in flight. */
  close(): void {
    this.queueInstance?.close();
    this.queueInstance = undefined;
  }
}

let current: Runtime | undefined;
let currentServer: string | undefined;

/**
 * The runtime of this realm, created on first use. libdbr serves one backend per process, chosen from
 * DBR_SERVER when it first connects; options set it if nothing connected yet.
 */
export function runtime(options?: CompiledBrokerOptions): Runtime {
  if (current !== undefined) {
    if (options !== undefined && backendKindOf(options.server) !== backendKindOf(currentServer) && current.backend !== 'foreign') {
      throw new ConfigError(
        `This process already uses the ${current.backend} backend (${currentServer ?? 'embedded'}); libdbr serves one backend per process. Use one server per process, or start a worker process for the other.`,
      );
    }
    return current;
  }
  if (options?.server !== undefined) process.env.DBR_SERVER = options.server;
  if (options?.authFile !== undefined) process.env.DBR_AUTHFILE = options.authFile;
  const lib = loadLibrary(options?.library);
  let backend: BackendKind = 'foreign';
  if (lib.ext !== undefined) {
    const name = lib.ext.dbrxBackend();
    if (name === 'error') throw DbrError.fromCode(lib.ext.dbrxLastErrorCode() || ErrorCode.DBR_ERR_NOCONNECT, 'Connecting to the Data Broker', lib.ext.dbrxLastError());
    backend = name as BackendKind;
  }
  current = new Runtime(lib, backend);
  currentServer = options?.server ?? process.env.DBR_SERVER;
  return current;
}

/** At most this many native calls wait on koffi's worker threads at once (koffi refuses more than 256). */
const POOL_LIMIT = 64;
let poolActive = 0;
const poolWaiting: (() => void)[] = [];

/**
 * Runs a koffi `.async` call, queueing it while POOL_LIMIT calls are already running. For calls that may
 * block or do I/O where libdbr offers no completion-queue variant.
 */
export async function onPool<R>(start: (done: (err: unknown, result: R) => void) => void): Promise<R> {
  if (poolActive >= POOL_LIMIT) await new Promise<void>((resolve) => poolWaiting.push(resolve));
  poolActive++;
  try {
    return await new Promise<R>((resolve, reject) => start((err, result) => (err ? reject(err) : resolve(result))));
  } finally {
    poolActive--;
    poolWaiting.shift()?.();
  }
}

/**
 * A blocking dbrGet/dbrRead of the plain ABI, run on a libuv pool thread so the event loop stays free. When
 * `capacity` is undefined it starts at 64 KiB and retries with the size the library reports (the value stays
 * in place meanwhile). Returns the value, the status and the size the library reported (the value's size on
 * DBR_SUCCESS and DBR_ERR_UBUFFER). The value is empty on other statuses, and on DBR_ERR_UBUFFER holds the
 * first `capacity` bytes with DBR_FLAGS_PARTIAL (the library fills them), none without.
 */
export async function blockingTake(
  fn: DataBrokerAbi['dbrGet'],
  h: NativePointer,
  name: string | null,
  tmpl: string | null,
  flags: number,
  capacity?: number,
): Promise<[Buffer, number, number]> {
  for (let cap = capacity ?? 64 * 1024; ; ) {
    const buf = Buffer.allocUnsafe(cap);
    const size = new BigInt64Array([BigInt(cap)]);
    const rc = await onPool<number>((done) => fn.async(h, buf, size, name, tmpl, null, flags, done));
    const needed = Number(size[0]);
    if (rc === ErrorCode.DBR_ERR_UBUFFER && capacity === undefined && needed > cap) {
      cap = needed;
      continue;
    }
    if (rc === ErrorCode.DBR_SUCCESS) return [buf.subarray(0, needed), rc, needed];
    if (rc === ErrorCode.DBR_ERR_UBUFFER) return [(flags & Flags.DBR_FLAGS_PARTIAL) !== 0 ? buf.subarray(0, Math.min(cap, needed)) : Buffer.alloc(0), rc, needed];
    return [Buffer.alloc(0), rc, 0];
  }
}

const encoder = new TextEncoder();

/** Validates a tuple or namespace name the way libdbr does, with a clearer message. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} must be a string, got ${name === null ? 'null' : typeof name} (DBR_ERR_INVALID).`);
  if (name.length === 0) throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} is empty (DBR_ERR_INVALID).`);
  if (name.includes('\0') || name.includes('\n')) {
    throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} ${JSON.stringify(name.slice(0, 60))} contains a NUL or newline, which the Data Broker cannot store (DBR_ERR_INVALID).`);
  }
  const bytes = name.length > DBR_MAX_KEY_LEN / 3 ? encoder.encode(name).length : name.length;
  if (bytes > DBR_MAX_KEY_LEN) {
    throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} is ${encoder.encode(name).length} bytes; the limit is ${DBR_MAX_KEY_LEN} (DBR_ERR_INVALID).`);
  }
  return name;
}

/** Checks a glob pattern (list, keys, namespaces): a string the library can take; '' matches nothing. */
export function checkPattern(pattern: unknown, what: string): string {
  if (typeof pattern !== 'string') throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} must be a glob string, got ${pattern === null ? 'null' : typeof pattern} (DBR_ERR_INVALID).`);
  return pattern.length === 0 ? pattern : checkName(pattern, what);
}

/** The flags bits of a read index, checked to fit them: a larger index would wrap to another value's. */
export function readIndexFlags(index: unknown, what: string): number {
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > DBR_MAX_READ_INDEX) {
    throw new DbrError(ErrorCode.DBR_ERR_INVALID, `${what} must be an integer from 0 to ${DBR_MAX_READ_INDEX} (the most the flags word holds), got ${String(index)} (DBR_ERR_INVALID).`);
  }
  return index << FLAGS_INDEX_SHIFT;
}

/** A selector's name and template for the library, each checked as a name (a NUL would cut it short in C). */
export function splitSelector(selector: TupleSelector): [string | null, string | null] {
  if (typeof selector === 'string') return [checkName(selector, 'Tuple name'), null];
  if (typeof selector?.template !== 'string' || selector.template.length === 0) {
    throw new DbrError(ErrorCode.DBR_ERR_INVALID, 'Pass a tuple name, or { template: "<glob>" } with a non-empty glob (DBR_ERR_INVALID).');
  }
  return [null, checkName(selector.template, 'Template')];
}
