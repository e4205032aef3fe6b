/**
 * The Worker: claims tasks into its claim slots in batches (a Claimer per queue), runs them under the
 * scheduler, and finishes them crash-safely: the finishes and cancel-marker checks of one event-loop turn go
 * out as one popPutMany. Its heartbeat leases every claimed task; recovery and expiry run on timers, and
 * delayed promotion (a DelayedPromoter per queue) while tasks are delayed.
 * @module
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Broker, ChurnMap, type Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { DelayedPromoter } from './delayed.js';
import { classify, isJson } from './envelope.js';
import { InvalidInputError, InvalidOutputError, InvalidTaskIdError, serializeError, TaskCancelledError, TaskTimeoutError, toError, toIssues, UnknownTaskError, WorkerClosedError, WorkerShutdownError } from './errors.js';
import { ExpirySweeper } from './expiry.js';
import { type Execution, markCancelChecked, type QueueState } from './execution.js';
import { Finisher } from './finisher.js';
import { AttemptContext } from './attempt-context.js';
import { Claimer } from './claimer.js';
import { LazyAbort } from './lazy-abort.js';
import { Maintenance } from './maintenance.js';
import { Heartbeat, type HeartbeatTask, LivenessTracker, type QueueStats, type WorkerStats } from './lease.js';
import { createLogger } from './logger.js';
import { isThenable } from './is-thenable.js';
import { StepBatcher } from './step-batcher.js';
import { QueueNames } from './protocol.js';
import { persistently } from './persist.js';
import { Recovery } from './recovery.js';
import { Scheduler } from './scheduler.js';
import type { AnyTask } from './task.js';
import { type CompiledWorkerOptions, compileWorkerOptions, type WorkerOptions } from './worker-options.js';
import { fromWire } from './wire-shape.js';

/** Events a Worker emits. */
export interface WorkerEvents {
  /** A task succeeded. */
  completed: [{ id: string; task: string; queue: string; attempt: number; output: unknown }];
  /** An attempt failed and the task will retry after `delayMs`. */
  retrying: [{ id: string; task: string; queue: string; attempt: number; delayMs: number; error: Error }];
  /** A task failed for good (dead-lettered) or was cancelled. */
  failed: [{ id: string; task: string; queue: string; attempt: number; error: Error; cancelled: boolean }];
  /** A dead worker's task was requeued (or dead-lettered) by this worker. */
  recovered: [{ id: string; task: string; queue: string; deadLettered: boolean }];
  /** Something went wrong in the worker's own machinery (it keeps going). */
  error: [Error];
}

/** With prefetch 'auto', tasks claimed ahead hold about this much work (from the average run time), ... */
const AUTO_PREFETCH_WORK_MS = 50;
/** ... and at most this many. */
const AUTO_PREFETCH_MAX = 256;
/** A running task starts watching for its cancel marker (a blocking get) once it has run this long. */
const CANCEL_WATCH_AFTER_MS = 50;
const WATCH_DONE = new Error('the task finished');

