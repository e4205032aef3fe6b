/**
 * TaskClient: submits typed tasks and returns handles on their results.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Broker, type Duration, type Namespace, parseDuration } from '@tsdbr/core';
import { claimDedupKey } from './dedup.js';
import { BELL, encode, type TaskEnvelope } from './envelope.js';
import { InvalidInputError, toIssues } from './errors.js';
import { checkId, checkQueue, QueueNames } from './protocol.js';
import { taskDestination } from './outcome.js';
import type { AnyTask, Task, TaskInput, TaskOutput } from './task.js';
import { cancelTask, TaskHandle } from './task-handle.js';
import { defaultNamespace } from './worker-options.js';

/** What `new TaskClient()` takes. */
export interface TaskClientOptions {
  /** Namespace name or an open Namespace (default: DBR_NAMESPACE, else 'tsdbr'). */
  namespace?: string | Namespace;
  /** Broker to open the namespace with (default: a new Broker configured from the environment). */
  broker?: Broker;
}

/** Per-submit options. */
export interface SubmitOptions {
  /** The task's id (default: generated). Must be unique in the queue while the task lives. */
  id?: string;
  /** Run no earlier than this from now, e.g. '10s'. */
  delay?: Duration;
  /** Run no earlier than this time. */
  runAt?: Date | number;
  /** Overrides the task's priority: > 0 runs before 0, < 0 after. */
  priority?: number;
  /** At most one live task per key: submitting again while one lives returns a handle on it. */
  dedupKey?: string;
  /** Overrides the task's per-attempt timeout. */
  timeout?: Duration;
  /** Overrides the task's retries. */
  retries?: number;
  /** Overrides the task's ignoreResult: no result is stored, result() rejects with ResultNotStoredError. */
  ignoreResult?: boolean;
}

/** Options of submitMany (per-task ids and dedup keys are not available in bulk). */
export type SubmitManyOptions = Omit<SubmitOptions, 'id' | 'dedupKey'>;

let idPrefix = randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
let idCounter = 0;

/** A new task id: a random per-process prefix and a counter (short, unique, sortable per process). */
export function newTaskId(): string {
  if (idCounter >= 0x7fffffff) {
    idPrefix = randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
    idCounter = 0;
  }
  return `${idPrefix}-${(idCounter++).toString(36)}`;
}

/** Submits tasks to queues in a namespace. */
export class TaskClient implements AsyncDisposable {
  private nsPromise: Promise<Namespace> | undefined;
  private ownsBroker: Broker | undefined;
  private readonly queueNames = new Map<string, QueueNames>();

  constructor(private readonly options: TaskClientOptions = {}) {}

  /** The namespace (opened, or created, on first use). */
  namespace(): Promise<Namespace> {
    if (this.nsPromise === undefined) {
      const ns = this.options.namespace;
      if (ns !== undefined && typeof ns !== 'string') this.nsPromise = Promise.resolve(ns);
      else {
        const broker = this.options.broker ?? (this.ownsBroker = new Broker());
        this.nsPromise = broker.open(ns ?? defaultNamespace());
      }
    }
    return this.nsPromise;
  }

  /** Tuple names of a queue. */
  names(queue: string): QueueNames {
    let n = this.queueNames.get(queue);
    if (n === undefined) {
      n = new QueueNames(checkQueue(queue));
      this.queueNames.set(queue, n);
    }
    return n;
  }

