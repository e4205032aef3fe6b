/**
 * Operator actions on queues, shared by `dbr tasks` and the dashboard: requeue a dead letter, cancel a task,
 * purge a queue's waiting tasks. Each keeps the protocol's guarantees (docs/protocol.md): a value only ever
 * moves atomically inside the tuple space, so a crash mid-way loses no task.
 * @module
 */
import { type Namespace, parseDuration } from '@tsdbr/core';
import { claimDedupKey, releaseDedupKey } from './dedup.js';
import { BELL, classify, type DeadLetter, encode, isJson, type ResultEnvelope, type Stored, type TaskEnvelope } from './envelope.js';
import { findFinishing } from './inspect.js';
import { expiryEntryOf, taskDestination } from './outcome.js';
import { BANDS, checkId, QueueNames } from './protocol.js';
import { cancelTask as putCancelMarker } from './task-handle.js';
import { TaskStillFinishingError } from './errors.js';
import { DEFAULT_RESULT_TTL } from './worker-options.js';

/** What {@link retryDeadLetter} requeued. */
export interface RetriedTask {
  /** The envelope as requeued (attempt 1; without its dedup key if `dedupKeyTakenBy` is set). */
  env: TaskEnvelope;
  /**
   * The id of the live task that owns the retried task's dedup key now (submitted after the key was released
   * when this one died): the task was requeued without its key, so the two do not share a result.
   */
  dedupKeyTakenBy?: string;
}

/**
 * Puts a dead-lettered task back on its queue with fresh attempts: drops its failed result (it would answer
 * `result()` first) and its cancel marker (left by a cancel of the finished task, it would cancel the new run),
 * and claims its dedup key again (released when it died; if another live task owns it by now, the task goes
 * back without it: see {@link RetriedTask}).
 *
 * The letter is taken from the dead-letter list by rotating the list once, each step one atomic move, so the
 * other letters keep their order and none is lost if this process dies. A letter appended meanwhile (a task
 * failing during the rotation) lands before the letters rotated after it, so the list is then not strictly
 * oldest-first and a trim may drop that newer letter before older ones: there is no atomic primitive to take
 * a value from the middle of a list.
 *
 * The taken letter waits in `q:{Q}:retrying:<id>` until one atomic step pops it and puts the task in its band.
 * A retry interrupted before that step (a crash, a lost connection) leaves the letter there, and the next retry
 * of the same id requeues it first.
 *
 * @returns what was requeued, or undefined if the queue holds no dead letter of that id.
 * @throws TaskStillFinishingError while a worker's outbox still holds an outcome of the task: its failed result
 *   would arrive after the retry and answer `result()` in place of the new run's.
 */
export async function retryDeadLetter(ns: Namespace, queue: string, id: string): Promise<RetriedTask | undefined> {
  const names = new QueueNames(queue);
  checkId(id);
  if ((await ns.tryRead(names.retrying(id))) !== undefined) return requeueFromScratch(ns, names, id);
  if ((await findFinishing(ns, names, id)) !== undefined) throw new TaskStillFinishingError(queue, id);
  if (!(await takeDeadLetter(ns, names, id))) return undefined;
  return requeueFromScratch(ns, names, id);
}

/** Moves the dead letter of `id` into `q:{Q}:retrying:<id>`, rotating the list once. False if there is none. */
async function takeDeadLetter(ns: Namespace, names: QueueNames, id: string): Promise<boolean> {
  const dead = names.dead();
  const scratch = names.retrying(id);
  const n = await ns.count(dead);
  let taken = false;
  for (let i = 0; i < n; i++) {
    let head: Buffer;
    try {
      head = await ns.read(dead, { timeout: 0 });
    } catch {
      break; // emptied meanwhile (trimmed)
    }
    if (!taken && isRetryableLetter(classify(head), id)) {
      const bytes = await ns.moveValue(dead, ns, scratch, { timeout: 0 });
      if (!isRetryableLetter(classify(bytes), id)) {
        // the head changed between read and move (a trim): put it back at the tail and go on
        await ns.moveValue(scratch, ns, dead, { timeout: 0 });
        continue;
      }
      taken = true;
    } else {
      await ns.moveValue(dead, ns, dead, { timeout: 0 });
    }
  }
  return taken;
}

function isRetryableLetter(s: Stored, id: string): s is { kind: 'dead'; env: DeadLetter } {
  return s.kind === 'dead' && s.env.id === id && typeof s.env.env === 'object' && s.env.env !== null;
}

/**
 * Requeues the task of the letter in `q:{Q}:retrying:<id>`. Each step can be repeated after an interruption,
 * and the last one, which pops the letter and puts the task in its band, is one atomic step: of two retries of
 * the id racing, one requeues it.
 */
