/**
 * TaskClient: submits typed tasks and returns handles on their results.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Broker, ConfigError, type Duration, type Namespace, parseDuration } from '@tsdbr/core';
import { claimDedupKey, releaseDedupKey } from './dedup.js';
import { BELL, encode, type TaskEnvelope } from './envelope.js';
import { ClientClosedError, InvalidInputError, toError, toIssues } from './errors.js';
import { checkId, checkQueue, QueueNames } from './protocol.js';
import { delaysEntry, taskArrival, taskDestination } from './outcome.js';
import { type AnyTask, isTask, type Task, type TaskInput, type TaskOutput } from './task.js';
import { cancelTask, TaskHandle } from './task-handle.js';
import { defaultNamespace } from './worker-options.js';
import { checkHorizon, checkPriority, optionsObject, runAtMs, timerDuration } from './validate.js';
import { toWire } from './wire-shape.js';

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
  /** Run no earlier than this from now, e.g. '10s' (at most a year). */
  delay?: Duration;
  /** Run no earlier than this time: a Date or epoch ms (at most a year ahead). */
  runAt?: Date | number;
  /** Overrides the task's priority, an integer from -1,000,000 to 1,000,000: > 0 runs before 0, < 0 after. */
  priority?: number;
  /** At most one live task per key: submitting again while one lives returns a handle on it. */
  dedupKey?: string;
  /** Overrides the task's per-attempt timeout: more than 0 and at most 2^31-1 ms (about 24.8 days), or 'infinite'. */
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
  /** Aborted by close(): waiting result()s of this client's handles reject with ClientClosedError. */
  private readonly closed = new AbortController();
  private readonly options: TaskClientOptions;

  constructor(options: TaskClientOptions = {}) {
    this.options = optionsObject(options, 'new TaskClient() options');
  }

  /** The namespace (opened, or created, on first use). Rejects with ClientClosedError after close(). */
  namespace(): Promise<Namespace> {
    if (this.closed.signal.aborted) return Promise.reject(new ClientClosedError());
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
    checkTaskArg(task, 'submit');
    options = optionsObject(options, 'submit() options');
    const env = this.envelope(task, input, options, Date.now());
    const dedupKey = options.dedupKey === undefined ? undefined : checkId(options.dedupKey, 'Dedup key');
    if (dedupKey !== undefined) {
      if (env.nr === 1) throw new TypeError('ignoreResult and dedupKey do not mix: the submitters of a dedup key share its task\'s result.');
      env.ddp = dedupKey;
      env.keep = 1;
    }
    const names = this.names(task.queue);
    // encoded before the dedup key is claimed: an input that cannot be stored leaves no claim behind
    const puts = taskArrival(names, taskDestination(names, env), encodeTask(env));
    const ns = await this.namespace();
    if (dedupKey === undefined) await putTask(ns, puts);
    else {
      const key = names.dedup(dedupKey);
      const owner = await claimDedupKey(ns, names, dedupKey, env.id);
      if (owner !== env.id) return new TaskHandle(ns, names, owner, true, false, this.closed.signal, task.output);
      try {
        await putTask(ns, puts);
      } catch (err) {
        return releaseClaimAndThrow(ns, key, env.id, err);
      }
    }
    return new TaskHandle(ns, names, env.id, env.keep === 1, env.nr === 1, this.closed.signal, task.output);
  }

  /** Validates every input, then queues them all in one batch (one round trip on Redis). */
  async submitMany<T extends AnyTask>(task: T, inputs: readonly TaskInput<T>[], options: SubmitManyOptions = {}): Promise<TaskHandle<TaskOutput<T>>[]> {
    checkTaskArg(task, 'submitMany');
    if (!Array.isArray(inputs)) throw new ConfigError(`submitMany(task, inputs) needs an array of inputs, got ${typeof inputs}; to submit one input use submit().`);
    options = optionsObject(options, 'submitMany() options');
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
      entries.push([dest.to, encodeTask(env)]);
      bell ||= dest.bell; // one bell for the batch: it wakes a claim, which takes what it finds
      if (dest.delayed) entries.push(delaysEntry(names, dest.to));
    }
    if (bell) entries.push([names.pending('normal'), BELL]);
    await ns.putMany<Uint8Array>(entries);
    return envs.map((env) => new TaskHandle<TaskOutput<T>>(ns, names, env.id, false, env.nr === 1, this.closed.signal, task.output));
  }

  /**
   * A handle on a task submitted earlier (by id), e.g. after a restart. Given the task (not only its queue's
   * name), result() brings back the Maps and Sets its output schema has.
   */
  async handle<T extends AnyTask>(task: T | string, id: string, options: { keep?: boolean } = {}): Promise<TaskHandle<TaskOutput<T>>> {
    const queue = typeof task === 'string' ? task : task.queue;
    const output = typeof task === 'string' ? undefined : task.output;
    return new TaskHandle(await this.namespace(), this.names(queue), checkId(id), options.keep ?? false, false, this.closed.signal, output);
  }

  /** Cancels a task by queue and id (see TaskHandle.cancel). */
  async cancel(queue: string, id: string): Promise<void> {
    await cancelTask(await this.namespace(), this.names(queue), checkId(id));
  }

  /**
   * Closes the namespace if this client opened it. result()s still waiting on this client's handles reject
   * with ClientClosedError, and so does any later use of the client.
   */
  async close(): Promise<void> {
    if (!this.closed.signal.aborted) this.closed.abort(new ClientClosedError());
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
    const env: TaskEnvelope = { id: options.id !== undefined ? checkId(options.id) : newTaskId(), task: task.name, input: toWire(task.input, 'input', input), att: 1, at: now };
    if (options.retries !== undefined) {
      if (!Number.isInteger(options.retries) || options.retries < 0) throw new TypeError(`retries must be a non-negative integer, got ${options.retries}.`);
      env.max = options.retries + 1;
    }
    const pri = options.priority === undefined ? task.priority : checkPriority(options.priority, 'submit() priority');
    if (pri !== 0) env.pri = pri;
    if (options.timeout !== undefined) env.tmo = timerDuration(options.timeout, 'submit() timeout', { minMs: 1, infiniteOk: true });
    if (options.ignoreResult ?? task.ignoreResult) env.nr = 1;
    let due: number | undefined;
    if (options.runAt !== undefined) due = checkHorizon(runAtMs(options.runAt), now, 'runAt');
    if (options.delay !== undefined) due = Math.max(due ?? 0, checkHorizon(now + parseDuration(options.delay, 'delay'), now, 'delay'));
    if (due !== undefined && due > now) env.due = due;
    return env;
  }
}

