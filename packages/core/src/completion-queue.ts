/**
 * Delivers completions of native requests to promises without blocking the event loop and without libuv
 * pool threads: libdbr writes a byte to a pipe when its completion queue becomes non-empty, a net.Socket
 * watches the pipe, and each wake-up drains every completed tag and collects its result.
 * @module
 */
import net from 'node:net';
import { ChurnMap } from './churn-map.js';
import { ErrorCode } from './constants.js';
import { abortReason, DbrError } from './errors.js';
import type { DbrxExtensions, NativePointer } from './ffi.js';
import { Int64Cell } from './int64-cell.js';

/** The outcome of a native request. */
export interface Completion {
  /** Error code; 0 on success. */
  status: number;
  /** The value, for read/get/move-value requests that succeeded. */
  value?: Buffer;
  /** The library's explanation of a failure (the node, the reason), when it gave one. */
  detail?: string;
}

/**
 * A submitted request awaiting its completion. settle() turns the outcome into its promise's value (a throw
 * rejects the promise) and runs in the drain, so a hot path settles its caller's promise directly: one object
 * and one promise per request, no intermediate Completion and no extra promise hop.
 *
 * A request may carry its caller's AbortSignal (see abortOn): an abort then withdraws the native request if it
 * can and rejects; one that comes too late rejects only if the request brings no value, so a value that left
 * the tuple space is never dropped.
 */
export abstract class PendingRequest<T> {
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  /** Buffers that native code reads until completion. */
  keepAlive: unknown;
  /** The caller's signal, if any. */
  private signal: AbortSignal | undefined;
  /** Where the request waits, to withdraw it on an abort. */
  private queue: CompletionQueue | undefined;
  private tag = 0;
  abstract settle(status: number, value: Buffer | undefined, detail: string | undefined): T;
  /** Names the call in an abort's error. */
  abstract get description(): string;

  finish(status: number, value: Buffer | undefined, detail: string | undefined): void {
    try {
      if (this.signal !== undefined) {
        waitingOn.get(this.signal)?.delete(this.tag);
        if (this.signal.aborted && value === undefined && status !== ErrorCode.DBR_SUCCESS) throw this.aborted();
      }
      this.resolve(this.settle(status, value, detail));
    } catch (e) {
      this.reject(e);
    }
  }

  /** Call once the request is tracked under `tag`: an abort of `signal` withdraws it (at once if it fired). */
  abortOn(signal: AbortSignal, queue: CompletionQueue, tag: number): void {
    this.signal = signal;
    this.queue = queue;
    this.tag = tag;
    if (signal.aborted) this.abort();
    else watch(signal, tag, this as PendingRequest<unknown>);
  }

  /** The signal fired: withdraw, and reject if that worked (else the completion under way settles it). */
  abort(): void {
    if (this.queue === undefined || !this.queue.cancel(this.tag)) return;
    waitingOn.get(this.signal as AbortSignal)?.delete(this.tag);
    this.reject(this.aborted());
  }

  private aborted(): Error {
    return abortReason(this.signal as AbortSignal, this.description);
  }
}

/**
 * The requests waiting on each signal, behind one 'abort' listener per signal. Callers often share one signal
 * among many waits (a client's close, a workflow run's abort): a listener each would pile up on it (Node warns
 * past 10), and removing one from an EventTarget scans all the others.
 */
const waitingOn = new WeakMap<AbortSignal, ChurnMap<number, PendingRequest<unknown>>>();

function watch(signal: AbortSignal, tag: number, request: PendingRequest<unknown>): void {
  let waiting = waitingOn.get(signal);
  if (waiting === undefined) {
    const requests = new ChurnMap<number, PendingRequest<unknown>>();
    waitingOn.set(signal, requests);
    signal.addEventListener(
      'abort',
      () => {
        waitingOn.delete(signal);
        for (const r of [...requests.values()]) r.abort();
      },
      { once: true },
    );
    waiting = requests;
  }
  waiting.set(tag, request);
}

