/**
 * Every tuple name of the task protocol, in one place (docs/protocol.md describes them for C and Python
 * programs). Names that must move together atomically share the Redis Cluster hash tag `{<queue>}`.
 * @module
 */
import { ConfigError, DBR_MAX_KEY_LEN } from '@tsdbr/core';

/** Priority bands of a queue: `hi` (priority > 0), `normal` (0) and `lo` (< 0). */
export type Band = 'hi' | 'normal' | 'lo';

/** Bands in claim order. */
export const BANDS: readonly Band[] = ['hi', 'normal', 'lo'];

/** Granularity of delayed-task buckets: a due time is rounded up to a multiple of this. */
export const DELAY_BUCKET_MS = 100;

/** Granularity of expiry buckets. */
export const EXPIRE_BUCKET_MS = 60_000;

/** The default queue of tasks that name none. */
export const DEFAULT_QUEUE = 'default';

const QUEUE_RE = /^[A-Za-z0-9_.-]{1,100}$/;
const ID_RE = /^[A-Za-z0-9_.@-]{1,200}$/;

/** "." and "..": a URL path reads them as "this folder" and "the parent", so the dashboard could not link to them. */
const isDotSegment = (s: string) => s === '.' || s === '..';

/** Throws a ConfigError unless `queue` is a valid queue name. */
export function checkQueue(queue: string): string {
  if (typeof queue !== 'string' || !QUEUE_RE.test(queue) || isDotSegment(queue)) {
    throw new ConfigError(`Queue name ${JSON.stringify(queue)} is invalid: use 1-100 characters from A-Z a-z 0-9 _ . - (it becomes a Redis Cluster hash tag), other than "." and "..".`);
  }
  return queue;
}

/** Throws a ConfigError unless `id` is a valid task or worker id. */
export function checkId(id: string, what = 'Task id'): string {
  if (typeof id !== 'string' || !ID_RE.test(id) || isDotSegment(id)) {
    throw new ConfigError(`${what} ${JSON.stringify(id)} is invalid: use 1-200 characters from A-Z a-z 0-9 _ . @ -, other than "." and "..".`);
  }
  return id;
}

/** The band of a numeric priority. */
export function bandOf(priority: number | undefined): Band {
  if (priority === undefined || priority === 0 || Number.isNaN(priority)) return 'normal';
  return priority > 0 ? 'hi' : 'lo';
}

/** The bucket (epoch ms, a multiple of DELAY_BUCKET_MS) a task due at `dueMs` waits in. */
export function delayBucketOf(dueMs: number): number {
  return Math.ceil(dueMs / DELAY_BUCKET_MS) * DELAY_BUCKET_MS;
}

/** The expiry bucket (epoch ms, a multiple of EXPIRE_BUCKET_MS) of something that may be dropped after `atMs`. */
export function expireBucketOf(atMs: number): number {
  return Math.ceil(atMs / EXPIRE_BUCKET_MS) * EXPIRE_BUCKET_MS;
}

/** Tuple names of one queue. */
export class QueueNames {
  /** Prefix shared by every name of the queue: `q:{<queue>}:`. */
  readonly prefix: string;

  /** @param queue the queue's name (checked: see checkQueue). */
  constructor(readonly queue: string) {
    checkQueue(queue);
    this.prefix = `q:{${queue}}:`;
  }

  /** FIFO of task envelopes waiting in a band. `normal` is `q:{Q}:pending`; others `q:{Q}:pending:hi|lo`. */
  pending(band: Band = 'normal'): string {
    return band === 'normal' ? `${this.prefix}pending` : `${this.prefix}pending:${band}`;
  }

  /** A worker's claim slot: holds at most one task while it runs (the lease). */
  run(worker: string, slot: string | number): string {
    return `${this.prefix}run:${worker}:${slot}`;
  }

  /** Glob of every claim slot of the queue. */
  runPattern(): string {
    return `${this.prefix}run:*`;
  }

  /** A slot's outbox: the outcome of its task waits here until forwarded, so finishing is crash-safe. */
  outbox(worker: string, slot: string | number): string {
    return `${this.prefix}out:${worker}:${slot}`;
  }

  /** Glob of every outbox of the queue. */
  outboxPattern(): string {
    return `${this.prefix}out:*`;
  }

  /** Where a task's result envelope is put. */
  result(id: string): string {
    return `${this.prefix}result:${id}`;
  }

