/**
 * Operator actions on queues, shared by `dbr tasks` and the dashboard: requeue a dead letter, cancel a task,
 * purge a queue's waiting tasks. Each keeps the protocol's guarantees (docs/protocol.md): a value only ever
 * moves atomically inside the tuple space, so a crash mid-way loses no task.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { classify, encode, isJson, type TaskEnvelope } from './envelope.js';
import { taskArrival, taskDestination } from './outcome.js';
import { BANDS, checkId, QueueNames } from './protocol.js';
import { cancelTask as putCancelMarker } from './task-handle.js';

/**
 * Puts a dead-lettered task back on its queue with fresh attempts, and drops its failed result (it would
 * answer `result()` first). The dead-letter list is rotated once, each step one atomic move, so the other
 * letters keep their order and none is lost if this process dies. The letter being retried sits in
 * `q:{Q}:retrying:<id>` until the task is requeued.
 * @returns the requeued envelope, or undefined if the queue holds no dead letter of that id.
 */
export async function retryDeadLetter(ns: Namespace, queue: string, id: string): Promise<TaskEnvelope | undefined> {
  const names = new QueueNames(queue);
  checkId(id);
  const dead = names.dead();
  const n = await ns.count(dead);
  let taken: { env: TaskEnvelope; json: boolean } | undefined;
  const scratch = names.retrying(id);
  for (let i = 0; i < n; i++) {
    let head: Buffer;
    try {
      head = await ns.read(dead, { timeout: 0 });
    } catch {
      break; // emptied meanwhile (trimmed)
    }
    const s = classify(head);
    if (taken === undefined && s.kind === 'dead' && s.env.id === id && typeof s.env.env === 'object' && s.env.env !== null) {
      const bytes = await ns.moveValue(dead, ns, scratch, { timeout: 0 });
      const letter = classify(bytes);
      if (letter.kind !== 'dead' || letter.env.id !== id) {
        // the head changed between read and move (a trim): put it back at the tail and go on
        await ns.moveValue(scratch, ns, dead, { timeout: 0 });
        continue;
      }
      taken = { env: letter.env.env, json: letter.env.json === 1 || isJson(bytes) };
    } else {
      await ns.moveValue(dead, ns, dead, { timeout: 0 });
    }
  }
  if (taken === undefined) return undefined;
  const env: TaskEnvelope = { ...taken.env, att: 1 };
  delete env.due;
  delete env.rec;
  await ns.remove(names.result(id));
  await ns.putMany(taskArrival(names, taskDestination(names, env), encode(env, taken.json)));
  await ns.remove(scratch);
  return env;
}

/**
 * Cancels a task by queue and id (see TaskHandle.cancel): a running one's ctx.signal aborts at once; a waiting
 * one is stopped as soon as a worker claims it. The cancel marker expires after a day.
 */
export async function cancelTask(ns: Namespace, queue: string, id: string): Promise<void> {
  await putCancelMarker(ns, new QueueNames(queue), checkId(id));
}

/** Removes every waiting and delayed task of a queue (running tasks and dead letters stay). Returns how many. */
export async function purgeQueue(ns: Namespace, queue: string): Promise<number> {
  const names = new QueueNames(queue);
  let removed = 0;
  // their count first: a delayed submit racing the purge then leaves an entry too many, never a task uncounted
  await ns.remove(names.delays());
  for (const band of BANDS) {
    const name = names.pending(band);
    removed += await ns.count(name);
    await ns.remove(name);
  }
  for (const bucket of await ns.list(names.delayedPattern())) {
    removed += await ns.count(bucket);
    await ns.remove(bucket);
  }
  return removed;
}