/** The task argument of submit: a Task from defineTask (the client has no registry to look names up in). */
function checkTaskArg(task: unknown, method: string): void {
  if (isTask(task)) return;
  const got = typeof task === 'string' ? `the string ${JSON.stringify(task)}` : task === null ? 'null' : typeof task;
  throw new ConfigError(`${method}() needs the task object returned by defineTask(), got ${got}; import the task and pass it (a client cannot look tasks up by name).`);
}

/** Puts a task's tuples, several in one step (one on Redis: the queue's names share a slot). */
async function putTask(ns: Namespace, puts: [string, Uint8Array][]): Promise<void> {
  if (puts.length > 1) await ns.putMany<Uint8Array>(puts);
  else await ns.put(...(puts[0] as [string, Uint8Array]));
}

/** A submit's put failed after it claimed `key` for task `id`: frees the key (if still the task's), then rethrows. */
async function releaseClaimAndThrow(ns: Namespace, key: string, id: string, err: unknown): Promise<never> {
  try {
    await releaseDedupKey(ns, key, id);
  } catch (releaseErr) {
    throw new AggregateError(
      [err, releaseErr],
      `Submitting task ${id} failed (${toError(err).message}) and its dedup key could not be released; remove ${key} before submitting with that key again, or such a submit gets a handle on a task that may not exist.`,
    );
  }
  throw err;
}

/** Encodes a task envelope; an input that refers to itself (msgpack overflows the stack) gets a clear error. */
function encodeTask(env: TaskEnvelope): Uint8Array {
  try {
    return encode(env);
  } catch (err) {
    const path = err instanceof RangeError ? cyclePath(env.input, new Set()) : undefined;
    if (path === undefined) throw err;
    throw new ConfigError(`Input of task "${env.task}" cannot be serialized: it refers to itself at ${path || '(value)'}; pass plain data (a tree, no cycles).`, { cause: err });
  }
}

function cyclePath(value: unknown, ancestors: Set<object>): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (ancestors.has(value)) return '';
  ancestors.add(value);
  try {
    const entries: [unknown, unknown][] = value instanceof Map ? [...value.entries()] : value instanceof Set ? [...value].map((v, i) => [i, v]) : Object.entries(value);
    for (const [k, v] of entries) {
      const sub = cyclePath(v, ancestors);
      if (sub !== undefined) return sub === '' ? String(k) : `${String(k)}.${sub}`;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}
