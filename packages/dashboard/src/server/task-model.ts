/**
 * The dashboard's view of task queues, workers and workflows. The tuple layout is @tsdbr/worker's
 * (docs/protocol.md); everything is read through @tsdbr/core namespaces.
 * @module
 */
import type { FailedPage, QueueCounts, WorkerInfo, WorkflowInfo } from '../api-types.js';

/** Counts of one queue at one moment, with the tasks finished since the previous sample. */
export interface QueueSample extends QueueCounts {
  namespace: string;
  queue: string;
  /** Live workers serving the queue. */
  workers: number;
  /** Durations (ms) of tasks seen finishing since the previous sample, where known. */
  durationsMs: number[];
}

/** What the dashboard reads about tasks, and the write actions on them. */
export interface TaskModel {
  /** Every queue with its counts. */
  queues(): Promise<QueueSample[]>;
  /** Failed (dead-lettered) tasks of a queue, a page at a time. */
  failed(namespace: string, queue: string, cursor: string | undefined, limit: number): Promise<FailedPage>;
  /** Workers with their heartbeats and current tasks. */
  workers(): Promise<WorkerInfo[]>;
  /** Workflows (without nodes). */
  workflows(): Promise<WorkflowInfo[]>;
  /** One workflow with its nodes, or undefined. */
  workflow(namespace: string, id: string): Promise<WorkflowInfo | undefined>;
  /** Puts a failed task back on its queue. */
  retry(namespace: string, queue: string, id: string): Promise<void>;
  /** Cancels a waiting or running task. */
  cancel(namespace: string, queue: string, id: string): Promise<void>;
  /** Removes every waiting task of a queue; returns how many. */
  purge(namespace: string, queue: string): Promise<number>;
}