  /**
   * Validates the input against the task's schema (rejecting with InvalidInputError and the zod issues)
   * and queues the task. Resolves once it is stored.
   */
  async submit<T extends AnyTask>(task: T, input: TaskInput<T>, options: SubmitOptions = {}): Promise<TaskHandle<TaskOutput<T>>> {
    const env = this.envelope(task, input, options, Date.now());
    const ns = await this.namespace();
    const names = this.names(task.queue);
    if (options.dedupKey !== undefined) {
      if (env.nr === 1) throw new TypeError('ignoreResult and dedupKey do not mix: the submitters of a dedup key share its task\'s result.');
      const owner = await claimDedupKey(ns, names.dedup(checkId(options.dedupKey, 'Dedup key')), env.id);
      if (owner !== env.id) return new TaskHandle(ns, names, owner, true);
      env.ddp = options.dedupKey;
      env.keep = 1;
    }
    const dest = taskDestination(names, env);
    const bytes = encode(env);
    if (dest.bell) await ns.putMany<Uint8Array>([[dest.to, bytes], [names.pending('normal'), BELL]]);
    else await ns.put(dest.to, bytes);
    return new TaskHandle(ns, names, env.id, env.keep === 1, env.nr === 1);
  }

  /** Validates every input, then queues them all in one batch (one round trip on Redis). */
  async submitMany<T extends AnyTask>(task: T, inputs: readonly TaskInput<T>[], options: SubmitManyOptions = {}): Promise<TaskHandle<TaskOutput<T>>[]> {
    if ((options as SubmitOptions).dedupKey !== undefined || (options as SubmitOptions).id !== undefined) {
      throw new TypeError('submitMany does not take `id` or `dedupKey`: submit such tasks one by one with submit().');
    }
    const now = Date.now();
    const envs = inputs.map((input) => this.envelope(task, input, options, now));
    const ns = await this.namespace();
    const names = this.names(task.queue);
    const entries: [string, Uint8Array][] = [];
    let bell = false;
    for (const env of envs) {
      const dest = taskDestination(names, env, now);
      entries.push([dest.to, encode(env)]);
      bell ||= dest.bell;
    }
    if (bell) entries.push([names.pending('normal'), BELL]);
    await ns.putMany<Uint8Array>(entries);
    return envs.map((env) => new TaskHandle<TaskOutput<T>>(ns, names, env.id, false, env.nr === 1));
  }

  /** A handle on a task submitted earlier (by id), e.g. after a restart. */
  async handle<T extends AnyTask>(task: T | string, id: string, options: { keep?: boolean } = {}): Promise<TaskHandle<TaskOutput<T>>> {
    const queue = typeof task === 'string' ? task : task.queue;
    return new TaskHandle(await this.namespace(), this.names(queue), checkId(id), options.keep ?? false);
  }

  /** Cancels a task by queue and id (see TaskHandle.cancel). */
  async cancel(queue: string, id: string): Promise<void> {
    await cancelTask(await this.namespace(), this.names(queue), checkId(id));
  }

  /** Closes the namespace if this client opened it. */
  async close(): Promise<void> {
    if (this.ownsBroker !== undefined) await this.ownsBroker.close();
    this.ownsBroker = undefined;
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal Builds and validates a task envelope. */
  envelope(task: Task, input: unknown, options: SubmitOptions, now: number): TaskEnvelope {
    const parsed = task.input.safeParse(input);
    if (!parsed.success) throw new InvalidInputError(task.name, toIssues(parsed.error.issues));
    const env: TaskEnvelope = { id: options.id !== undefined ? checkId(options.id) : newTaskId(), task: task.name, input, att: 1, at: now };
    if (options.retries !== undefined) {
      if (!Number.isInteger(options.retries) || options.retries < 0) throw new TypeError(`retries must be a non-negative integer, got ${options.retries}.`);
      env.max = options.retries + 1;
    }
    const pri = options.priority ?? task.priority;
    if (pri !== 0) env.pri = pri;
    if (options.timeout !== undefined) env.tmo = parseDuration(options.timeout, 'timeout');
    if (options.ignoreResult ?? task.ignoreResult) env.nr = 1;
    let due: number | undefined;
    if (options.runAt !== undefined) due = typeof options.runAt === 'number' ? options.runAt : options.runAt.getTime();
    if (options.delay !== undefined) due = Math.max(due ?? 0, now + parseDuration(options.delay, 'delay'));
    if (due !== undefined && due > now) env.due = due;
    return env;
  }
}
