/**
 * How a worker ends an execution: the success step batched with its turn (result and claim in one atomic
 * step, unless a cancel marker is there), a retry or a dead letter through the slot's outbox, and the release
 * of a task it will not finish.
 * @module
 */
import type { EventEmitter } from 'node:events';
import type { Namespace, PopPutStep, StepOutcome } from '@tsdbr/core';
import type { Logger } from 'pino';
import { releaseDedupKey } from './dedup.js';
import { type DeadLetter, jsonMark, type ResultEnvelope, type TaskEnvelope } from './envelope.js';
import { NonRetryableError, serializeError, TaskCancelledError, toError, UnstorableOutputError, WorkerShutdownError } from './errors.js';
import { eventOf, type Execution, type QueueState } from './execution.js';
import type { QueueStats, WorkerStats } from './lease.js';
import { deadDelivery, type Delivery, expiryEntry, finishSlot, resultDelivery, storableResult, taskDelivery } from './outcome.js';
import { backoffDelay } from './retry.js';
import type { StepBatcher } from './step-batcher.js';
import type { AnyTask } from './task.js';
import { persistently, type Retry } from './persist.js';
import type { CompiledWorkerOptions } from './worker-options.js';
import type { WorkerEvents } from './worker.js';
import { toWire } from './wire-shape.js';

/** What a Finisher needs from its worker. */
export interface FinishHost {
  readonly namespace: Namespace;
  readonly batcher: StepBatcher;
  readonly log: Logger;
  readonly options: Pick<CompiledWorkerOptions, 'resultTtlMs' | 'maxDeadLetters'>;
  readonly stats: WorkerStats;
  readonly events: EventEmitter<WorkerEvents>;
  /** Aborted when the worker stops for good: a finish that still fails then is left to lease recovery. */
  readonly giveUp: AbortSignal;
  queueStats(queue: string): QueueStats;
  fail(err: unknown, where: string): void;
}

/** Ends a worker's executions. */
export class Finisher {
  /** Repeats the steps of a finish until they succeed (see persist.ts). */
  private readonly retry: Retry;

  constructor(private readonly host: FinishHost) {
    this.retry = persistently('delivering a task\'s outcome', host.giveUp, host.log);
  }

