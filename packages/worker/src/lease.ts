/**
 * The worker's lease: a heartbeat tuple `worker:<id>` replaced every few seconds (put the new value, then pop
 * the old, so readers always find one). Every task in the worker's slots is leased by it. Other workers judge
 * liveness by seeing the heartbeat's sequence number change, on their own clocks, so clock skew between
 * nodes does not matter.
 * @module
 */
import { hostname } from 'node:os';
import type { Namespace } from '@tsdbr/core';
import { z } from 'zod';
import { decode } from './envelope.js';
import { workerName } from './protocol.js';

/** A running task as shown in a heartbeat. */
export interface HeartbeatTask {
  id: string;
  task: string;
  queue: string;
  attempt: number;
  startedAt: number;
  progress?: unknown;
}

/** Cumulative counters of a worker. */
export interface WorkerStats {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  dead: number;
  cancelled: number;
  recovered: number;
}

/** Per-queue counters of a worker. */
export interface QueueStats {
  /** Tasks of the queue completed. */
  completed: number;
  /** Tasks of the queue that failed for good (dead-lettered). */
  failed: number;
}

/** The JSON value of `worker:<id>`. */
export interface HeartbeatValue {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  lastBeat: number;
  /** Increases with every beat. */
  seq: number;
  leaseTtlMs: number;
  queues: string[];
  concurrency: number;
  tasks: HeartbeatTask[];
  stats: WorkerStats;
  /** Per-queue counters (absent in heartbeats of older workers). */
  byQueue?: Record<string, QueueStats>;
}

const count = z.number().int().nonnegative();
const timestamp = z.number().finite();
/** What a heartbeat must hold to be used: `worker:<id>` is anyone's to write. Unknown fields are kept. */
const heartbeatSchema = z.looseObject({
  id: z.string(),
  host: z.string(),
  pid: count,
  startedAt: timestamp,
  lastBeat: timestamp,
  seq: count,
  leaseTtlMs: z.number().positive(),
  queues: z.array(z.string()),
  concurrency: count,
  tasks: z.array(z.looseObject({ id: z.string(), task: z.string(), queue: z.string(), attempt: count, startedAt: timestamp, progress: z.unknown().optional() })),
  stats: z.looseObject({ claimed: count, completed: count, failed: count, retried: count, dead: count, cancelled: count, recovered: count }),
  byQueue: z.record(z.string(), z.looseObject({ completed: count, failed: count })).optional(),
});

/** The heartbeat in `bytes` (JSON, or msgpack from another writer), or undefined if it is not a well-formed one. */
export function parseHeartbeat(bytes: Buffer | undefined): HeartbeatValue | undefined {
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return undefined;
  }
  const checked = heartbeatSchema.safeParse(value);
  return checked.success ? (checked.data as HeartbeatValue) : undefined;
}

/** Writes a worker's heartbeat periodically. */
export class Heartbeat {
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private readonly name: string;

  constructor(
    private readonly ns: Namespace,
    private readonly id: string,
    private readonly intervalMs: number,
    private readonly describe: () => Pick<HeartbeatValue, 'queues' | 'concurrency' | 'tasks' | 'stats' | 'byQueue' | 'leaseTtlMs'>,
    private readonly onError: (err: unknown) => void,
  ) {
    this.name = workerName(id);
  }

  /** Writes the first beat, then beats every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      if (this.beating === undefined) {
        this.beating = this.beat()
          .catch(this.onError)
          .finally(() => (this.beating = undefined));
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Writes one beat now. */
  async beat(): Promise<void> {
    const value: HeartbeatValue = { id: this.id, host: hostname(), pid: process.pid, startedAt: this.startedAt, lastBeat: Date.now(), seq: ++this.seq, ...this.describe() };
    await this.ns.put(this.name, heartbeatJson(value));
    while ((await this.ns.count(this.name)) > 1) await this.ns.tryGet(this.name);
  }

  /** Stops beating and removes the heartbeat (the worker left cleanly). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.ns.remove(this.name).catch(() => undefined);
  }
}

/**
 * The heartbeat as JSON. A running task's progress that JSON cannot carry (a BigInt, a cycle) is left out
 * rather than failing the beat: a missed beat lets other workers recover tasks that are still running.
 */
function heartbeatJson(value: HeartbeatValue): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify({ ...value, tasks: value.tasks.map(({ progress: _dropped, ...task }) => task) });
  }
}

/** Reads a heartbeat; undefined if there is none. */
export async function readHeartbeat(ns: Namespace, workerId: string): Promise<HeartbeatValue | undefined> {
  return parseHeartbeat(await ns.tryRead(workerName(workerId)));
}

/** A worker not asked about for this many leases is forgotten: it left with its slots (asked about again, it is new). */
const FORGET_AFTER_LEASES = 10;

/**
 * Judges other workers' liveness from what this process observes: a worker is dead when its heartbeat is
 * missing, or when its sequence number has not changed for longer than the lease.
 */
export class LivenessTracker {
  private readonly seen = new Map<string, { seq: number; since: number }>();
  private readonly last = new Map<string, HeartbeatValue>();
  /** When each worker was last asked about. */
  private readonly asked = new Map<string, number>();
  private forgotAt = 0;

  constructor(
    private readonly ns: Namespace,
    private readonly leaseTtlMs: number,
  ) {}

  /** True if the worker holds a live lease. */
  async isAlive(workerId: string, now = Date.now()): Promise<boolean> {
    this.forgetUnasked(now);
    this.asked.set(workerId, now);
    const hb = await readHeartbeat(this.ns, workerId);
    if (hb === undefined) {
      this.seen.delete(workerId);
      return false;
    }
    this.last.set(workerId, hb);
    const prev = this.seen.get(workerId);
    if (prev === undefined || prev.seq !== hb.seq) {
      this.seen.set(workerId, { seq: hb.seq, since: now });
      // A heartbeat far older than the lease on our clock is dead too (tolerates skew up to 3 leases).
      return now - hb.lastBeat < 3 * Math.max(this.leaseTtlMs, hb.leaseTtlMs ?? 0);
    }
    return now - prev.since <= Math.max(this.leaseTtlMs, hb.leaseTtlMs ?? 0);
  }

  /** Forgets a worker (after its slots were recovered). */
  forget(workerId: string): void {
    this.seen.delete(workerId);
    this.last.delete(workerId);
    this.asked.delete(workerId);
  }

  /** Forgets the workers that left cleanly: nobody asks about them any more, and they would be kept for good. */
  private forgetUnasked(now: number): void {
    if (now - this.forgotAt < this.leaseTtlMs) return;
    this.forgotAt = now;
    for (const [id, at] of this.asked) if (now - at > FORGET_AFTER_LEASES * this.leaseTtlMs) this.forget(id);
  }

  /** Ids of the tasks the worker's last heartbeat seen here listed as running. */
  runningAtLastBeat(workerId: string): Set<string> {
    return new Set((this.last.get(workerId)?.tasks ?? []).map((t) => t.id));
  }
}
