/**
 * Worker options in three steps: what users write (human durations, optional fields), defaults (from the
 * environment where an HPC launcher sets them), and the compiled form the rest of the code uses.
 * @module
 */
import { availableParallelism, hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { type Broker, ConfigError, type Duration, type Namespace, parseDuration } from '@tsdbr/core';
import type { Logger } from 'pino';
import { checkId, checkQueue } from './protocol.js';
import { type AnyTask, isTask } from './task.js';
import { optionsObject, timerDuration } from './validate.js';

/** The most tasks one worker may run at once (each holds a claim slot and memory). */
export const MAX_CONCURRENCY = 10_000;
/** The shortest heartbeat and recovery intervals: shorter ones only load the tuple space. */
export const MIN_INTERVAL_MS = 10;

/** How long a result nobody reads is kept by default. */
export const DEFAULT_RESULT_TTL = '24h';

/** What `new Worker()` takes. */
export interface WorkerOptions {
  /** The tasks this worker runs. It serves their queues (plus `queues`). */
  tasks: AnyTask[];
  /** Tasks run at once, 1 to 10,000 (default: DBR_WORKER_CONCURRENCY, else 1). */
  concurrency?: number;
  /**
   * Tasks claimed ahead of free concurrency, so short tasks do not wait a round trip for the next claim.
   * 'auto' (default): about 50 ms of work at the recent average run time (at most 256 tasks), so no-op-sized
   * tasks stream while a 1 s simulation is never claimed ahead (it is left for other workers). A prefetched
   * task is leased like a running one, and released back to its queue at shutdown.
   */
  prefetch?: number | 'auto';
  /** Queues to serve, an array of names (default: the queues of `tasks`). */
  queues?: string[];
  /** Namespace name or an open Namespace (default: DBR_NAMESPACE, else 'tsdbr'). */
  namespace?: string | Namespace;
  /** Broker to open the namespace with (default: a new Broker configured from the environment). */
  broker?: Broker;
  /** How long a silent worker's tasks stay leased before others recover them, 200 ms to 2^31-1 ms (default: DBR_LEASE_TTL, else '30s'). */
  leaseTtl?: Duration;
  /** How often the heartbeat (lease) is renewed, at least 10 ms and less than leaseTtl (default: leaseTtl / 3). */
  heartbeatInterval?: Duration;
  /** How often this worker looks for dead workers' tasks, 10 ms to 2^31-1 ms (default: leaseTtl / 2). */
  recoveryInterval?: Duration;
  /** How long close() lets running tasks finish before requeueing them (default: DBR_SHUTDOWN_GRACE, else '30s'). */
  shutdownGrace?: Duration;
  /** Results nobody reads are dropped after this (default DEFAULT_RESULT_TTL, '24h'; 'infinite' keeps them). */
  resultTtl?: Duration;
  /** At most this many dead letters are kept per queue; older ones are dropped (default 10,000). */
  maxDeadLetters?: number;
  /** A task recovered from dead workers more often than this goes to the dead-letter list (default 5). */
  maxRecoveries?: number;
  /** This worker's id (default: host.pid[.thread].random). */
  workerId?: string;
  /** Root logger (default: a pino logger; pretty in a terminal). */
  logger?: Logger;
}

/** WorkerOptions with defaults applied, durations in ms. */
export interface CompiledWorkerOptions {
  tasks: Map<string, AnyTask>;
  concurrency: number;
  prefetch: number | 'auto';
  queues: string[];
  namespace: string | Namespace;
  broker: Broker | undefined;
  leaseTtlMs: number;
  heartbeatMs: number;
  recoveryMs: number;
  shutdownGraceMs: number;
  resultTtlMs: number;
  maxDeadLetters: number;
  maxRecoveries: number;
  workerId: string;
  logger: Logger | undefined;
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function positiveInt(value: unknown, what: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ConfigError(`${what} must be a positive integer, got ${JSON.stringify(value)}.`);
  return n;
}

function prefetchOf(value: unknown): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 1000) throw new ConfigError(`prefetch must be 'auto' or an integer from 0 to 1000, got ${JSON.stringify(value)}.`);
  return n;
}

/** The namespace name used when none is given: DBR_NAMESPACE, else 'tsdbr'. */
export function defaultNamespace(): string {
  return env('DBR_NAMESPACE') ?? 'tsdbr';
}

/** A fresh worker id: host.pid[.thread].random, safe in tuple names. */
export function newWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 60) || 'host';
  const thread = threadId === 0 ? '' : `.t${threadId}`;
  return `${host}.${process.pid}${thread}.${randomBytes(3).toString('hex')}`;
}

