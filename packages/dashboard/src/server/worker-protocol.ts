/**
 * The tuple names and values of @tsdbr/worker's task protocol (docs/protocol.md), as far as the dashboard
 * reads and acts on them. The dashboard reads them through @tsdbr/core only (no dependency on the worker
 * package, which itself starts the dashboard in `dbr run --dashboard`). Keep in step with
 * packages/worker/src/protocol.ts and envelope.ts.
 * @module
 */
import { msgpack } from '@tsdbr/core';

/** Priority bands, in claim order. */
export const BANDS = ['hi', 'normal', 'lo'] as const;
/** A band. */
export type Band = (typeof BANDS)[number];

/** Glob of every worker heartbeat. */
export const WORKER_PATTERN = 'worker:*';
/** Glob of every workflow run's summary. */
export const WORKFLOW_INFO_PATTERN = 'wf:*:info';
/** Globs whose names reveal a queue: its waiting bands and its dead letters. */
export const QUEUE_DISCOVERY_PATTERNS = ['q:{*}:pending', 'q:{*}:pending:hi', 'q:{*}:pending:lo', 'q:{*}:dead'];
const EXPIRE_BUCKET_MS = 60_000;
const CANCEL_MARKER_TTL_MS = 24 * 3_600_000;

/** The queue in a `q:{<queue>}:...` name, or undefined. */
export function queueOf(name: string): string | undefined {
  const m = /^q:\{([A-Za-z0-9_.-]{1,100})\}:/.exec(name);
  return m?.[1];
}

/** Tuple names of one queue. */
export class QueueNames {
  readonly prefix: string;
  constructor(readonly queue: string) {
    this.prefix = `q:{${queue}}:`;
  }
  pending(band: Band = 'normal'): string {
    return band === 'normal' ? `${this.prefix}pending` : `${this.prefix}pending:${band}`;
  }
  dead(): string {
    return `${this.prefix}dead`;
  }
  result(id: string): string {
    return `${this.prefix}result:${id}`;
  }
  cancel(id: string): string {
    return `${this.prefix}cancel:${id}`;
  }
  delayedPattern(): string {
    return `${this.prefix}delayed:*`;
  }
  expire(bucketMs: number): string {
    return `${this.prefix}expire:${bucketMs}`;
  }
  /** A scratch name holding one dead letter while it is retried. */
  retrying(id: string): string {
    return `${this.prefix}retrying:${id}`;
  }
}

/** A task waiting in a queue (short keys as the worker writes them). */
export interface TaskEnvelope {
  id: string;
  task: string;
  input: unknown;
  att: number;
  max?: number;
  at: number;
  pri?: number;
  tmo?: number;
  ddp?: string;
  due?: number;
  rec?: number;
  keep?: 1;
}

/** A task that failed for good, in `q:{Q}:dead`. */
export interface DeadLetter {
  k: 'd';
  id: string;
  task: string;
  queue: string;
  error: { name?: string; message?: string; stack?: string };
  attempts: number;
  failedAt: number;
  env: TaskEnvelope;
}

/** A running task in a heartbeat. */
export interface HeartbeatTask {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  startedAt: number;
  progress?: unknown;
}

/** The JSON value of `worker:<id>`. */
export interface HeartbeatValue {
  id: string;
  host?: string;
  pid?: number;
  startedAt?: number;
  lastBeat?: number;
  seq?: number;
  leaseTtlMs?: number;
  queues?: string[];
  concurrency?: number;
  tasks?: HeartbeatTask[];
  stats?: { completed?: number; failed?: number; dead?: number; byQueue?: Record<string, { completed?: number; failed?: number }> };
  /** Durations (ms) of tasks finished since the previous beat, per queue (if the worker reports them). */
  durations?: Record<string, number[]>;
}

const mp = msgpack<unknown>();

/** Decodes msgpack, or JSON when the first byte is `{`. */
export function decodeValue(bytes: Buffer): unknown {
  return bytes.length > 0 && bytes[0] === 0x7b ? JSON.parse(bytes.toString('utf8')) : mp.decode(bytes);
}

/** Encodes like the original value: JSON if `asJson`, else msgpack. */
export function encodeValue(value: unknown, asJson: boolean): Uint8Array {
  return asJson ? Buffer.from(JSON.stringify(value), 'utf8') : mp.encode(value);
}

/** True for the doorbell value `{k:'b'}`. */
export function isBell(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { k?: unknown }).k === 'b';
}

/** The bell (msgpack), put in the normal band when a task lands in `hi` or `lo`. */
export const BELL: Uint8Array = mp.encode({ k: 'b' });

/** The band of a priority. */
export function bandOf(priority: number | undefined): Band {
  if (priority === undefined || priority === 0 || Number.isNaN(priority)) return 'normal';
  return priority > 0 ? 'hi' : 'lo';
}

/** The cancel marker of a task and its expiry entry, as the worker's client writes them. */
export function cancelEntries(names: QueueNames, id: string, now = Date.now()): [string, Uint8Array][] {
  const marker = names.cancel(id);
  const bucket = Math.ceil((now + CANCEL_MARKER_TTL_MS) / EXPIRE_BUCKET_MS) * EXPIRE_BUCKET_MS;
  return [
    [marker, mp.encode({ at: now })],
    [names.expire(bucket), Buffer.from(marker, 'utf8')],
  ];
}

/** A progress value (number 0..1, 0..100, or {current,total}/{done,total}/{fraction}) as 0..1, plus a message. */
export function normalizeProgress(p: unknown): { progress: number | null; message: string | null } {
  if (typeof p === 'number' && Number.isFinite(p)) return { progress: p > 1 ? Math.min(1, p / 100) : Math.max(0, p), message: null };
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    const message = typeof o.message === 'string' ? o.message.slice(0, 200) : null;
    const num = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : undefined);
    const total = num('total');
    const done = num('current') ?? num('done') ?? num('completed');
    if (total !== undefined && total > 0 && done !== undefined) return { progress: Math.max(0, Math.min(1, done / total)), message };
    const frac = num('fraction') ?? num('progress') ?? num('percent');
    if (frac !== undefined) return { progress: frac > 1 ? Math.min(1, frac / 100) : Math.max(0, frac), message };
    return { progress: null, message };
  }
  if (typeof p === 'string') return { progress: null, message: p.slice(0, 200) };
  return { progress: null, message: null };
}
