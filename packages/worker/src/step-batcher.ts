/**
 * Coalesces the popPutMany steps of one event-loop turn (task finishes, cancel-marker checks, expiry entries)
 * into one request, so a worker pays one round trip per turn instead of one per task. Lines appended to one
 * name in a turn become one value ('\n'-separated), e.g. the expiry entries of every result of the turn.
 * @module
 */
import type { Namespace, PopPutStep, StepOutcome } from '@tsdbr/core';

/** Most steps sent in one request. */
const MAX_STEPS = 1024;

interface Pending {
  from: number;
  count: number;
  resolve: (done: StepOutcome[]) => void;
  reject: (err: unknown) => void;
}

/** Batches steps per turn; each caller gets the results of its own steps. */
export class StepBatcher {
  private steps: PopPutStep<Uint8Array>[] = [];
  private lines = new Map<string, string[]>();
  private pending: Pending[] = [];
  private flushed: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly ns: Namespace) {}

  /**
   * Queues steps (and lines: [name, line]) for this turn's request; resolves with the steps' results (see
   * Namespace.popPutMany) once the request that carried them and the lines is done.
   */
  run(steps: PopPutStep<Uint8Array>[], lines: [string, string][] = []): Promise<StepOutcome[]> {
    if (steps.length === 0 && lines.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ from: this.steps.length, count: steps.length, resolve, reject });
      for (const s of steps) this.steps.push(s);
      for (const [name, line] of lines) {
        const list = this.lines.get(name);
        if (list === undefined) this.lines.set(name, [line]);
        else list.push(line);
      }
      if (this.steps.length >= MAX_STEPS) this.flush();
      else this.schedule();
    });
  }

  /**
   * Resolves right after the next flush has sent its request (scheduling one if none is due): a caller whose
   * own request must not go out first, like the claim that follows a claimed task's finish, waits for this.
   * A setImmediate of its own would not do: it runs before flushes scheduled after it in the same turn.
   */
  afterNextFlush(): Promise<void> {
    return new Promise((resolve) => this.onNextFlush(resolve));
  }

  /** Calls `fn` (synchronously, in the flush) right after the next flush has sent its request. */
  onNextFlush(fn: () => void): void {
    this.flushed.push(fn);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // after this turn's microtasks: every task finished by one batch of completions joins one request
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.send();
    const flushed = this.flushed;
    this.flushed = [];
    for (const resolve of flushed) resolve();
  }

  private send(): void {
    if (this.pending.length === 0) return;
    const steps = this.steps;
    const pending = this.pending;
    for (const [name, lines] of this.lines) steps.push({ put: name, value: Buffer.from(lines.join('\n'), 'utf8') });
    this.steps = [];
    this.lines = new Map();
    this.pending = [];
    this.ns.popPutMany(steps).then(
      (done) => {
        for (const p of pending) p.resolve(done.slice(p.from, p.from + p.count));
      },
      (err: unknown) => {
        for (const p of pending) p.reject(err);
      },
    );
  }
}
