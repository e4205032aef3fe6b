/**
 * A handle on a submitted task: wait for its result, ask its status, cancel it.
 * @module
 */
import { type Duration, isDbrError, type Namespace, parseDuration } from '@tsdbr/core';
import { classify, encode, type ResultEnvelope } from './envelope.js';
import { ResultExpiredError, ResultNotStoredError, ResultTimeoutError, TaskCancelledError, TaskFailedError } from './errors.js';
import { findRunning } from './inspect.js';
import type { QueueNames } from './protocol.js';
import { expiryEntry } from './outcome.js';
import { optionsObject } from './validate.js';
import type { ZodType } from 'zod';
import { fromWire } from './wire-shape.js';

/**
 * Where a task is. 'running': a worker holds it (running, or claimed ahead to run next, as `dbr tasks inspect`
 * says; a dead worker's claim until it is recovered). 'queued': waiting, being retried, or unknown.
 */
export type TaskState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** What status() reports. */
export interface TaskStatus {
  id: string;
  state: TaskState;
  /** The worker running it (state 'running'). */
  worker?: string;
  /** Its attempt (state 'running', or attempts made when finished). */
  attempt?: number;
  /** Last reported progress (state 'running'). */
  progress?: unknown;
  /** The error, when failed or cancelled. */
  error?: { name: string; message: string };
}

/** Options of result(). */
export interface ResultOptions {
  /** How long to wait (default 'infinite'). Rejects with ResultTimeoutError after it. */
  timeout?: Duration;
  /** Aborting stops waiting (the task keeps running). */
  signal?: AbortSignal;
}

/** How long a cancel marker for a task that already finished lingers before it is dropped. */
const CANCEL_MARKER_TTL_MS = 24 * 3_600_000;

/** A submitted task. `O` is the output type of its task's schema. */
export class TaskHandle<O = unknown> {
  private settled: { ok: true; output: O } | { ok: false; error: Error } | undefined;
  /** The wait in progress: concurrent result() calls join it instead of waiting on a name it will empty. */
  private inflight: Promise<void> | undefined;
  /** status() settled the handle with a read: the first result() still has to consume the stored result. */
  private resultLeftStored = false;

  /** @internal Use TaskClient.submit() or TaskClient.handle(). */
  constructor(
    private readonly ns: Namespace,
    private readonly names: QueueNames,
    /** The task's id. */
    readonly id: string,
    /** Keep the result after reading it (dedup'd and workflow tasks: several readers may wait for it). */
    private readonly keep: boolean,
    /** Submitted with ignoreResult: there will be no result to read. */
    private readonly noResult = false,
    /** Aborts (with ClientClosedError) when the client that made the handle closes. */
    private readonly clientClosed?: AbortSignal,
    /** The task's output schema, when the handle knows the task: its Maps and Sets come back as such. */
    private readonly outputSchema?: ZodType,
  ) {}

  /** The queue the task is in. */
  get queue(): string {
    return this.names.queue;
  }

  /**
   * Waits for the task's result. Resolves with the output; rejects with TaskFailedError (it failed for
   * good), TaskCancelledError, or ResultTimeoutError. The result is consumed (deleted) by the first call,
   * also when status() saw it first, unless the task was submitted with a dedup key; later calls on the same
   * handle return the same outcome.
   */
  async result(options: ResultOptions = {}): Promise<O> {
    const o = optionsObject(options, 'result() options');
    if (this.noResult) throw new ResultNotStoredError(this.id);
    const timeoutMs = parseDuration(o.timeout ?? 'infinite', 'result() timeout');
    const deadline = Date.now() + timeoutMs;
    while (this.settled === undefined) {
      if (this.inflight === undefined) {
        const wait = this.take(Math.max(0, deadline - Date.now()), timeoutMs, o.signal);
        this.inflight = wait;
        try {
          await wait;
        } finally {
          if (this.inflight === wait) this.inflight = undefined;
        }
      } else {
        // the owner of the wait may give up first (its own timeout or signal): then take over with ours
        await this.join(this.inflight, deadline, timeoutMs, o.signal);
      }
    }
    // a result that cannot be removed (the client or its namespace closed meanwhile) expires after resultTtl;
    // the outcome is known, so that is no reason to fail the caller
    if (this.resultLeftStored && !this.clientClosed?.aborted) {
      this.resultLeftStored = false;
      await this.ns.remove(this.names.result(this.id)).catch(() => undefined);
    }
    const s = this.settled;
    if (s.ok) return s.output;
    throw s.error;
  }