/** Runs tasks from one or more queues. Call start(), and close() to shut down gracefully. */
export class Worker extends EventEmitter<WorkerEvents> {
  /** Compiled options. */
  readonly options: CompiledWorkerOptions;
  /** This worker's id (in slot names and its heartbeat `worker:<id>`). */
  readonly id: string;
  /** Cumulative counters (also in the heartbeat). */
  readonly stats: WorkerStats = { claimed: 0, completed: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, recovered: 0 };
  /** Completed and failed-for-good counts per queue (also in the heartbeat, for dashboards). */
  private readonly byQueue: Record<string, QueueStats> = {};
  private readonly log: Logger;
  private readonly scheduler: Scheduler;
  /** Executions by claim slot name (a task id is unique only within its queue); a ChurnMap, as they come and go all the time. */
  private readonly running = new ChurnMap<string, Execution>();
  private readonly queues: QueueState[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  /** Aborted when the worker closes: ends its waits that are not claims (the delayed promoters'). */
  private readonly halt = new AbortController();
  /** Aborted when close()'s grace ends: steps that deliver or requeue a task stop repeating (see persist.ts). */
  private readonly giveUp = new AbortController();
  /** The next cancel sweep (see armCancelSweep). */
  private cancelSweep: NodeJS.Timeout | undefined;
  private ns: Namespace | undefined;
  private ownedBroker: Broker | undefined;
  private heartbeat: Heartbeat | undefined;
  private stopping = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private maintenance: Maintenance | undefined;
  private batcher: StepBatcher | undefined;
  private finisher!: Finisher;
  /** Tasks claimed and not yet settled, across queues. */
  private held = 0;
  /** Successes whose finish steps go out with the next flush (see unholdWhenSent). */
  private sending: Execution[] = [];
  /** Moving average of attempt run times (ms), for prefetch 'auto'. */
  private runMs: number | undefined;

  constructor(options: WorkerOptions) {
    super();
    this.options = compileWorkerOptions(options);
    this.id = this.options.workerId;
    this.log = (this.options.logger ?? createLogger()).child({ worker: this.id });
    this.scheduler = new Scheduler(this.options.concurrency);
    this.on('error', () => undefined); // errors are logged; listeners are optional
  }

  /** The namespace the worker serves (after start()). */
  get namespace(): Namespace {
    if (this.ns === undefined) throw new Error('The worker has not started: call `await worker.start()` first.');
    return this.ns;
  }

  /** Starts claiming. Resolves once the heartbeat is written and every claim slot is waiting. */
  start(): Promise<void> {
    if (this.closePromise !== undefined) return Promise.reject(new WorkerClosedError());
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    if (typeof o.namespace === 'string') {
      const broker = o.broker ?? (this.ownedBroker = new Broker());
      this.ns = await broker.open(o.namespace);
    } else this.ns = o.namespace;
    const ns = this.ns;
    const liveness = new LivenessTracker(ns, o.leaseTtlMs);
    for (const queue of o.queues) {
      const names = new QueueNames(queue);
      const slotCount = 2 * (o.concurrency + this.maxPrefetch()); // see execute(): a slot stays taken while its finish is on its way
      const state: QueueState = {
        names,
        claimer: new Claimer(names, this.id, slotCount, {
          namespace: ns,
          stopping: () => this.stopping,
          wanted: (free) => this.wanted(free),
          dispatch: (slots, values) => this.dispatch(state, slots, values),
          afterFinishesSent: () => (this.batcher as StepBatcher).afterNextFlush(),
          fail: (err, where) => this.fail(err, where),
        }),
        trimming: Promise.resolve(),
        recovery: new Recovery({
          ns,
          names,
          workerId: this.id,
          log: this.log,
          liveness,
          maxRecoveries: o.maxRecoveries,
          resultTtlMs: o.resultTtlMs,
          onRecovered: (env, deadLettered) => {
            this.stats.recovered++;
            this.emit('recovered', { id: env.id, task: env.task, queue, deadLettered });
          },
        }),
        promoter: new DelayedPromoter(ns, names, this.id, this.log),
        sweeper: new ExpirySweeper(ns, names),
      };
      this.queues.push(state);
    }
    const batcher = (this.batcher = new StepBatcher(ns));
    this.finisher = new Finisher({
      namespace: ns,
      batcher,
      log: this.log,
      options: o,
      stats: this.stats,
      events: this,
      giveUp: this.giveUp.signal,
      queueStats: (queue) => (this.byQueue[queue] ??= { completed: 0, failed: 0 }),
      fail: (err, where) => this.fail(err, where),
    });
    this.heartbeat = new Heartbeat(ns, this.id, o.heartbeatMs, () => this.describe(), (err) => this.fail(err, 'heartbeat'));
    await this.heartbeat.start();
    for (const q of this.queues) {
      await q.promoter.sweepListed().catch((err) => this.fail(err, 'delayed tasks'));
      this.loops.push(q.claimer.run(), q.promoter.run(this.halt.signal, (err) => this.fail(err, 'delayed tasks')));
    }
    const maintenance = (this.maintenance = new Maintenance(ns, this.queues, () => this.stopping, (err, where) => this.fail(err, where)));
    this.every(o.recoveryMs, () => maintenance.run());
    this.log.info({ queues: o.queues, concurrency: o.concurrency, tasks: [...o.tasks.keys()], namespace: ns.name }, 'worker started');
    // recover leftovers of workers that died while nobody was watching, without waiting a whole interval
    void maintenance.run();
  }

  /**
   * Graceful shutdown: stop claiming, let running tasks finish for up to `grace` (default: the shutdownGrace
   * option), requeue the rest (aborting their ctx.signal with WorkerShutdownError), remove the heartbeat.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    this.closePromise ??= this.doClose(options.graceMs ?? this.options.shutdownGraceMs);
    return this.closePromise;
  }

  private async doClose(graceMs: number): Promise<void> {
    this.stopping = true;
    await this.startPromise?.catch(() => undefined);
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.cancelSweep);
    this.halt.abort(new WorkerShutdownError());
    for (const q of this.queues) q.claimer.stop(new WorkerShutdownError());
    this.log.info({ running: this.running.size, graceMs }, 'worker shutting down: no new claims');
    const deadline = Date.now() + graceMs;
    // the requeues below repeat while they fail (a server that is gone): only until the grace ends
    const graceOver = setTimeout(() => this.giveUp.abort(new WorkerShutdownError()), graceMs);
    // claimed ahead but not started (prefetch): back to the queue at once
    await Promise.all([...this.running.values()].filter((ex) => !ex.started).map((ex) => this.finisher.release(ex)));
    while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    clearTimeout(graceOver);
    this.giveUp.abort(new WorkerShutdownError());
    const left = [...this.running.values()].filter((ex) => !ex.released && !ex.settling);
    await Promise.all(left.map((ex) => this.finisher.release(ex)));
    // outcomes being delivered: requeuing those tasks would run them twice; their delivery empties their slots
    await Promise.all([...this.running.values()].filter((ex) => ex.settling).map((ex) => ex.done));
    await Promise.all(this.loops);
    // a claim that completed as it was withdrawn delivers its task late: requeue that too
    await Promise.all([...this.running.values()].filter((ex) => !ex.released && !ex.started).map((ex) => this.finisher.release(ex)));
    await this.maintenance?.idle();
    await this.heartbeat?.stop();
    if (this.ownedBroker !== undefined) await this.ownedBroker.close();
    this.log.info({ requeued: left.length, stats: this.stats }, 'worker stopped');
  }

  /** Tasks this worker holds: running, or claimed ahead (prefetch) and waiting to start. */
  get activeCount(): number {
    return this.running.size;
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || this.stopping) return;
      busy = true;
      void fn()
        .catch((err) => this.fail(err, 'timer'))
        .finally(() => (busy = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Most tasks claimed ahead of free concurrency. */
  private maxPrefetch(): number {
    const p = this.options.prefetch;
    return p === 'auto' ? AUTO_PREFETCH_MAX : p;
  }

  /** How many of `free` empty slots to fill now: concurrency plus the prefetch allowed now, minus the tasks held. */
  private wanted(free: number): number {
    const p = this.options.prefetch;
    // 'auto': none until a task has run, then about AUTO_PREFETCH_WORK_MS of work (none for long tasks)
    const prefetch = p !== 'auto' ? p : this.runMs === undefined ? 0 : Math.min(AUTO_PREFETCH_MAX, Math.floor((AUTO_PREFETCH_WORK_MS * this.options.concurrency) / Math.max(this.runMs, 0.01)));
    return Math.max(0, Math.min(this.options.concurrency + prefetch - this.held, free));
  }

  /** An execution is over: it no longer counts against concurrency, and its slot is free unless it failed to finish. */
  private settled(ex: Execution, slotEmpty: boolean): void {
    this.unhold(ex);
    this.running.delete(ex.slot);
    for (const q of this.queues) {
      if (q === ex.queue && slotEmpty) q.claimer.release(ex.slotIndex);
      else q.claimer.nudge(); // the held count fell: any queue may claim again
    }
  }

  private unhold(ex: Execution): void {
    if (ex.unheld) return;
    ex.unheld = true;
    this.held--;
  }

  /**
   * Once a success's finish step is sent, the next claim may follow it on the same connection instead of
   * waiting for its reply (a round trip per claim cycle): its capacity is given back when the turn's flush goes
   * out, its slot when the step lands (a claim fills other slots: there are two per unit of capacity).
   */
  private unholdWhenSent(ex: Execution): void {
    this.sending.push(ex);
    if (this.sending.length > 1) return;
    (this.batcher as StepBatcher).onNextFlush(() => {
      const sent = this.sending;
      this.sending = [];
      for (const e of sent) this.unhold(e);
      for (const q of this.queues) q.claimer.nudge();
    });
  }

  /** Starts the tasks claimed into slots; the cancel markers of those still running after this turn are looked at (peekCancels). */
  private dispatch(q: QueueState, slots: number[], values: Buffer[]): void {
    const batcher = this.batcher as StepBatcher;
    const executions: Execution[] = [];
    for (const [k, bytes] of values.entries()) {
      const index = slots[k] as number;
      const slot = q.claimer.slots[index] as string;
      const stored = classify(bytes);
      if (stored.kind !== 'task') {
        // a bell only says the hi or lo band may hold tasks: the next claim looks there anyway
        if (stored.kind !== 'bell') this.log.error({ queue: q.names.queue, kind: stored.kind }, 'dropping a value that is not a task envelope from the pending list');
        persistently(`emptying ${slot}`, this.giveUp.signal, this.log)(() => batcher.run([{ pop: slot }])).then(
          () => q.claimer.release(index),
          (err: unknown) => this.fail(err, `emptying ${slot} (it stays there until the worker stops, then another worker recovers it)`),
        );
        continue;
      }
      const env = stored.env;
      const badKey = !q.names.fits(env.id) ? 'id' : env.ddp !== undefined && !q.names.fits(String(env.ddp)) ? 'dedup key' : undefined;
      if (badKey !== undefined) {
        // a finish step naming its result or cancel marker would fail on every try, and with it the turn's batch
        this.finisher.rejectUnrun(q, slot, q.names.outbox(this.id, index), env, isJson(bytes), new InvalidTaskIdError(badKey, badKey === 'id' ? env.id : env.ddp)).then(
          () => q.claimer.release(index),
          (err: unknown) => this.fail(err, `dead-lettering the task in ${slot} (it stays there until the worker stops, then another worker recovers it)`),
        );
        continue;
      }
      const ex: Execution = {
        env,
        queue: q,
        slotIndex: index,
        slot,
        outbox: q.names.outbox(this.id, index),
        json: isJson(bytes),
        abort: new LazyAbort(),
        startedAt: Date.now(),
        started: false,
        cancelChecked: false,
        attempting: false,
        released: false,
        settling: false,
        cancelled: false,
        unheld: false,
      };
      executions.push(ex);
    }
    if (executions.length === 0) return;
    setImmediate(() => this.peekCancels(q, executions));
    for (const ex of executions) {
      this.held++;
      this.stats.claimed++;
      this.running.set(ex.slot, ex);
      ex.done = this.execute(ex).then(
        () => this.settled(ex, true),
        (err: unknown) => {
          this.fail(err, `finishing a task in ${ex.slot} (the worker is stopping: it stays there until its lease lapses and another worker recovers it)`);
          this.settled(ex, false);
        },
      );
    }
    // at capacity: a blocking claim still waiting on another queue would take a task it cannot start yet
    if (this.wanted(1) === 0) for (const each of this.queues) each.claimer.withdraw();
  }

  private async execute(ex: Execution): Promise<void> {
    const { env, queue: q } = ex;
    const task = this.options.tasks.get(env.task);
    let output: unknown;
    let error: unknown;
    let ok = false;
    try {
      if (task === undefined) throw new UnknownTaskError(env.task, q.names.queue, [...this.options.tasks.keys()]);
      output = await this.scheduler.run(task, env.pri ?? task.priority, () => (this.stopping ? Promise.reject(new WorkerShutdownError()) : this.attempt(task, ex)));
      ok = true;
    } catch (err) {
      error = err;
    }
    if (!ex.started && this.stopping) {
      await this.finisher.release(ex); // claimed ahead, never started: back to the queue
      return;
    }
    if (ex.released) return;
    ex.settling = true;
    const finishing = this.finisher.settle(ex, task, ok, output, error);
    if (ok && !ex.cancelled) this.unholdWhenSent(ex);
    await finishing;
  }

  /**
   * Looks (without taking) for the cancel markers of tasks cancelled while queued, so they stop at once. Runs
   * after the claim's turn and skips the attempts that ended in it: their finish step looks at the marker
   * anyway, atomically (a short task then costs the server no extra look). Still joins that turn's request:
   * the batcher flushes after this.
   */
  private peekCancels(q: QueueState, claimed: Execution[]): void {
    const executions = claimed.filter((ex) => {
      const ended = (ex.started && !ex.attempting) || ex.released;
      if (ended) markCancelChecked(ex);
      return !ended;
    });
    if (executions.length === 0) return;
    (this.batcher as StepBatcher).run(executions.map((ex) => ({ unless: q.names.cancel(ex.env.id), peekUnless: true }))).then(
      (found) => {
        for (const [i, ex] of executions.entries()) {
          if (found[i] === 'skipped') this.cancelExecution(ex);
          markCancelChecked(ex);
        }
      },
      () => {
        for (const ex of executions) markCancelChecked(ex); // the finish step still looks
      },
    );
  }

  private cancelExecution(ex: Execution): void {
    ex.cancelled = true;
    ex.abort.abort(new TaskCancelledError(ex.env.id));
  }

  /** Runs watchCancels every CANCEL_WATCH_AFTER_MS while attempts need it: an idle worker keeps no timer awake. */
  private armCancelSweep(): void {
    if (this.cancelSweep !== undefined || this.stopping) return;
    this.cancelSweep = setTimeout(() => {
      this.cancelSweep = undefined;
      if (this.watchCancels()) this.armCancelSweep();
    }, CANCEL_WATCH_AFTER_MS);
    this.cancelSweep.unref();
  }

  /**
   * Attempts running for CANCEL_WATCH_AFTER_MS or more wait on their cancel marker (a blocking get), so a
   * cancel aborts them at once. One sweep for the worker rather than a timer per task: most tasks end sooner.
   * True if an attempt still runs without a watcher (the next sweep may give it one).
   */
  private watchCancels(): boolean {
    const now = Date.now();
    let unwatched = false;
    for (const ex of this.running.values()) {
      if (!ex.attempting || ex.watcher !== undefined || ex.abort.aborted) continue;
      if (!ex.cancelChecked || now - ex.startedAt < CANCEL_WATCH_AFTER_MS) {
        unwatched = true;
        continue;
      }
      const watcher = new AbortController();
      ex.watcher = watcher;
      this.namespace.get(ex.queue.names.cancel(ex.env.id), { timeout: 'infinite', signal: watcher.signal }).then(
        () => this.cancelExecution(ex),
        () => undefined,
      );
    }
    return unwatched;
  }

  /** One attempt: validate input, run with timeout and signal, validate output. */
  private async attempt(task: AnyTask, ex: Execution): Promise<unknown> {
    const { env, abort } = ex;
    ex.started = true;
    if (abort.aborted) throw abort.reason;
    // raised into a copy: env.input stays in its wire form for a retry's envelope and the dead letter
    const parsed = task.input.safeParse(fromWire(task.input, 'input', env.input));
    if (!parsed.success) throw new InvalidInputError(task.name, toIssues(parsed.error.issues));
    const timeoutMs = env.tmo ?? task.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => abort.abort(new TaskTimeoutError(task.name, timeoutMs)), timeoutMs);
    ex.attempting = true;
    this.armCancelSweep();
    const started = performance.now();
    ex.startedAt = Date.now();
    const ctx = new AttemptContext(env.id, task.name, ex.queue.names.queue, env.att, env.max ?? task.maxAttempts, this.namespace, abort, this.log, ex);
    try {
      let out: unknown = task.run(parsed.data, ctx);
      if (isThenable(out)) out = await abort.race(Promise.resolve(out));
      const checked = task.output.safeParse(out);
      if (!checked.success) throw new InvalidOutputError(task.name, toIssues(checked.error.issues));
      // the parsed output (with the schema's defaults and transforms) is what result() resolves to
      return checked.data;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      ex.attempting = false;
      ex.watcher?.abort(WATCH_DONE);
      const ms = performance.now() - started;
      this.runMs = this.runMs === undefined ? ms : this.runMs * 0.9 + ms * 0.1;
    }
  }


  private describe() {
    const tasks: HeartbeatTask[] = [];
    for (const ex of this.running.values()) {
      if (!ex.started) continue;
      const t: HeartbeatTask = { id: ex.env.id, task: ex.env.task, queue: ex.queue.names.queue, attempt: ex.env.att, startedAt: ex.startedAt };
      if (ex.progress !== undefined) t.progress = ex.progress;
      tasks.push(t);
      if (tasks.length >= 256) break; // bounded
    }
    return { queues: this.options.queues, concurrency: this.options.concurrency, tasks, stats: { ...this.stats }, byQueue: structuredClone(this.byQueue), leaseTtlMs: this.options.leaseTtlMs };
  }

  private fail(err: unknown, where: string): void {
    const e = toError(err);
    this.log.error({ err: serializeError(e), where }, `worker error in ${where}`);
    this.emit('error', e);
  }
}