// One shared executor instead of a closure per promise (Promise.withResolvers needs Node 22).
let capturedResolve: ((value: never) => void) | undefined;
let capturedReject: ((reason: unknown) => void) | undefined;
function captureResolvers(resolve: (value: never) => void, reject: (reason: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

class CompletionRequest extends PendingRequest<Completion> {
  constructor(keepAlive: unknown) {
    super();
    this.keepAlive = keepAlive;
  }

  get description(): string {
    return 'request';
  }

  settle(status: number, value: Buffer | undefined, detail: string | undefined): Completion {
    return status === ErrorCode.DBR_SUCCESS && value !== undefined ? { status, value } : detail ? { status, detail } : { status };
  }
}

const DRAIN_BATCH = 256;
const SCRATCH_BYTES = 64 * 1024;
/** Values of one drain up to this many bytes in all are copied out together (Node pools buffers up to 4 KiB). */
const SHARED_COPY_MAX = 4096;
/** DBRX_TAKE_LATER of libdbr_ext.h. */
const TAKE_LATER = -2;

/** One completion queue per JS realm (main thread or worker_thread). */
export class CompletionQueue {
  readonly handle: NativePointer;
  private readonly socket: net.Socket;
  private readonly pending = new ChurnMap<number, PendingRequest<unknown>>();
  private readonly tags = new BigInt64Array(DRAIN_BATCH);
  /** The tags' 32-bit halves (little-endian): reading a BigInt64Array element allocates a BigInt. */
  private readonly tagWords = new Uint32Array(this.tags.buffer);
  private readonly statuses = new Int32Array(DRAIN_BATCH);
  private readonly sizes = new Int32Array(DRAIN_BATCH);
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private readonly size = new Int64Cell();
  private closed = false;
  private readonly onWake = (): boolean => {
    this.drain();
    return true;
  };
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    if (!this.closed) this.ext.dbrxQueueCork(this.handle, 0);
  };

  constructor(
    private readonly ext: DbrxExtensions,
    private readonly cancelNative: (tag: number) => number,
  ) {
    const handle = ext.dbrxQueueOpen();
    if (handle === null) throw DbrError.fromCode(ext.dbrxLastErrorCode() || ErrorCode.DBR_ERR_GENERIC, 'Opening a completion queue', ext.dbrxLastError());
    this.handle = handle;
    const fd = ext.dbrxQueueFd(handle);
    // onread: wake-up bytes land in one reused buffer and reach the callback directly, without a Buffer per
    // read or the stream machinery of 'data' events (a wake-up is on the path of every request).
    this.socket = new net.Socket({ fd, readable: true, writable: false, onread: { buffer: Buffer.allocUnsafe(64), callback: this.onWake } } as net.SocketConstructorOpts);
    this.socket.on('error', () => {
      /* the pipe only closes when the queue does */
    });
    this.socket.unref();
  }

  /**
   * Call before submitting a request: the requests of one event-loop turn are held natively and start
   * together when the turn's microtasks run (or 16 at a time in a long turn), so a backend with an I/O thread
   * sends them in few writes.
   */
  cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.ext.dbrxQueueCork(this.handle, 1);
    queueMicrotask(this.uncork);
  }

  /**
   * Registers a submitted request. `keepAlive` holds buffers that native code reads until completion.
   * Resolves with the outcome; never rejects.
   */
  track(tag: number, keepAlive?: unknown): Promise<Completion> {
    return this.expect(tag, new CompletionRequest(keepAlive));
  }

  /** Like track(), settling the promise through the request's own settle(). */
  expect<T>(tag: number, request: PendingRequest<T>): Promise<T> {
    const promise = new Promise<T>(captureResolvers);
    request.resolve = capturedResolve as (value: T) => void;
    request.reject = capturedReject as (reason: unknown) => void;
    if (this.pending.size === 0) this.socket.ref();
    this.pending.set(tag, request as PendingRequest<unknown>);
    return promise;
  }

  /**
   * Withdraws a pending request. Returns true if it was cancelled before completing (its promise then never
   * settles, so the caller settles it); false if it completed already or its completion is under way (a
   * get whose pop was on the wire): its promise then still resolves, with the value if the pop got one, or
   * with DBR_ERR_CANCELLED.
   */
  cancel(tag: number): boolean {
    if (!this.pending.has(tag)) return false;
    if (this.cancelNative(tag) !== ErrorCode.DBR_SUCCESS) return false;
    this.forget(tag);
    return true;
  }

  /** Number of requests in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Collects every completed request, a wake-up's worth per native call (values come back packed in the
   * scratch buffer). Runs on each pipe wake-up; safe to call at any time.
   */
  drain(): void {
    for (;;) {
      const n = this.ext.dbrxQueueDrainTake(this.handle, this.tags, this.statuses, this.sizes, this.scratch, SCRATCH_BYTES, DRAIN_BATCH);
      const slab = this.copyValues(n);
      let off = 0;
      for (let i = 0; i < n; i++) {
        const tag = (this.tagWords[2 * i] as number) + (this.tagWords[2 * i + 1] as number) * 4294967296;
        const size = this.sizes[i] as number;
        let value: Buffer | undefined;
        if (size >= 0) {
          if (slab !== undefined) value = slab.subarray(off, off + size);
          else {
            value = Buffer.allocUnsafe(size);
            this.scratch.copy(value, 0, off, off + size);
          }
          off += size;
        }
        const entry = this.pending.get(tag);
        if (size === TAKE_LATER) this.takeAlone(tag, entry);
        else if (entry !== undefined) {
          this.forget(tag);
          entry.finish(this.statuses[i] as number, value, undefined);
        }
      }
      if (n < DRAIN_BATCH) return;
    }
  }

  /**
   * Small values of one drain share one copy out of the scratch buffer (each value a view of it), as Node's
   * own buffer pool shares a slab between small buffers; undefined when they are too large for that.
   */
  private copyValues(n: number): Buffer | undefined {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const size = this.sizes[i] as number;
      if (size > 0) total += size;
    }
    if (total === 0 || total > SHARED_COPY_MAX) return undefined;
    const slab = Buffer.allocUnsafe(total);
    this.scratch.copy(slab, 0, 0, total);
    return slab;
  }

  /**
   * A tag collected on its own: its value was too large for the scratch buffer (taken at its exact size), or
   * it failed with an explanation, which dbrxTake hands to dbrxLastError.
   */
  private takeAlone(tag: number, entry: PendingRequest<unknown> | undefined): void {
    this.size.set(this.scratch.length);
    let status = this.ext.dbrxTake(tag, this.scratch, this.size.words);
    let value: Buffer | undefined;
    if (status === ErrorCode.DBR_SUCCESS) value = Buffer.from(this.scratch.subarray(0, this.size.get()));
    else if (status === ErrorCode.DBR_ERR_UBUFFER) {
      value = Buffer.allocUnsafe(this.size.get());
      status = this.ext.dbrxTake(tag, value, this.size.words);
    }
    const detail = status !== ErrorCode.DBR_SUCCESS && this.ext.dbrxLastErrorCode() === status ? this.ext.dbrxLastError() : undefined;
    if (entry === undefined) return; // released natively all the same
    this.forget(tag);
    entry.finish(status, status === ErrorCode.DBR_SUCCESS ? value : undefined, detail);
  }

  private forget(tag: number): void {
    this.pending.delete(tag);
    if (this.pending.size === 0 && !this.closed) this.socket.unref();
  }

  /** Cancels everything in flight and releases the native queue. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) entry.finish(ErrorCode.DBR_ERR_CANCELLED, undefined, undefined);
    this.socket.destroy();
    this.ext.dbrxQueueClose(this.handle);
  }
}
