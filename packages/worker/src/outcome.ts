/**
 * Finishing a claimed task crash-safely with only the tuple space's atomic steps. The outcome values
 * (result, dead letter, or the task again for a retry) are first appended to the slot's outbox, then the task
 * is dropped from its slot, then each outbox value is moved to its destination with moveValue. A worker that
 * dies at any point leaves either the task in its slot (no outcome yet: it is requeued) or outcome values in
 * its outbox (the task is done: they are forwarded). Outbox and destinations share the queue's hash tag.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { BELL, classify, encode, type DeadLetter, type ResultEnvelope, type Stored, type TaskEnvelope } from './envelope.js';
import { bandOf, delayBucketOf, expireBucketOf, type QueueNames } from './protocol.js';
import { describeThrown, UnstorableOutputError } from './errors.js';
import { once, type Retry } from './persist.js';

/** One value to deliver and where it goes. */
export interface Delivery {
  bytes: Uint8Array;
  /** Destination tuple name. */
  to: string;
  /** Ring the normal band's bell after delivering (the destination is the hi or lo band). */
  bell: boolean;
  /** Count the task in the queue's delays list after delivering (the destination is a delayed bucket). */
  delayed: boolean;
}

/** Where a value goes, and what to put after it (see Delivery). */
export type Destination = Omit<Delivery, 'bytes'>;

/** Where a stored outcome or task goes. */
export function destinationOf(names: QueueNames, stored: Stored, now = Date.now()): Destination | undefined {
  switch (stored.kind) {
    case 'result':
      return { to: names.result(stored.env.id), bell: false, delayed: false };
    case 'dead':
      return { to: names.dead(), bell: false, delayed: false };
    case 'task':
      return taskDestination(names, stored.env, now);
    default:
      return undefined;
  }
}

/** Where a task envelope waits: its delayed bucket if due later, else its band. */
export function taskDestination(names: QueueNames, env: TaskEnvelope, now = Date.now()): Destination {
  if (env.due !== undefined && env.due > now) return { to: names.delayed(delayBucketOf(env.due)), bell: false, delayed: true };
  const band = bandOf(env.pri);
  return { to: names.pending(band), bell: band !== 'normal', delayed: false };
}

/** The delays-list entry that counts a task put in the delayed bucket `bucketName`. */
export function delaysEntry(names: QueueNames, bucketName: string): [string, Uint8Array] {
  return [names.delays(), Buffer.from(bucketName.slice(bucketName.lastIndexOf(':') + 1), 'utf8')];
}

/** The puts that deliver one task to `dest`: the task, then its bell or its delays entry. */
export function taskArrival(names: QueueNames, dest: Destination, bytes: Uint8Array): [string, Uint8Array][] {
  const puts: [string, Uint8Array][] = [[dest.to, bytes]];
  if (dest.bell) puts.push([names.pending('normal'), BELL]);
  if (dest.delayed) puts.push(delaysEntry(names, dest.to));
  return puts;
}

/** A delivery of a task envelope. */
export function taskDelivery(names: QueueNames, env: TaskEnvelope, asJson: boolean): Delivery {
  return { bytes: encode(env, asJson), ...taskDestination(names, env) };
}

/** A delivery of a result envelope. */
export function resultDelivery(names: QueueNames, env: ResultEnvelope, asJson: boolean): Delivery {
  return { bytes: encode(env, asJson), to: names.result(env.id), bell: false, delayed: false };
}

/** The result's delivery, or the error that says why the output cannot be stored (built or encoded). */
export function storableResult(names: QueueNames, task: string, result: () => ResultEnvelope, json: boolean): Delivery | UnstorableOutputError {
  try {
    return resultDelivery(names, result(), json);
  } catch (err) {
    return new UnstorableOutputError(task, err instanceof Error ? err.message : describeThrown(err));
  }
}

/** A delivery of a dead letter. */
export function deadDelivery(names: QueueNames, env: DeadLetter): Delivery {
  return { bytes: encode(env), to: names.dead(), bell: false, delayed: false };
}