async function requeueFromScratch(ns: Namespace, names: QueueNames, id: string): Promise<RetriedTask | undefined> {
  const scratch = names.retrying(id);
  const head = await ns.tryRead(scratch);
  if (head === undefined) return undefined; // a concurrent retry of the id requeued it
  const stored = classify(head);
  if (!isRetryableLetter(stored, id)) {
    await ns.tryGet(scratch); // not a letter a retry took: nothing to requeue
    return undefined;
  }
  const letter = stored.env;
  const env: TaskEnvelope = { ...letter.env, att: 1 };
  delete env.due;
  delete env.rec;
  const retried: RetriedTask = { env };
  // the old result goes first: a submit that found it beside the key's new claim would take the key over
  await ns.remove(names.result(id));
  await ns.remove(names.cancel(id));
  if (env.ddp !== undefined && names.fits(String(env.ddp))) {
    const owner = await claimDedupKey(ns, names, String(env.ddp), id);
    if (owner !== id) {
      delete env.ddp;
      retried.dedupKeyTakenBy = owner;
    }
  }
  const dest = taskDestination(names, env);
  if (!(await ns.popPut(scratch, dest.to, encode(env, letter.json === 1 || isJson(head))))) return undefined;
  if (dest.bell) await ns.put(names.pending('normal'), BELL);
  return retried;
}

/**
 * Cancels a task by queue and id (see TaskHandle.cancel): a running one's ctx.signal aborts at once; a waiting
 * one is stopped as soon as a worker claims it. The cancel marker expires after a day.
 */
export async function cancelTask(ns: Namespace, queue: string, id: string): Promise<void> {
  await putCancelMarker(ns, new QueueNames(queue), checkId(id));
}

/**
 * Removes every waiting and delayed task of a queue (running tasks and dead letters stay). Each ends as a
 * cancelled task: its result says so (result() rejects with TaskCancelledError instead of waiting for good; a
 * workflow step submits it again when its run resumes), and its dedup window ends. Takes the values there are
 * when it looks, 64 at a time. Returns how many tasks it removed (bells are none).
 */
export async function purgeQueue(ns: Namespace, queue: string): Promise<number> {
  const names = new QueueNames(queue);
  let removed = 0;
  // their count first: a delayed submit racing the purge then leaves an entry too many, never a task uncounted
  await ns.remove(names.delays());
  for (const band of BANDS) removed += await takeTasks(ns, names, names.pending(band));
  for (const bucket of await ns.list(names.delayedPattern())) removed += await takeTasks(ns, names, bucket);
  return removed;
}

/** Values a purge takes at once (one pipelined burst on Redis): a crash mid-purge loses at most this many results. */
const PURGE_CHUNK = 64;

/** Takes the values `name` holds now, ending each task as cancelled (see purgeQueue); returns how many were tasks. */
async function takeTasks(ns: Namespace, names: QueueNames, name: string): Promise<number> {
  const ttlMs = parseDuration(DEFAULT_RESULT_TTL, 'resultTtl'); // the workers' default: purge knows nothing of theirs
  let tasks = 0;
  for (let left = await ns.count(name); left > 0; ) {
    const n = Math.min(left, PURGE_CHUNK);
    left -= n;
    const taken = (await Promise.all(Array.from({ length: n }, () => ns.tryGet(name)))).filter((b) => b !== undefined);
    const now = Date.now();
    const results: [string, Uint8Array | string][] = [];
    const keys: [string, string][] = [];
    for (const bytes of taken) {
      const stored = classify(bytes);
      if (stored.kind !== 'task') continue;
      tasks++;
      const env = stored.env;
      if (env.nr !== 1 && names.fits(env.id)) {
        const result: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, cancelled: true, error: { name: 'TaskCancelledError', message: `Task ${env.id} was purged from queue ${names.queue} before it ran.` }, attempts: env.att - 1, finishedAt: now };
        results.push([names.result(env.id), encode(result, isJson(bytes))]);
      }
      if (env.ddp !== undefined && names.fits(String(env.ddp))) keys.push([names.dedup(env.ddp), env.id]);
    }
    // the results and one expiry entry naming them all: one step (a queue's names share a hash slot)
    if (results.length > 0) await ns.putMany([...results, expiryEntryOf(names, results.map(([name]) => name), ttlMs, now)]);
    await Promise.all(keys.map(([key, id]) => releaseDedupKey(ns, key, id)));
    if (taken.length < n) break; // claimed or promoted meanwhile
  }
  return tasks;
}

