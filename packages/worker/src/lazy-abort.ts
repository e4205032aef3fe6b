/**
 * An AbortController made only when someone asks for its signal: most tasks finish without anybody looking at
 * ctx.signal, and an AbortController (with its EventTarget) costs more than a no-op task.
 * @module
 */

/** Abort state of one execution; the real AbortSignal exists once `signal` is read. */
export class LazyAbort {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;
  /** Rejects the promise race() returned, on abort. */
  private rejectRace: ((reason: unknown) => void) | undefined;

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

  /**
   * Settles with `p`, or rejects with the reason as soon as abort() is called: what waiting on `signal` would
   * do, without making the signal (an AbortController and its listeners were an eighth of a no-op task's
   * time). One race at a time.
   */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.abortedWith !== undefined) return Promise.reject(this.abortedWith.reason);
    return new Promise<T>((resolve, reject) => {
      this.rejectRace = reject;
      p.then(
        (v) => {
          this.rejectRace = undefined;
          resolve(v);
        },
        (e: unknown) => {
          this.rejectRace = undefined;
          reject(e);
        },
      );
    });
  }

  /** Aborts once; later calls are ignored. */
  abort(reason: unknown): void {
    if (this.abortedWith !== undefined) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
    const reject = this.rejectRace;
    this.rejectRace = undefined;
    reject?.(reason);
  }
}
