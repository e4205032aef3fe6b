/**
 * A claimed task as a worker holds it (an Execution) and the per-queue state around it.
 * @module
 */
import type { Claimer } from './claimer.js';
import type { DelayedPromoter } from './delayed.js';
import type { TaskEnvelope } from './envelope.js';
import type { ExpirySweeper } from './expiry.js';
import type { LazyAbort } from './lazy-abort.js';
import type { QueueNames } from './protocol.js';
import type { Recovery } from './recovery.js';
import type { Progress } from './task.js';

/** A task claimed into a slot, from its claim until it is settled or released. */
export interface Execution {
  env: TaskEnvelope;
  queue: QueueState;
  /** Index of its claim slot in queue.slots. */
  slotIndex: number;
  slot: string;
  outbox: string;
  json: boolean;
  /** ctx.signal, made on first use. */
  abort: LazyAbort;
  startedAt: number;
  /** The attempt started (claimed tasks may wait in the scheduler first: prefetch). */
  started: boolean;
  /** The claim-time look for a cancel marker came back (a marker found aborts the task at once): see markCancelChecked. */
  cancelChecked: boolean;
  /** Who waits for that look: ctx.exec starts no program for a task that may have been cancelled while queued. */
  cancelCheckWaiters?: (() => void)[];
  /** The attempt is running: set when it starts, cleared when it ends. */
  attempting: boolean;
  /** The blocking get on the cancel marker of a long-running attempt (see watchCancels). */
  watcher?: AbortController;
  progress?: Progress;
  /** Requeued at shutdown: its outcome is discarded. */
  released: boolean;
  /** Its attempt is over and its outcome is being delivered: shutdown waits for it instead of requeuing it. */
  settling: boolean;
  /** The execution's whole course, from start to settled. */
  done?: Promise<void>;
  cancelled: boolean;
  /** No longer counted against concurrency: its finish is on its way (its slot stays taken until it lands). */
  unheld: boolean;
}

/** One queue a worker serves. */
export interface QueueState {
  names: QueueNames;
  claimer: Claimer;
  /** The dead-letter trim in progress. */
  trimming: Promise<void>;
  recovery: Recovery;
  promoter: DelayedPromoter;
  sweeper: ExpirySweeper;
}

/** The fields every task event carries. */
export function eventOf(ex: Execution): { id: string; task: string; queue: string; attempt: number } {
  return { id: ex.env.id, task: ex.env.task, queue: ex.queue.names.queue, attempt: ex.env.att };
}

/** The claim-time look for the task's cancel marker came back (or the task ended first): wakes who waits for it. */
export function markCancelChecked(ex: Execution): void {
  ex.cancelChecked = true;
  const waiters = ex.cancelCheckWaiters;
  ex.cancelCheckWaiters = undefined;
  if (waiters !== undefined) for (const wake of waiters) wake();
}