  /** Delivers the outcome of an execution: its result, its retry, or its dead letter and failed result. */
  async settle(ex: Execution, task: AnyTask | undefined, ok: boolean, output: unknown, error: unknown): Promise<void> {
    const ns = this.host.namespace;
    const { env, queue: q, json } = ex;
    const names = q.names;
    const now = Date.now();
    let final = true;
    // an output that cannot be stored fails the attempt, before anything is written
    let result: Delivery | undefined;
    if (ok && !ex.cancelled && env.nr !== 1) {
      // the envelope gets the output's wire form (its Maps and Sets as arrays); the 'completed' event the output itself
      const stored = storableResult(names, env.task, () => ({ k: 'r', id: env.id, task: env.task, ok: true, output: task === undefined ? output : toWire(task.output, 'output', output), attempts: env.att, finishedAt: now }), json);
      if (stored instanceof UnstorableOutputError) {
        ok = false;
        error = stored;
      } else result = stored;
    }
    // resultTtl 'infinite': no expiry entry (its bucket would never come due, and it would grow for good)
    const expires = Number.isFinite(this.host.options.resultTtlMs);
    if (ok && !ex.cancelled) {
      const outcome =
        result === undefined
          ? await this.finishWith(ex, { pop: ex.slot, unless: names.cancel(env.id) }) // ignoreResult: nothing to store
          : await this.finishWith(ex, { pop: ex.slot, put: result.to, value: result.bytes, unless: names.cancel(env.id) }, expires ? expiryEntry(names, result.to, this.host.options.resultTtlMs, now) : undefined);
      if (outcome === 'skipped') {
        ex.cancelled = true; // a cancel came before the finish: the marker was taken, the result not written
      } else {
        this.host.stats.completed++;
        this.host.queueStats(names.queue).completed++;
        if (this.host.events.listenerCount('completed') > 0) this.host.events.emit('completed', { ...eventOf(ex), output }); // a no-op task's hot path
      }
    }
    if (!ok || ex.cancelled) {
      const deliveries: Delivery[] = [];
      const extra: [string, Uint8Array | string][] = [];
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
        this.host.stats.retried++;
        await finishSlot(ns, names, ex.slot, ex.outbox, deliveries, extra, this.retry);
        this.host.log.warn({ taskId: env.id, task: env.task, attempt: env.att, delayMs, err: serializeError(err) }, 'attempt failed; retrying');
        this.host.events.emit('retrying', { ...eventOf(ex), delayMs, error: err });
      } else {
        const serialized = serializeError(err);
        const r: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, error: serialized, attempts: env.att, finishedAt: now };
        if (ex.cancelled) r.cancelled = true;
        // the dead letter first: once result() rejects, the letter is there
        if (!ex.cancelled) {
          const dead: DeadLetter = { k: 'd', id: env.id, task: env.task, queue: names.queue, error: serialized, attempts: env.att, failedAt: now, env, ...jsonMark(json) };
          deliveries.push(deadDelivery(names, dead));
        }
        if (env.nr !== 1) {
          deliveries.push(resultDelivery(names, r, json));
          if (expires) extra.push(expiryEntry(names, names.result(env.id), this.host.options.resultTtlMs, now));
        }
        if (ex.cancelled) {
          this.host.stats.cancelled++;
          await this.retry(() => ns.tryGet(names.cancel(env.id))); // the marker, if the claim-time check only looked at it
        } else {
          this.host.stats.failed++;
          this.host.stats.dead++;
          this.host.queueStats(names.queue).failed++;
        }
        await finishSlot(ns, names, ex.slot, ex.outbox, deliveries, extra, this.retry);
        if (!ex.cancelled) await this.trimDead(q).catch((err: unknown) => this.host.fail(err, 'trimming the dead letters (the next failure trims again)'));
        this.host.log.error({ taskId: env.id, task: env.task, attempt: env.att, err: serialized, cancelled: ex.cancelled }, ex.cancelled ? 'task cancelled' : 'task failed for good; dead-lettered');
        this.host.events.emit('failed', { ...eventOf(ex), error: err, cancelled: ex.cancelled });
      }
    }
    if (final && env.ddp !== undefined) await this.retry(() => releaseDedupKey(ns, names.dedup(env.ddp as string), env.id));
  }

  /**
   * Success in one atomic step, batched with this turn's other finishes: the claim goes exactly when the result
   * appears, unless the task's cancel marker is there ('skipped': the marker is taken and the caller reports a
   * cancel). If the slot is empty, a recoverer took the task back and it will run again, so this result is
   * dropped. Repeated until it lands: a step that did run finds the slot empty and puts nothing twice. The
   * result's expiry entry joins the same request (one line in its bucket's entry for the whole turn).
   */
  private async finishWith(ex: Execution, step: PopPutStep<Uint8Array>, expiry?: [string, string]): Promise<StepOutcome> {
    const [outcome] = await this.retry(() => this.host.batcher.run([step], expiry ? [expiry] : []));
    if (outcome === 'empty') this.host.log.warn({ taskId: ex.env.id, slot: ex.slot }, 'the claim slot was empty at finish (the task was recovered, or an earlier try of this step landed): result not written again');
    return outcome ?? 'empty';
  }

  /** Drops the oldest dead letters over the bound; one trim at a time per queue, so parallel finishes never over-trim. */
  private trimDead(q: QueueState): Promise<void> {
    const ns = this.host.namespace;
    const name = q.names.dead();
    q.trimming = q.trimming.catch(() => undefined).then(async () => {
      let over = (await ns.count(name)) - this.host.options.maxDeadLetters;
      while (over-- > 0) await ns.tryGet(name);
    });
    return q.trimming;
  }

  /**
   * Dead-letters a claimed task without running it: its id (or dedup key) cannot be part of a tuple name, so
   * it gets no result, and its cancel marker is not looked at (a finish step naming either would fail).
   */
  async rejectUnrun(q: QueueState, slot: string, outbox: string, env: TaskEnvelope, json: boolean, err: Error): Promise<void> {
    const names = q.names;
    const dead: DeadLetter = { k: 'd', id: env.id, task: env.task, queue: names.queue, error: serializeError(err), attempts: env.att, failedAt: Date.now(), env, ...jsonMark(json) };
    this.host.stats.failed++;
    this.host.stats.dead++;
    this.host.queueStats(names.queue).failed++;
    await finishSlot(this.host.namespace, names, slot, outbox, [deadDelivery(names, dead)], [], this.retry);
    await this.trimDead(q).catch((e: unknown) => this.host.fail(e, 'trimming the dead letters (the next failure trims again)'));
    this.host.log.error({ task: env.task, err: dead.error }, 'task whose id or dedup key names no tuple dead-lettered without running');
  }

  /** Requeues a task this worker will not finish (shutdown). */
  async release(ex: Execution): Promise<void> {
    if (ex.released || ex.settling) return; // a task whose outcome is on its way is finished, not requeued
    ex.released = true;
    ex.abort.abort(new WorkerShutdownError());
    try {
      await finishSlot(this.host.namespace, ex.queue.names, ex.slot, ex.outbox, [taskDelivery(ex.queue.names, ex.env, ex.json)], [], this.retry);
      this.host.log.warn({ taskId: ex.env.id, task: ex.env.task }, 'released an unfinished task back to its queue');
    } catch (err) {
      this.host.fail(err, 'releasing a task (it stays leased and will be recovered)');
    }
  }
}
