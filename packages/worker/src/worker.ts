/**
 * The Worker: claims tasks by blocking on named tuples (one blocking moveValue per free slot, no polling in
 * JS), runs them under the scheduler, and finishes them crash-safely. Its heartbeat leases every claimed
 * task; recovery, delayed promotion and expiry run on timers.
 * @module
 */
import { EventEmitter } from 'node:events';
import { Broker, isDbrError, type Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { releaseDedupKey } from './dedup.js';
import { DelayedPromoter } from './delayed.js';
import { classify, type DeadLetter, isJson, type ResultEnvelope, type TaskEnvelope } from './envelope.js';
import { InvalidInputError, InvalidOutputError, NonRetryableError, serializeError, TaskCancelledError, TaskTimeoutError, toIssues, UnknownTaskError, WorkerShutdownError } from './errors.js';
import { execProgram } from './exec.js';
import { ExpirySweeper } from './expiry.js';
import { Heartbeat, type HeartbeatTask, LivenessTracker, type QueueStats, type WorkerStats } from './lease.js';
import { createLogger } from './logger.js';
import { deadDelivery, type Delivery, expiryEntry, finishSlot, resultDelivery, taskDelivery } from './outcome.js';
import { type Band, QueueNames } from './protocol.js';
import { Recovery } from './recovery.js';
import { backoffDelay } from './retry.js';
import { Scheduler } from './scheduler.js';
import type { AnyTask, Progress, TaskContext } from './task.js';
import { type CompiledWorkerOptions, compileWorkerOptions, type WorkerOptions } from './worker-options.js';

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

interface Execution {
  env: TaskEnvelope;
  queue: QueueState;
  slot: string;
  outbox: string;
  json: boolean;
  controller: AbortController;
  startedAt: number;
  progress?: Progress;
  /** Requeued at shutdown: its outcome is discarded. */
  released: boolean;
  cancelled: boolean;
}

interface QueueState {
  names: QueueNames;
  /** Bands that may hold tasks; gen guards against clearing a hint set by a newer bell. */
  hint: Record<Exclude<Band, 'normal'>, { on: boolean; gen: number }>;
  claims: Set<AbortController>;
  recovery: Recovery;
  promoter: DelayedPromoter;
  sweeper: ExpirySweeper;
}

const SLOT_ERROR_BACKOFF_MS = 500;

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
  private readonly running = new Map<string, Execution>();
  private readonly queues: QueueState[] = [];
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private ns: Namespace | undefined;
  private ownedBroker: Broker | undefined;
  private heartbeat: Heartbeat | undefined;
  private stopping = false;
  private startPromise: Promise<void> | undefined;
  private closePromise: Promise<void> | undefined;
  private maintenance: Promise<void> | undefined;
  private ticks = 0;

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
      const state: QueueState = {
        names,
        hint: { hi: { on: true, gen: 0 }, lo: { on: true, gen: 0 } },
        claims: new Set(),
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
    this.heartbeat = new Heartbeat(ns, this.id, o.heartbeatMs, () => this.describe(), (err) => this.fail(err, 'heartbeat'));
    await this.heartbeat.start();
    for (const q of this.queues) {
      await q.promoter.sweepListed().catch((err) => this.fail(err, 'delayed tasks'));
      for (let slot = 0; slot < o.concurrency; slot++) this.loops.push(this.slotLoop(q, slot));
    }
    this.every(100, () => this.promoteDue());
    this.every(o.recoveryMs, () => this.maintain());
    this.log.info({ queues: o.queues, concurrency: o.concurrency, tasks: [...o.tasks.keys()], namespace: ns.name }, 'worker started');
    // recover leftovers of workers that died while nobody was watching, without waiting a whole interval
    void this.maintain();
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
    for (const q of this.queues) for (const c of q.claims) c.abort(new WorkerShutdownError());
    this.log.info({ running: this.running.size, graceMs }, 'worker shutting down: no new claims');
    const deadline = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < deadline) await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    const left = [...this.running.values()];
    await Promise.all(left.map((ex) => this.release(ex)));
    await Promise.all(this.loops);
    await this.maintenance?.catch(() => undefined);
    await this.heartbeat?.stop();
    if (this.ownedBroker !== undefined) await this.ownedBroker.close();
    this.log.info({ requeued: left.length, stats: this.stats }, 'worker stopped');
  }

  /** Tasks running now. */
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

  private async promoteDue(): Promise<void> {
    for (const q of this.queues) await q.promoter.tick();
  }

  private maintain(): Promise<void> {
    if (this.maintenance !== undefined) return this.maintenance;
    this.maintenance = (async () => {
      const ns = this.namespace;
      this.ticks++;
      for (const q of this.queues) {
        if (this.stopping) return;
        await q.recovery.tick();
        await q.sweeper.tick();
        if (this.ticks % 10 === 1) {
          await q.promoter.sweepListed();
          await q.sweeper.sweepListed();
        }
        // wake blocked slots if the hi or lo band holds tasks nobody rang for (e.g. after a crash)
        for (const band of ['hi', 'lo'] as const) {
          if ((await ns.count(q.names.pending(band))) > 0) {
            this.ringLocal(q);
            if ((await ns.count(q.names.pending('normal'))) === 0) await ns.put(q.names.pending('normal'), Buffer.from('{"k":"b"}'));
          }
        }
      }
    })()
      .catch((err) => this.fail(err, 'maintenance'))
      .finally(() => (this.maintenance = undefined));
    return this.maintenance;
  }

  private ringLocal(q: QueueState): void {
    for (const band of ['hi', 'lo'] as const) {
      q.hint[band].on = true;
      q.hint[band].gen++;
    }
  }

  /** One claim slot: claim, run, finish, repeat. */
  private async slotLoop(q: QueueState, index: number): Promise<void> {
    const slot = q.names.run(this.id, index);
    const outbox = q.names.outbox(this.id, index);
    while (!this.stopping) {
      let bytes: Buffer | undefined;
      try {
        bytes = await this.claim(q, slot);
      } catch (err) {
        if (this.stopping) break;
        this.fail(err, `claim on ${q.names.queue}`);
        await sleep(SLOT_ERROR_BACKOFF_MS);
        continue;
      }
      if (bytes === undefined) continue;
      try {
        await this.handle(q, slot, outbox, bytes);
      } catch (err) {
        // The task stays in its slot, leased by our heartbeat; recovery requeues it if we die.
        this.fail(err, `finishing a task in ${slot}`);
        await sleep(SLOT_ERROR_BACKOFF_MS);
      }
    }
  }

  /** Claims the next task into `slot`: hi band first, then normal (blocking), then lo. */
  private async claim(q: QueueState, slot: string): Promise<Buffer | undefined> {
    const ns = this.namespace;
    const tryMove = async (band: Band): Promise<Buffer | undefined> => {
      try {
        return await ns.moveValue(q.names.pending(band), ns, slot, { timeout: 0 });
      } catch (err) {
        if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return undefined;
        throw err;
      }
    };
    for (const band of ['hi', 'lo'] as const) {
      const h = q.hint[band];
      if (!h.on) continue;
      const gen = h.gen;
      const order: Band[] = band === 'hi' ? ['hi'] : ['normal', 'lo'];
      for (const b of order) {
        const v = await tryMove(b);
        if (v !== undefined) return v;
      }
      if (h.gen === gen) h.on = false;
    }
    const controller = new AbortController();
    q.claims.add(controller);
    try {
      if (this.stopping) return undefined;
      return await ns.moveValue(q.names.pending('normal'), ns, slot, { timeout: 'infinite', signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) return undefined;
      throw err;
    } finally {
      q.claims.delete(controller);
    }
  }

  private async handle(q: QueueState, slot: string, outbox: string, bytes: Buffer): Promise<void> {
    const ns = this.namespace;
    const stored = classify(bytes);
    if (stored.kind === 'bell') {
      this.ringLocal(q);
      await ns.tryGet(slot);
      return;
    }
    if (stored.kind !== 'task') {
      this.log.error({ queue: q.names.queue, kind: stored.kind }, 'dropping a value that is not a task envelope from the pending list');
      await ns.tryGet(slot);
      return;
    }
    const env = stored.env;
    const ex: Execution = { env, queue: q, slot, outbox, json: isJson(bytes), controller: new AbortController(), startedAt: Date.now(), released: false, cancelled: false };
    if (this.stopping) {
      // claimed while shutting down (the claim completed as we withdrew it): put it back
      await this.release(ex);
      return;
    }
    this.stats.claimed++;
    this.running.set(env.id, ex);
    try {
      await this.execute(ex);
    } finally {
      this.running.delete(env.id);
    }
  }

  private async execute(ex: Execution): Promise<void> {
    const ns = this.namespace;
    const { env, queue: q } = ex;
    const task = this.options.tasks.get(env.task);
    const cancelName = q.names.cancel(env.id);
    // Look for a cancel marker while the task starts; a long task then waits on it (blocking get).
    const cancelCheck = ns.tryGet(cancelName).then(
      (v) => v !== undefined,
      () => false,
    );
    const watcher = new AbortController();
    void cancelCheck.then((cancelled) => {
      if (cancelled) this.cancelExecution(ex);
      else if (!watcher.signal.aborted && !ex.controller.signal.aborted) {
        ns.get(cancelName, { timeout: 'infinite', signal: watcher.signal }).then(
          () => this.cancelExecution(ex),
          () => undefined,
        );
      }
    });
    let output: unknown;
    let error: unknown;
    let ok = false;
    try {
      if (task === undefined) throw new UnknownTaskError(env.task, q.names.queue, [...this.options.tasks.keys()]);
      output = await this.scheduler.run(task, env.pri ?? task.priority, () => this.attempt(task, ex));
      ok = true;
    } catch (err) {
      error = err;
    } finally {
      watcher.abort();
    }
    if (await cancelCheck) ex.cancelled = true;
    if (ex.released) return;
    await this.settle(ex, task, ok, output, error);
  }

  private cancelExecution(ex: Execution): void {
    ex.cancelled = true;
    if (!ex.controller.signal.aborted) ex.controller.abort(new TaskCancelledError(ex.env.id));
  }

  /** One attempt: validate input, run with timeout and signal, validate output. */
  private async attempt(task: AnyTask, ex: Execution): Promise<unknown> {
    const { env, controller } = ex;
    const signal = controller.signal;
    if (signal.aborted) throw signal.reason;
    const parsed = task.input.safeParse(env.input);
    if (!parsed.success) throw new InvalidInputError(task.name, toIssues(parsed.error.issues));
    const timeoutMs = env.tmo ?? task.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => controller.abort(new TaskTimeoutError(task.name, timeoutMs)), timeoutMs);
    const log = this.log.child({ taskId: env.id, task: task.name, attempt: env.att });
    ex.startedAt = Date.now();
    const ctx: TaskContext = {
      id: env.id,
      task: task.name,
      queue: ex.queue.names.queue,
      attempt: env.att,
      maxAttempts: env.max ?? task.maxAttempts,
      signal,
      log,
      ns: this.namespace,
      progress: (value) => {
        ex.progress = value;
      },
      exec: (command, args = [], options = {}) => execProgram(command, args, options, log, signal),
    };
    try {
      const out = await abortable(Promise.resolve().then(() => task.run(parsed.data, ctx)), signal);
      const checked = task.output.safeParse(out);
      if (!checked.success) throw new InvalidOutputError(task.name, toIssues(checked.error.issues));
      // the parsed output (with the schema's defaults and transforms) is what result() resolves to
      return checked.data;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Delivers the outcome of an execution. */
  private async settle(ex: Execution, task: AnyTask | undefined, ok: boolean, output: unknown, error: unknown): Promise<void> {
    const ns = this.namespace;
    const { env, queue: q, json } = ex;
    const names = q.names;
    const now = Date.now();
    const base = { id: env.id, task: env.task, queue: names.queue, attempt: env.att };
    const deliveries: Delivery[] = [];
    const extra: [string, Uint8Array][] = [];
    const resultExpiry = () => extra.push(expiryEntry(names, names.result(env.id), this.options.resultTtlMs, now));
    let final = true;
    if (ok && !ex.cancelled) {
      const r: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: true, output, attempts: env.att, finishedAt: now };
      const result = resultDelivery(names, r, json);
      resultExpiry();
      this.stats.completed++;
      this.queueStats(names.queue).completed++;
      if (ex.slot !== undefined) {
        // one atomic step: the claim goes exactly when the result appears (no outbox needed); if the slot is
        // empty, a recoverer took the task back and it will run again, so this result is dropped
        await Promise.all([ns.popPut(ex.slot, result.to, result.bytes), ns.putMany(extra)]);
      } else {
        deliveries.push(result);
        await finishSlot(ns, names, ex.slot, ex.outbox, deliveries, extra);
      }
      this.emit('completed', { ...base, output });
    } else {
      const err = ex.cancelled ? new TaskCancelledError(env.id) : toError(error);
      const max = env.max ?? task?.maxAttempts ?? 1;
      const retryable = !ex.cancelled && !(err instanceof NonRetryableError) && env.att < max && task !== undefined;
      if (retryable) {
        final = false;
        const delayMs = backoffDelay(task.backoff, env.att + 1);
        const next: TaskEnvelope = { ...env, att: env.att + 1 };
        if (delayMs > 0) next.due = now + delayMs;
        else delete next.due;
        deliveries.push(taskDelivery(names, next, json));
        this.stats.retried++;
        await finishSlot(ns, names, ex.slot, ex.outbox, deliveries, extra);
        this.log.warn({ taskId: env.id, task: env.task, attempt: env.att, delayMs, err: serializeError(err) }, 'attempt failed; retrying');
        this.emit('retrying', { ...base, delayMs, error: err });
      } else {
        const serialized = serializeError(err);
        const r: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, error: serialized, attempts: env.att, finishedAt: now };
        if (ex.cancelled) r.cancelled = true;
        // the dead letter first: once result() rejects, the letter is there
        if (!ex.cancelled) {
          const dead: DeadLetter = { k: 'd', id: env.id, task: env.task, queue: names.queue, error: serialized, attempts: env.att, failedAt: now, env };
          deliveries.push(deadDelivery(names, dead));
        }
        deliveries.push(resultDelivery(names, r, json));
        resultExpiry();
        if (ex.cancelled) this.stats.cancelled++;
        else {
          this.stats.failed++;
          this.stats.dead++;
          this.queueStats(names.queue).failed++;
        }
        await finishSlot(ns, names, ex.slot, ex.outbox, deliveries, extra);
        if (!ex.cancelled) await this.trimDead(q);
        this.log.error({ taskId: env.id, task: env.task, attempt: env.att, err: serialized, cancelled: ex.cancelled }, ex.cancelled ? 'task cancelled' : 'task failed for good; dead-lettered');
        this.emit('failed', { ...base, error: err, cancelled: ex.cancelled });
      }
    }
    if (final && env.ddp !== undefined) await releaseDedupKey(ns, names.dedup(env.ddp));
  }

  private async trimDead(q: QueueState): Promise<void> {
    const ns = this.namespace;
    const name = q.names.dead();
    let over = (await ns.count(name)) - this.options.maxDeadLetters;
    while (over-- > 0) await ns.tryGet(name);
  }

  /** Requeues a task this worker will not finish (shutdown). */
  private async release(ex: Execution): Promise<void> {
    if (ex.released) return;
    ex.released = true;
    if (!ex.controller.signal.aborted) ex.controller.abort(new WorkerShutdownError());
    try {
      await finishSlot(this.namespace, ex.queue.names, ex.slot, ex.outbox, [taskDelivery(ex.queue.names, ex.env, ex.json)]);
      this.log.warn({ taskId: ex.env.id, task: ex.env.task }, 'released an unfinished task back to its queue');
    } catch (err) {
      this.fail(err, 'releasing a task (it stays leased and will be recovered)');
    }
  }

  private queueStats(queue: string): QueueStats {
    return (this.byQueue[queue] ??= { completed: 0, failed: 0 });
  }

  private describe() {
    const tasks: HeartbeatTask[] = [];
    for (const ex of this.running.values()) {
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

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Settles with p, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