/** Default concurrency of a worker on an HPC node: the CPUs the launcher gave us, else all. */
export function defaultConcurrencyForNode(): number {
  for (const name of ['DBR_WORKER_CONCURRENCY', 'SLURM_CPUS_PER_TASK', 'LSB_DJOB_NUMPROC', 'OMP_NUM_THREADS']) {
    const v = env(name);
    if (v !== undefined && /^\d+$/.test(v) && Number(v) > 0) return Number(v);
  }
  return availableParallelism();
}

/** Applies defaults. */
export function withDefaults(options: WorkerOptions): WorkerOptions & Required<Pick<WorkerOptions, 'concurrency' | 'leaseTtl' | 'shutdownGrace' | 'resultTtl' | 'maxDeadLetters' | 'maxRecoveries'>> {
  return {
    ...options,
    concurrency: options.concurrency ?? (env('DBR_WORKER_CONCURRENCY') !== undefined ? Number(env('DBR_WORKER_CONCURRENCY')) : 1),
    leaseTtl: options.leaseTtl ?? (env('DBR_LEASE_TTL') as Duration | undefined) ?? '30s',
    shutdownGrace: options.shutdownGrace ?? (env('DBR_SHUTDOWN_GRACE') as Duration | undefined) ?? '30s',
    resultTtl: options.resultTtl ?? DEFAULT_RESULT_TTL,
    maxDeadLetters: options.maxDeadLetters ?? 10_000,
    maxRecoveries: options.maxRecoveries ?? 5,
  };
}

/** Validates and compiles options into what the worker uses. Nothing else parses them. */
export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  if (options === undefined || options === null) throw new ConfigError('new Worker() needs an options object with at least { tasks: [task, ...] }.');
  const o = withDefaults(optionsObject(options, 'new Worker() options'));
  if (!Array.isArray(o.tasks) || o.tasks.length === 0) throw new ConfigError('new Worker({ tasks }) needs at least one task made with defineTask().');
  if (o.queues !== undefined && !Array.isArray(o.queues)) throw new ConfigError(`new Worker({ queues }) needs an array of queue names, e.g. queues: [${JSON.stringify(String(o.queues))}], got ${typeof o.queues}.`);
  const tasks = new Map<string, AnyTask>();
  for (const t of o.tasks) {
    if (!isTask(t)) throw new ConfigError(`Worker tasks must be made with defineTask(); got ${typeof t}.`);
    const seen = tasks.get(t.name);
    if (seen !== undefined && seen !== t) throw new ConfigError(`Two different tasks are named "${t.name}"; task names must be unique per worker.`);
    tasks.set(t.name, t);
  }
  const queues = [...new Set([...(o.queues ?? []), ...[...tasks.values()].map((t) => t.queue)])].map(checkQueue);
  const leaseTtlMs = timerDuration(o.leaseTtl, 'leaseTtl', { minMs: 200 });
  const heartbeatMs = o.heartbeatInterval === undefined ? Math.max(50, Math.floor(leaseTtlMs / 3)) : timerDuration(o.heartbeatInterval, 'heartbeatInterval', { minMs: MIN_INTERVAL_MS });
  if (heartbeatMs >= leaseTtlMs) throw new ConfigError(`heartbeatInterval (${heartbeatMs} ms) must be shorter than leaseTtl (${leaseTtlMs} ms), or the worker's own tasks would be recovered while it runs them.`);
  const concurrency = positiveInt(o.concurrency, 'concurrency');
  if (concurrency > MAX_CONCURRENCY) throw new ConfigError(`concurrency must be at most ${MAX_CONCURRENCY}, got ${concurrency}; run more worker processes (or threads) to go wider.`);
  return {
    tasks,
    concurrency,
    prefetch: prefetchOf(o.prefetch ?? env('DBR_WORKER_PREFETCH') ?? 'auto'),
    queues,
    namespace: o.namespace ?? defaultNamespace(),
    broker: o.broker,
    leaseTtlMs,
    heartbeatMs,
    recoveryMs: o.recoveryInterval === undefined ? Math.max(100, Math.floor(leaseTtlMs / 2)) : timerDuration(o.recoveryInterval, 'recoveryInterval', { minMs: MIN_INTERVAL_MS }),
    shutdownGraceMs: parseDuration(o.shutdownGrace, 'shutdownGrace'),
    resultTtlMs: parseDuration(o.resultTtl, 'resultTtl'),
    maxDeadLetters: positiveInt(o.maxDeadLetters, 'maxDeadLetters'),
    maxRecoveries: positiveInt(o.maxRecoveries, 'maxRecoveries'),
    workerId: checkId(o.workerId ?? newWorkerId(), 'Worker id'),
    logger: o.logger,
  };
}