  /** Takes (or reads, when kept) the result within `waitMs`, and settles the handle with it. */
  private async take(waitMs: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.clientClosed?.aborted) throw this.clientClosed.reason;
    const closed = this.clientClosed;
    const either = signal === undefined ? closed : closed === undefined ? signal : AbortSignal.any([signal, closed]);
    const name = this.names.result(this.id);
    const timeout = waitMs === Infinity ? ('infinite' as const) : waitMs;
    const take = either === undefined ? { timeout } : { timeout, signal: either };
    let bytes: Buffer;
    try {
      bytes = this.keep ? await this.ns.read(name, take) : await this.ns.get(name, take);
    } catch (err) {
      if (this.clientClosed?.aborted) throw this.clientClosed.reason;
      if (isDbrError(err, 'DBR_ERR_TIMEOUT') || isDbrError(err, 'DBR_ERR_UNAVAIL')) throw new ResultTimeoutError(this.id, timeoutMs);
      throw err;
    }
    this.settle(bytes);
  }

  /** Waits for another call's wait to end, within this call's own deadline and signal. */
  private async join(wait: Promise<void>, deadline: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      if (deadline !== Infinity) timer = setTimeout(() => reject(new ResultTimeoutError(this.id, timeoutMs)), Math.max(0, deadline - Date.now()));
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([wait.catch(() => undefined), giveUp]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Where the task is now. Reads the workers' heartbeats and claim slots to find a running task: not for hot
   * loops. A task submitted with ignoreResult reports 'queued' unless it is running (as Celery's PENDING): its
   * end leaves no trace but a dead letter if it failed.
   */
  async status(): Promise<TaskStatus> {
    await this.lookForResult();
    if (this.settled === undefined) {
      const running = await findRunning(this.ns, this.names, this.id);
      if (running) return { id: this.id, state: 'running', ...running };
      await this.lookForResult(); // it may have finished while we looked
    }
    if (this.settled !== undefined) {
      const s = this.settled;
      if (s.ok) return { id: this.id, state: 'completed' };
      const error = { name: s.error.name, message: s.error.message };
      return s.error instanceof TaskCancelledError ? { id: this.id, state: 'cancelled', error } : { id: this.id, state: 'failed', error, attempt: (s.error as TaskFailedError).attempts };
    }
    return { id: this.id, state: 'queued' };
  }

  /** Settles the handle from the stored result, if there is one (without taking it: result() does). */
  private async lookForResult(): Promise<void> {
    if (this.settled !== undefined) return;
    const bytes = await this.ns.tryRead(this.names.result(this.id));
    if (bytes === undefined || this.settled !== undefined) return; // result() may have taken it meanwhile
    this.settle(bytes);
    this.resultLeftStored = !this.keep;
  }

  /**
   * Asks for the task to be cancelled; result() then rejects with TaskCancelledError. A running task's
   * ctx.signal aborts at once. A queued task is not taken out of the queue: a worker claims it, starts run()
   * as usual and aborts its ctx.signal at once (it looks for cancel markers right after each claim; a task
   * claimed ahead that has not started by then never starts). A task body that ignores ctx.signal keeps
   * running in the background, its output unused. No effect on a task that already finished.
   */
  async cancel(): Promise<void> {
    await cancelTask(this.ns, this.names, this.id);
  }

  private settle(bytes: Buffer): void {
    const stored = classify(bytes);
    if (stored.kind !== 'result') {
      this.settled = { ok: false, error: new Error(`The value under ${this.names.result(this.id)} is not a result envelope; something else wrote there.`) };
      return;
    }
    const r: ResultEnvelope = stored.env;
    if (r.ok) this.settled = { ok: true, output: (this.outputSchema === undefined ? r.output : fromWire(this.outputSchema, 'output', r.output)) as O };
    else if (r.cancelled) this.settled = { ok: false, error: new TaskCancelledError(this.id) };
    else if (r.expired) this.settled = { ok: false, error: new ResultExpiredError(this.id) };
    else this.settled = { ok: false, error: new TaskFailedError(this.id, r.task, r.attempts, r.error ?? { name: 'Error', message: 'unknown error' }) };
  }
}

/**
 * Puts a task's cancel marker (and schedules its removal, in case the task finished already). The task may
 * wait in a delayed bucket for longer than the marker's day: then the marker lives until a day past the
 * latest bucket, or the task would run when it comes due.
 */
export async function cancelTask(ns: Namespace, names: QueueNames, id: string): Promise<void> {
  const marker = names.cancel(id);
  const now = Date.now();
  let ttlMs = CANCEL_MARKER_TTL_MS;
  // the listing walks the keyspace: only when the queue holds delayed tasks (each counted in the delays list)
  if ((await ns.count(names.delays())) > 0) {
    for (const name of await ns.list(names.delayedPattern())) ttlMs = Math.max(ttlMs, (names.parseBucket(name, 'delayed') ?? 0) - now + CANCEL_MARKER_TTL_MS);
  }
  await ns.putMany<Uint8Array | string>([[marker, encode({ at: now })], expiryEntry(names, marker, ttlMs, now)]);
}
