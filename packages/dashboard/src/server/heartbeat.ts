/**
 * Worker heartbeats as the dashboard uses them. A `worker:<id>` tuple is anyone's to write, so every field is
 * checked before use: a field of the wrong type reads as missing, and a heartbeat without a string id is
 * skipped. One malformed heartbeat never takes the views down.
 * @module
 */
import { isRecord, num, str } from './field-checks.js';

/** A running task named in a heartbeat. */
export interface HeartbeatTaskView {
  id: string;
  task: string | null;
  queue: string | null;
  startedAt: number | null;
  progress: unknown;
}

/** A heartbeat with every field checked. */
export interface HeartbeatView {
  id: string;
  host: string | null;
  pid: number | null;
  startedAt: number | null;
  lastBeat: number | null;
  seq: number | null;
  leaseTtlMs: number | null;
  queues: string[];
  concurrency: number | null;
  tasks: HeartbeatTaskView[];
  completed: number | null;
  failed: number | null;
  /** Tasks finished (completed or failed) per queue, as the worker counts them. */
  finishedByQueue: Map<string, number>;
}

/** The checked heartbeat, or undefined if the value has no string id. */
export function checkHeartbeat(value: unknown): HeartbeatView | undefined {
  if (!isRecord(value) || typeof value.id !== 'string') return undefined;
  const queues = Array.isArray(value.queues) ? value.queues.filter((q): q is string => typeof q === 'string') : [];
  const stats = isRecord(value.stats) ? value.stats : {};
  const completed = num(stats.completed);
  const failed = num(stats.failed);
  return {
    id: value.id,
    host: str(value.host),
    pid: num(value.pid),
    startedAt: num(value.startedAt),
    lastBeat: num(value.lastBeat),
    seq: num(value.seq),
    leaseTtlMs: num(value.leaseTtlMs),
    queues,
    concurrency: num(value.concurrency),
    tasks: Array.isArray(value.tasks) ? value.tasks.flatMap(checkTask) : [],
    completed,
    failed,
    finishedByQueue: finishedByQueue(value.byQueue, queues[0], (completed ?? 0) + (failed ?? 0)),
  };
}

function checkTask(value: unknown): HeartbeatTaskView[] {
  if (!isRecord(value) || typeof value.id !== 'string') return [];
  return [{ id: value.id, task: str(value.task), queue: str(value.queue), startedAt: num(value.startedAt), progress: value.progress }];
}

function finishedByQueue(byQueue: unknown, firstQueue: string | undefined, total: number): Map<string, number> {
  const out = new Map<string, number>();
  if (isRecord(byQueue)) {
    for (const [queue, s] of Object.entries(byQueue)) if (isRecord(s)) out.set(queue, (num(s.completed) ?? 0) + (num(s.failed) ?? 0));
    return out;
  }
  // Without per-queue counters (older workers), a worker's finished tasks count for its first queue.
  if (firstQueue !== undefined && total > 0) out.set(firstQueue, total);
  return out;
}