/**
 * The expiry-index entry for a result or cancel marker that may be dropped `ttlMs` after `writtenAt`, the time
 * stamped in its value (a result's finishedAt, a marker's at): the sweep then drops only that value, not one
 * written under the same name since (the result of a dead letter retried with the same id).
 */
export function expiryEntry(names: QueueNames, name: string, ttlMs: number, writtenAt: number): [string, string] {
  return expiryEntryOf(names, [name], ttlMs, writtenAt);
}

/** One expiry entry for several values written at the same time: a line each. */
export function expiryEntryOf(names: QueueNames, written: readonly string[], ttlMs: number, writtenAt: number): [string, string] {
  // a line of the bucket: the name, a space, and the stamp of the value to drop (see ExpirySweeper)
  return [names.expire(expireBucketOf(writtenAt + ttlMs)), written.map((name) => `${name} ${writtenAt}`).join('\n')];
}

/**
 * Delivers outcomes of the task held in `slot`: outbox first, then drop the task, then forward. `extra` puts
 * (expiry entries) travel with the outbox batch. The outbox must be empty to start with (an owner resumes an
 * interrupted finish before it uses the slot again).
 *
 * Each phase can be repeated by `retry` after a failure, including one whose request landed but whose reply
 * was lost: the outbox values go in one RPUSH, so a repeat first counts them; the slot holds one task, so
 * popping it twice pops nothing more; a repeated forward reads each value again from the outbox's head.
 */
export async function finishSlot(ns: Namespace, names: QueueNames, slot: string | undefined, outbox: string, deliveries: Delivery[], extra: [string, Uint8Array | string][] = [], retry: Retry = once): Promise<void> {
  if (deliveries.length > 0 || extra.length > 0) {
    let unsure = false;
    await retry(async () => {
      const staged = unsure && deliveries.length > 0 && (await ns.count(outbox)) >= deliveries.length;
      unsure = true;
      // extra entries only schedule a cleanup: one put twice does no harm
      await ns.putMany<Uint8Array | string>(staged ? extra : [...deliveries.map((d): [string, Uint8Array] => [outbox, d.bytes]), ...extra]);
    });
  }
  if (slot !== undefined) await retry(() => ns.tryGet(slot));
  let first = true;
  await retry(() => {
    if (!first) return drainOutbox(ns, names, outbox);
    first = false;
    return forward(ns, names, outbox, deliveries);
  });
}

/** Moves each delivery's value from the head of the outbox to its destination, in order. */
export async function forward(ns: Namespace, names: QueueNames, outbox: string, deliveries: Delivery[]): Promise<void> {
  let bell = false;
  for (const d of deliveries) {
    bell ||= d.bell;
    await arrive(ns, names, outbox, d);
  }
  if (bell) await ns.put(names.pending('normal'), BELL);
}

/**
 * Forwards whatever an outbox holds, oldest first, each value where its kind says (destinationOf). Safe to
 * repeat at any point: each step starts from the outbox's head as it is now. Values that are no outcome are
 * dropped, with `onStray` told.
 */
export async function drainOutbox(ns: Namespace, names: QueueNames, outbox: string, onStray?: () => void): Promise<void> {
  let bell = false;
  for (let bytes = await ns.tryRead(outbox); bytes !== undefined; bytes = await ns.tryRead(outbox)) {
    const dest = destinationOf(names, classify(bytes));
    if (dest === undefined) {
      onStray?.();
      await ns.tryGet(outbox);
      continue;
    }
    bell ||= dest.bell;
    await arrive(ns, names, outbox, dest);
  }
  if (bell) await ns.put(names.pending('normal'), BELL);
}

/** Moves the outbox's head to `dest`. */
async function arrive(ns: Namespace, names: QueueNames, outbox: string, dest: Destination): Promise<void> {
  // the entry first: a crash between leaves an entry that counts nothing (dropped later), not a task uncounted
  if (dest.delayed) await ns.put(...delaysEntry(names, dest.to));
  await ns.moveValue(outbox, ns, dest.to, { timeout: 0 });
}