  /** Glob of every result of the queue. */
  resultPattern(): string {
    return `${this.prefix}result:*`;
  }

  /** FIFO of dead letters (tasks that failed for good), oldest first, bounded. */
  dead(): string {
    return `${this.prefix}dead`;
  }

  /** Bucket of delayed tasks due by `bucketMs` (epoch ms, multiple of DELAY_BUCKET_MS). */
  delayed(bucketMs: number): string {
    return `${this.prefix}delayed:${bucketMs}`;
  }

  /** Glob of every delayed bucket. */
  delayedPattern(): string {
    return `${this.prefix}delayed:*`;
  }

  /**
   * One entry (the bucket's epoch ms) per task waiting in a delayed bucket: workers tick through the buckets
   * only while it holds any, and wait on it (no polling) while it is empty.
   */
  delays(): string {
    return `${this.prefix}delays`;
  }

  /**
   * True if `key` (a task id or dedup key, perhaps written by another program) makes valid tuple names: no NUL
   * or newline, and short enough for the longest name it is part of.
   */
  fits(key: string): boolean {
    return !key.includes('\0') && !key.includes('\n') && Buffer.byteLength(this.retrying(key), 'utf8') <= DBR_MAX_KEY_LEN;
  }

  /** Cancel marker of a task. */
  cancel(id: string): string {
    return `${this.prefix}cancel:${id}`;
  }

  /** Holds a dead letter while `retryDeadLetter` (or `dbr tasks retry`) requeues its task. */
  retrying(id: string): string {
    return `${this.prefix}retrying:${id}`;
  }

  /** Dedup claim: the FIFO head is the id of the live task that owns the key. */
  dedup(key: string): string {
    return `${this.prefix}dedup:${key}`;
  }

  /** Expiry bucket: names (UTF-8) to remove once the bucket's time has passed. */
  expire(bucketMs: number): string {
    return `${this.prefix}expire:${bucketMs}`;
  }

  /** Glob of every expiry bucket. */
  expirePattern(): string {
    return `${this.prefix}expire:*`;
  }

  /** Parses a slot or outbox name of this queue into [worker, slot]; undefined if it is not one. */
  parseSlot(name: string): { kind: 'run' | 'out'; worker: string; slot: string } | undefined {
    for (const kind of ['run', 'out'] as const) {
      const p = `${this.prefix}${kind}:`;
      if (!name.startsWith(p)) continue;
      const rest = name.slice(p.length);
      const cut = rest.lastIndexOf(':');
      if (cut <= 0) return undefined;
      return { kind, worker: rest.slice(0, cut), slot: rest.slice(cut + 1) };
    }
    return undefined;
  }

  /** The bucket time of a delayed or expiry bucket name, or undefined. */
  parseBucket(name: string, kind: 'delayed' | 'expire'): number | undefined {
    const p = `${this.prefix}${kind}:`;
    if (!name.startsWith(p)) return undefined;
    const n = Number(name.slice(p.length));
    return Number.isFinite(n) ? n : undefined;
  }
}

/** Heartbeat (lease) of a worker: `worker:<workerId>`, replaced every few seconds. */
export function workerName(workerId: string): string {
  return `worker:${workerId}`;
}

/** Glob of every worker heartbeat. */
export const WORKER_PATTERN = 'worker:*';

/** Names of a workflow run's state. */
export class WorkflowNames {
  /** Prefix shared by every name of the run: `wf:<workflow>:<run>:`. */
  readonly prefix: string;

  /** @param workflow the workflow's name; @param runId the run's id. */
  constructor(
    readonly workflow: string,
    readonly runId: string,
  ) {
    this.prefix = `wf:${workflow}:${runId}:`;
  }

  /** The run's summary (status, counts), replaced as it progresses. */
  info(): string {
    return `${this.prefix}info`;
  }

  /** Marker: the step's task was submitted (value: {id, queue}). */
  submitted(step: string): string {
    return `${this.prefix}sub:${step}`;
  }

  /** The step's abandoned submissions (one value, the task id, each): a resubmission takes a fresh task id. */
  abandoned(step: string): string {
    return `${this.prefix}gone:${step}`;
  }

  /** The step's saved output (value: {output}). */
  output(step: string): string {
    return `${this.prefix}out:${step}`;
  }

  /** Glob of all the run's state. */
  pattern(): string {
    return `${this.prefix}*`;
  }
}

/** Glob of every workflow run's summary. */
export const WORKFLOW_INFO_PATTERN = 'wf:*:info';
