/**
 * Recovery of dead workers' tasks. Any live worker periodically lists the claim slots and outboxes of its
 * queues, and for each worker whose lease expired:
 *   - an outbox with values means the slot's task finished: drop the task, then forward the outcomes;
 *   - otherwise a task in the slot is claimed into this worker's own recovery slot (atomically, so two
 *     recoverers never both take it) and requeued, or dead-lettered after too many recoveries.
 * A pass that fails midway (a lost connection) leaves its work in this worker's recovery slot or outbox; the
 * next pass finishes it first, so the slot is empty again before it is reused.
 * @module
 */
import { isDbrError, type Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { classify, jsonMark, type ResultEnvelope, type TaskEnvelope } from './envelope.js';
import { releaseDedupKey } from './dedup.js';
import { type LivenessTracker } from './lease.js';
import { deadDelivery, type Delivery, destinationOf, drainOutbox, expiryEntry, finishSlot, forward, resultDelivery, taskDelivery } from './outcome.js';
import { type QueueNames, workerName } from './protocol.js';
import { isJson } from './envelope.js';

/** What recovery needs from its worker. */
export interface RecoveryContext {
  ns: Namespace;
  names: QueueNames;
  workerId: string;
  log: Logger;
  liveness: LivenessTracker;
  maxRecoveries: number;
  resultTtlMs: number;
  onRecovered: (env: TaskEnvelope, deadLettered: boolean) => void;
}

/** The recovery slot of a worker (it holds one recovered task at a time). */
export const RECOVERY_SLOT = 'rec';

/** Recovers one queue's tasks from dead workers. */
export class Recovery {
  constructor(private readonly c: RecoveryContext) {}

  /** One pass over the queue's slots. Returns how many tasks were requeued or dead-lettered. */
  async tick(): Promise<number> {
    const { ns, names, workerId } = this.c;
    await this.resumeOwn();
    const byWorker = new Map<string, Set<string>>();
    for (const pattern of [names.runPattern(), names.outboxPattern()]) {
      for (const name of await ns.list(pattern)) {
        const p = names.parseSlot(name);
        if (p === undefined || p.worker === workerId) continue;
        let s = byWorker.get(p.worker);
        if (s === undefined) byWorker.set(p.worker, (s = new Set()));
        s.add(p.slot);
      }
    }
    let recovered = 0;
    for (const [worker, slots] of byWorker) {
      if (await this.c.liveness.isAlive(worker)) continue;
      this.c.log.warn({ worker, queue: names.queue, slots: slots.size }, 'recovering tasks of a worker whose lease expired');
      for (const slot of slots) recovered += await this.recoverSlot(worker, slot);
      await ns.remove(workerName(worker)).catch(() => undefined);
      this.c.liveness.forget(worker);
    }
    return recovered;
  }

  /** Finishes what an earlier pass left in this worker's recovery slot and outbox. */
  private async resumeOwn(): Promise<void> {
    const { ns, names, workerId } = this.c;
    const myRun = names.run(workerId, RECOVERY_SLOT);
    const myOut = names.outbox(workerId, RECOVERY_SLOT);
    if ((await ns.count(myOut)) > 0) {
      await ns.tryGet(myRun); // its outcomes are staged: the task is done
      await drainOutbox(ns, names, myOut, () => this.c.log.error({ name: myOut }, 'dropping a value that is no outcome from the recovery outbox'));
      return;
    }
    const bytes = await ns.tryRead(myRun);
    if (bytes !== undefined) await this.settle(workerId, bytes);
  }

  /** Recovers one slot of a dead worker. */
  async recoverSlot(worker: string, slot: string): Promise<number> {
    const { ns, names, workerId } = this.c;
    const run = names.run(worker, slot);
    const out = names.outbox(worker, slot);
    const myRun = names.run(workerId, RECOVERY_SLOT);
    const myOut = names.outbox(workerId, RECOVERY_SLOT);
    if ((await ns.count(out)) > 0) {
      // The task finished: drop it first (so nobody requeues it), then forward its outcomes one by one.
      const popped = await ns.tryGet(run);
      const task = popped === undefined ? undefined : classify(popped);
      // the task's envelope (from its slot, or its dead letter) and whether it ended: then its dedup key goes
      let env = task?.kind === 'task' ? task.env : undefined;
      let ended = false;
      for (;;) {
        let bytes: Buffer;
        try {
          bytes = await ns.moveValue(out, ns, myOut, { timeout: 0 });
        } catch (err) {
          if (isDbrError(err, 'DBR_ERR_UNAVAIL')) break;
          throw err;
        }
        const stored = classify(bytes);
        const dest = destinationOf(names, stored);
        if (dest === undefined) {
          this.c.log.error({ name: out }, 'dropping a value that is no outcome from a dead worker\'s outbox');
          await ns.tryGet(myOut);
          continue;
        }
        if (stored.kind === 'dead') env ??= stored.env.env;
        ended ||= stored.kind !== 'task'; // a task value is its retry
        await forward(ns, names, myOut, [{ bytes, ...dest }]);
      }
      // the dead worker may have died before it released the key
      if (ended && env?.ddp !== undefined && names.fits(String(env.ddp))) await releaseDedupKey(ns, names.dedup(env.ddp), env.id);
      return 0;
    }
    let bytes: Buffer;
    try {
      bytes = await ns.moveValue(run, ns, myRun, { timeout: 0 });
    } catch (err) {
      if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return 0; // someone else recovered it
      throw err;
    }
    return this.settle(worker, bytes);
  }

  /** Requeues or dead-letters the value claimed into this worker's recovery slot from `worker`'s slot. */
  private async settle(worker: string, bytes: Buffer): Promise<number> {
    const { ns, names, workerId } = this.c;
    const myRun = names.run(workerId, RECOVERY_SLOT);
    const myOut = names.outbox(workerId, RECOVERY_SLOT);
    const stored = classify(bytes);
    if (stored.kind !== 'task') {
      const dest = destinationOf(names, stored);
      if (dest === undefined) await ns.tryGet(myRun); // a bell, or garbage
      else await ns.moveValue(myRun, ns, dest.to, { timeout: 0 });
      return 0;
    }
    // Count a recovery only if the task had started (listed in the dead worker's last heartbeat): a task that
    // was merely claimed cannot be what crashed it.
    const started = this.c.liveness.runningAtLastBeat(worker).has(stored.env.id);
    const env: TaskEnvelope = { ...stored.env };
    if (started) env.rec = (env.rec ?? 0) + 1;
    const asJson = isJson(bytes);
    const deliveries: Delivery[] = [];
    const extra: [string, Uint8Array | string][] = [];
    const dead = (env.rec ?? 0) > this.c.maxRecoveries;
    if (dead) {
      const error = { name: 'LeaseExpiredError', message: `Task was running on workers that died ${env.rec} times (last: ${worker}); it may crash its worker. Raise maxRecoveries if that is expected.` };
      const now = Date.now();
      const result: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, error, attempts: env.att, finishedAt: now };
      deliveries.push(deadDelivery(names, { k: 'd', id: env.id, task: env.task, queue: names.queue, error, attempts: env.att, failedAt: now, env, ...jsonMark(asJson) }), resultDelivery(names, result, asJson));
      if (Number.isFinite(this.c.resultTtlMs)) extra.push(expiryEntry(names, names.result(env.id), this.c.resultTtlMs, now)); // 'infinite': none
    } else deliveries.push(taskDelivery(names, env, asJson));
    await finishSlot(ns, names, myRun, myOut, deliveries, extra);
    if (dead && env.ddp !== undefined) await releaseDedupKey(ns, names.dedup(env.ddp), env.id);
    this.c.log.info({ taskId: env.id, task: env.task, from: worker, recoveries: env.rec, deadLettered: dead }, dead ? 'recovered task dead-lettered' : 'recovered task requeued');
    this.c.onRecovered(env, dead);
    return 1;
  }
}
