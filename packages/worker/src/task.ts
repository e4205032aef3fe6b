/**
 * defineTask: a typed task. The zod schemas give submit() and result() their types, and are checked at
 * submit (input), on the worker (input again) and after run() (output).
 * @module
 */
import type { Duration, Namespace } from '@tsdbr/core';
import { ConfigError, parseDuration } from '@tsdbr/core';
import type { Logger } from 'pino';
import type { input as zInput, output as zOutput, ZodType } from 'zod';
import type { ExecOptions, ExecResult } from './exec.js';
import { checkQueue, DEFAULT_QUEUE } from './protocol.js';
import { type BackoffOptions, compileBackoff, type CompiledBackoff } from './retry.js';
import { checkPriority, MAX_TIMER_MS, optionsObject, timerDuration } from './validate.js';

/** How often a task may start, per worker process or thread (p-queue's interval cap). */
export interface RateLimit {
  /** Starts allowed per interval. */
  max: number;
  /** The interval, e.g. '1s' (at most 2^31-1 ms, about 24.8 days). */
  per: Duration;
}

/** Progress of a running task: a fraction 0..1, or done/total, with an optional message. */
export type Progress = number | { done: number; total: number; message?: string };

/** What run() gets besides its input. */
export interface TaskContext {
  /** The task's id. */
  readonly id: string;
  /** The task's name. */
  readonly task: string;
  /** The queue it came from. */
  readonly queue: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  /** Attempts allowed in all. */
  readonly maxAttempts: number;
  /** Aborts on timeout (TaskTimeoutError), cancel (TaskCancelledError) or worker shutdown (WorkerShutdownError). */
  readonly signal: AbortSignal;
  /** A pino logger bound to the task id, name and attempt. */
  readonly log: Logger;
  /** The namespace the queue lives in: put large data there as tuples and pass names in inputs and outputs. */
  readonly ns: Namespace;
  /** Reports progress (shown in heartbeats, `dbr tasks inspect` and the dashboard). */
  progress(value: Progress): void;
  /**
   * Runs an external program in its own process group, streaming its output to ctx.log. A non-zero exit
   * rejects with ExecError; abort (timeout, cancel, shutdown) kills the whole process group. Starts nothing
   * before the worker looked for a cancel marker of the task (one round trip after the claim): a task
   * cancelled while it was queued rejects with TaskCancelledError instead.
   */
  exec(command: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

/** What defineTask takes. */
export interface TaskDefinition<I extends ZodType, O extends ZodType> {
  /** Unique name of the task (within its queue). */
  name: string;
  /** Schema of the input. */
  input: I;
  /** Schema of the output. */
  output: O;
  /** The work. Honour ctx.signal to stop early on timeout or cancel. */
  run: (input: zOutput<I>, ctx: TaskContext) => Promise<zInput<O>> | zInput<O>;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** Delay between retries: exponential with jitter by default (first retry after 1s). */
  backoff?: BackoffOptions | Duration;
  /** Per-attempt time limit, e.g. '30s': more than 0 and at most 2^31-1 ms (about 24.8 days). Default 'infinite' (none). */
  timeout?: Duration;
  /** Default priority, an integer from -1,000,000 to 1,000,000; > 0 runs before 0, < 0 after (default 0). */
  priority?: number;
  /** Queue the task is submitted to (default 'default'). */
  queue?: string;
  /** At most `max` starts per `per`, per worker. */
  rateLimit?: RateLimit;
  /**
   * Nobody reads this task's results: workers store none (Celery's ignore_result, BullMQ's removeOnComplete),
   * which saves a tuple and a round trip per task. Failures still go to the dead-letter list. Default false.
   */
  ignoreResult?: boolean;
}

/** A defined task, typed by its schemas. Pass it to TaskClient.submit and Worker({tasks}). */
export interface Task<I extends ZodType = ZodType, O extends ZodType = ZodType> {
  readonly kind: 'tsdbr.task';
  readonly name: string;
  readonly queue: string;
  readonly input: I;
  readonly output: O;
  readonly run: TaskDefinition<I, O>['run'];
  /** Attempts in all (retries + 1). */
  readonly maxAttempts: number;
  readonly backoff: CompiledBackoff;
  /** Per-attempt timeout in ms (Infinity for none). */
  readonly timeoutMs: number;
  readonly priority: number;
  readonly rateLimit: { max: number; perMs: number } | undefined;
  /** Workers store no result (see TaskDefinition.ignoreResult). */
  readonly ignoreResult: boolean;
}

/** The input type a task accepts at submit. */
export type TaskInput<T> = T extends Task<infer I, ZodType> ? zInput<I> : never;
/** The output type result() resolves to. */
export type TaskOutput<T> = T extends Task<ZodType, infer O> ? zOutput<O> : never;

/** Any task. */
// biome-ignore lint: the variance of Task's schemas makes `any` the honest bound here
export type AnyTask = Task<any, any>;

/** Defines a typed task. */
export function defineTask<I extends ZodType, O extends ZodType>(definition: TaskDefinition<I, O>): Task<I, O> {
  if (typeof definition !== 'object' || definition === null) throw new ConfigError(`defineTask() needs a definition object { name, input, output, run }, got ${definition === null ? 'null' : typeof definition}.`);
  const what = `defineTask "${definition.name}"`;
  if (typeof definition.name !== 'string' || !/^[A-Za-z0-9_.:@/-]{1,200}$/.test(definition.name)) {
    throw new TypeError(`${what}: name must be 1-200 characters from A-Z a-z 0-9 _ . : @ / -.`);
  }
  if (typeof definition.run !== 'function') throw new TypeError(`${what}: run must be a function (input, ctx) => output.`);
  if (definition.input === undefined || typeof (definition.input as ZodType).safeParse !== 'function') throw new TypeError(`${what}: input must be a zod schema, e.g. z.object({...}).`);
  if (definition.output === undefined || typeof (definition.output as ZodType).safeParse !== 'function') throw new TypeError(`${what}: output must be a zod schema, e.g. z.number().`);
  const retries = definition.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError(`${what}: retries must be a non-negative integer, got ${retries}.`);
  const rateLimit = compileRateLimit(definition.rateLimit, what);
  return Object.freeze({
    kind: 'tsdbr.task' as const,
    name: definition.name,
    queue: checkQueue(definition.queue ?? DEFAULT_QUEUE),
    input: definition.input,
    output: definition.output,
    run: definition.run,
    maxAttempts: retries + 1,
    backoff: compileBackoff(definition.backoff, what),
    timeoutMs: definition.timeout === undefined ? Infinity : timerDuration(definition.timeout, `${what}: timeout`, { minMs: 1, infiniteOk: true }),
    priority: definition.priority === undefined ? 0 : checkPriority(definition.priority, `${what}: priority`),
    rateLimit,
    ignoreResult: definition.ignoreResult === true,
  });
}

function compileRateLimit(limit: RateLimit | undefined, what: string): Task['rateLimit'] {
  if (limit === undefined) return undefined;
  const { max, per } = optionsObject(limit, `${what}: rateLimit`) as Partial<RateLimit>;
  if (!Number.isInteger(max) || (max as number) < 1) throw new TypeError(`${what}: rateLimit.max must be a positive integer, got ${max}.`);
  const perMs = parseDuration(per as Duration, `${what}: rateLimit.per`);
  if (!(perMs > 0 && perMs <= MAX_TIMER_MS)) throw new ConfigError(`${what}: rateLimit.per must be more than 0 and at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest Node timer), got ${String(per)}.`);
  return { max: max as number, perMs };
}

/** True if `value` is a task made by defineTask (works across module copies). */
export function isTask(value: unknown): value is AnyTask {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tsdbr.task';
}
