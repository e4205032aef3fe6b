/**
 * An AbortController made only when someone asks for its signal: most tasks finish without anybody looking at
 * ctx.signal, and an AbortController (with its EventTarget) costs more than a no-op task.
 * @module
 */

/** Abort state of one execution; the real AbortSignal exists once `signal` is read. */
export class LazyAbort {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  /** The signal, created on first use (already aborted if abort() came first). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** The reason of the first abort(), if any. */
  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  /** Aborts once; later calls are ignored. */
  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}
