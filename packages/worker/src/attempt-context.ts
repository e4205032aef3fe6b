/**
 * The `ctx` an attempt's run() gets.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { type ExecOptions, type ExecResult, execProgram } from './exec.js';
import type { Execution } from './execution.js';
import type { LazyAbort } from './lazy-abort.js';
import type { Progress, TaskContext } from './task.js';

/** The worker's record of the running task that a context reports to and reads. */
type AttemptRecord = Pick<Execution, 'progress' | 'cancelChecked' | 'cancelCheckWaiters'>;

/**
 * One attempt's context. A class rather than an object literal: V8 builds a literal with getters in the
 * runtime, one property at a time, which cost a no-op task about 2 us, a fifth of the worker's CPU per task.
 * The signal and the logger are made on first use: most tasks never look at them.
 */
export class AttemptContext implements TaskContext {
  // private (#) so that a task logging its ctx sees the task, not the worker's bookkeeping
  #logger: Logger | undefined;
  readonly #abort: LazyAbort;
  readonly #parentLog: Logger;
  readonly #record: AttemptRecord;

  constructor(
    readonly id: string,
    readonly task: string,
    readonly queue: string,
    readonly attempt: number,
    readonly maxAttempts: number,
    readonly ns: Namespace,
    abort: LazyAbort,
    parentLog: Logger,
    /** Where progress() reports go (read by the worker's heartbeat), and whether a cancel may still be unseen. */
    record: AttemptRecord,
  ) {
    this.#abort = abort;
    this.#parentLog = parentLog;
    this.#record = record;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get log(): Logger {
    return (this.#logger ??= this.#parentLog.child({ taskId: this.id, task: this.task, attempt: this.attempt }));
  }

  progress(value: Progress): void {
    this.#record.progress = checkedProgress(value);
  }

  /**
   * Starts no program before the worker's look for a cancel marker (made right after the claim, one round trip)
   * came back: a task cancelled while queued is aborted instead, so its program never runs.
   */
  async exec(command: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const signal = this.#abort.signal;
    const record = this.#record;
    if (!record.cancelChecked && !signal.aborted) {
      await new Promise<void>((wake) => {
        (record.cancelCheckWaiters ??= []).push(wake);
        signal.addEventListener('abort', () => wake(), { once: true });
      });
    }
    return execProgram(command, args, options, this.log, signal);
  }
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A progress report the heartbeat can carry (it is written as JSON): a finite number, or { done, total,
 * message? } with finite numbers. Anything else throws here, in the task, rather than later in the heartbeat,
 * whose failure would stop the lease and let other workers take the running task.
 */
function checkedProgress(value: unknown): Progress {
  if (isCount(value)) return value;
  if (typeof value === 'object' && value !== null) {
    const { done, total, message } = value as Record<string, unknown>;
    if (isCount(done) && isCount(total) && (message === undefined || typeof message === 'string')) {
      return message === undefined ? { done, total } : { done, total, message };
    }
  }
  throw new TypeError(`ctx.progress() takes a finite number or { done, total, message? } with finite numbers and a string message; got ${describeValue(value)}.`);
}

function describeValue(value: unknown): string {
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint' ? `${value}n (a BigInt: pass Number(x))` : String(value);
  const fields = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${typeof v}`);
  return `{ ${fields.join(', ')} }`;
}
