/**
 * Delivers completions of native requests to promises without blocking the event loop and without libuv
 * pool threads: libdbr writes a byte to a pipe when its completion queue becomes non-empty, a net.Socket
 * watches the pipe, and each wake-up drains every completed tag and collects its result.
 * @module
 */
import net from 'node:net';
import { ErrorCode } from './constants.js';
import { DbrError } from './errors.js';
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

interface Pending {
  resolve: (c: Completion) => void;
  keepAlive: unknown;
}

const DRAIN_BATCH = 256;
const SCRATCH_BYTES = 64 * 1024;
/** DBRX_TAKE_LATER of libdbr_ext.h. */
const TAKE_LATER = -2;

/** One completion queue per JS realm (main thread or worker_thread). */
export class CompletionQueue {
  readonly handle: NativePointer;
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private readonly tags = new BigInt64Array(DRAIN_BATCH);
  private readonly statuses = new Int32Array(DRAIN_BATCH);
  private readonly sizes = new Int32Array(DRAIN_BATCH);
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private readonly size = new Int64Cell();
  private closed = false;
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
    this.socket = new net.Socket({ fd, readable: true, writable: false });
    this.socket.on('data', () => this.drain());
    this.socket.on('error', () => {
      /* the pipe only closes when the queue does */
    });
    this.socket.unref();
  }

  /**
   * Call before submitting a request: the requests of one event-loop turn are held natively and start
   * together when the turn's microtasks run, so a backend with an I/O thread sends them in one write.
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
    return new Promise((resolve) => {
      if (this.pending.size === 0) this.socket.ref();
      this.pending.set(tag, { resolve, keepAlive });
    });
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
      let off = 0;
      for (let i = 0; i < n; i++) {
        const tag = Number(this.tags[i]);
        const size = this.sizes[i] as number;
        let value: Buffer | undefined;
        if (size >= 0) {
          value = Buffer.allocUnsafe(size);
          this.scratch.copy(value, 0, off, off + size);
          off += size;
        }
        const entry = this.pending.get(tag);
        if (size === TAKE_LATER) this.takeAlone(tag, entry);
        else if (entry !== undefined) {
          this.forget(tag);
          const status = this.statuses[i] as number;
          entry.resolve(status === ErrorCode.DBR_SUCCESS && value !== undefined ? { status, value } : { status });
        }
      }
      if (n < DRAIN_BATCH) return;
    }
  }

  /**
   * A tag collected on its own: its value was too large for the scratch buffer (taken at its exact size), or
   * it failed with an explanation, which dbrxTake hands to dbrxLastError.
   */
  private takeAlone(tag: number, entry: Pending | undefined): void {
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
    if (status === ErrorCode.DBR_SUCCESS && value !== undefined) entry.resolve({ status, value });
    else entry.resolve(detail ? { status, detail } : { status });
  }

  private forget(tag: number): void {
    this.pending.delete(tag);
    if (this.pending.size === 0 && !this.closed) this.socket.unref();
  }

  /** Cancels everything in flight and releases the native queue. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, entry] of this.pending) entry.resolve({ status: ErrorCode.DBR_ERR_CANCELLED });
    this.pending.clear();
    this.socket.destroy();
    this.ext.dbrxQueueClose(this.handle);
  }
}
