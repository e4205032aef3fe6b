/**
 * Read-only inspection of the task protocol's tuples (docs/protocol.md): which queues a namespace holds, their
 * counts, dead letters, worker heartbeats and workflow runs. Dashboards and `dbr tasks` read through these
 * functions, so the tuple layout is known in one package only. Nothing here writes: see admin.ts for retry,
 * cancel and purge.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { classify, type DeadLetter, decode, type ResultEnvelope, type Stored } from './envelope.js';
import { type HeartbeatValue, parseHeartbeat } from './lease.js';
import { BANDS, type Band, QueueNames, WORKER_PATTERN, WORKFLOW_INFO_PATTERN, WorkflowNames } from './protocol.js';
import type { StepState } from './workflow.js';

/** Globs whose names reveal a queue: its waiting bands and its dead letters. */
export const QUEUE_DISCOVERY_PATTERNS: readonly string[] = ['q:{*}:pending', 'q:{*}:pending:hi', 'q:{*}:pending:lo', 'q:{*}:dead'];

const QUEUE_IN_NAME = /^q:\{([A-Za-z0-9_.-]{1,100})\}:/;

/** The queue a tuple name belongs to (`q:{<queue>}:...`), or undefined if it is no queue's. */
export function queueOf(name: string): string | undefined {
  return QUEUE_IN_NAME.exec(name)?.[1];
}

/** Options of {@link listQueues}. */
export interface ListQueuesOptions {
  /**
   * `'active'` (default): queues with a waiting band or dead letters (a few globs). `'all'`: every queue with
   * any tuple, including only delayed tasks or unread results (a walk over every queue tuple: slower, but no
   * queue is left out however many tuples the others hold).
   */
  scope?: 'active' | 'all';
  /** With scope `'active'`: at most this many names per glob (default 10,000). */
  limit?: number;
}

/** Names of the queues found in a namespace, sorted. Queues named only by workers' heartbeats are not included. */
export async function listQueues(ns: Namespace, options: ListQueuesOptions = {}): Promise<string[]> {
  const found = new Set<string>();
  const note = (name: string) => {
    const q = queueOf(name);
    if (q !== undefined) found.add(q);
  };
  if (options.scope === 'all') {
    // walked, not listed: a capped listing of a namespace where one queue holds many results would hide others
    for await (const name of ns.keys('q:{*}:*')) note(name);
  } else {
    const limit = options.limit ?? 10_000;
    for (const pattern of QUEUE_DISCOVERY_PATTERNS) for (const name of await ns.list(pattern, { limit })) note(name);
  }
  return [...found].sort();
}

/** Counts of one queue, from {@link queueCounts}. */
export interface QueueCounts {
  /** The queue. */
  queue: string;
  /** Values in each waiting band (doorbells included: see `bells`). */
  pending: Record<Band, number>;
  /** Sum of the bands. */
  waiting: number;
  /** Dead letters (tasks that failed for good). */
  dead: number;
  /** Tasks in delayed buckets (only with `detail: true`). */
  delayed?: number;
  /** Tasks in claim slots, i.e. running (only with `detail: true`). */
  running?: number;
  /** Unread results (only with `detail: true`). */
  results?: number;
  /**
   * Bells among the values of the normal band, counted in `pending.normal` and `waiting` (only with `detail` or
   * `bells`, and only when the band holds at most {@link BELL_SCAN_LIMIT} values).
   */
  bells?: number;
}

/** The most values of a normal band that `queueCounts` reads to tell its bells from its tasks. */
export const BELL_SCAN_LIMIT = 10_000; // one peek each, 8 at a time: ~0.6 s on Redis, ~0.15 s on mem

/** Peeks of a bell count under way at once (each is a blocking call on the libuv pool on Redis). */
const BELL_PEEKS_IN_FLIGHT = 8;

/** Bells and tasks are told apart by their first bytes: a bell is a few bytes, any larger value is no bell. */
const BELL_PEEK_BYTES = 32;

/**
 * Counts of a queue. Without options it costs four O(1) calls. `bells` adds a peek at a few bytes of each
 * value of the normal band (the bells a hi or lo task rings there are not tasks); `detail` adds that and a
 * glob walk each for the delayed buckets, the claim slots and the results.
 */
export async function queueCounts(ns: Namespace, queue: string, options: { detail?: boolean; bells?: boolean } = {}): Promise<QueueCounts> {
  const names = new QueueNames(queue);
  const pending = { hi: 0, normal: 0, lo: 0 } as Record<Band, number>;
  for (const band of BANDS) pending[band] = await ns.count(names.pending(band));
  const counts: QueueCounts = { queue, pending, waiting: pending.hi + pending.normal + pending.lo, dead: await ns.count(names.dead()) };
  if (options.detail) {
    let delayed = 0;
    for (const name of await ns.list(names.delayedPattern())) delayed += await ns.count(name);
    let running = 0;
    for (const name of await ns.list(names.runPattern())) running += await ns.count(name);
    counts.delayed = delayed;
    counts.running = running;
    counts.results = (await ns.list(names.resultPattern())).length;
  }
  if (options.detail || options.bells) {
    const bells = await bellsIn(ns, names.pending('normal'), pending.normal);
    if (bells !== undefined) counts.bells = bells;
  }
  return counts;
}

/** How many of the `n` values under `name` are bells, or undefined if there are more than BELL_SCAN_LIMIT. */
async function bellsIn(ns: Namespace, name: string, n: number): Promise<number | undefined> {
  if (n > BELL_SCAN_LIMIT) return undefined;
  let bells = 0;
  const isBell = async (index: number) => {
    const head = await ns.peek(name, { index, maxBytes: BELL_PEEK_BYTES }); // undefined: taken meanwhile
    if (head !== undefined && head.size <= BELL_PEEK_BYTES && classify(head.bytes).kind === 'bell') bells++;
  };
  for (let i = 0; i < n; i += BELL_PEEKS_IN_FLIGHT) {
    await Promise.all(Array.from({ length: Math.min(BELL_PEEKS_IN_FLIGHT, n - i) }, (_, k) => isBell(i + k)));
  }
  return bells;
}

/** One dead letter as {@link failedTasks} returns it. */
export interface FailedTaskEntry {
  /** Position in the page's order (0 = first of the whole list in that order). */
  position: number;
  /** The dead letter, or undefined if the value is not one (`problem` says why). */
  letter: DeadLetter | undefined;
  /** Why the value could not be read as a dead letter. */
  problem?: string;
}

/** Options of {@link failedTasks}. */
export interface FailedTasksOptions {
  /** Skip this many (default 0). */
  offset?: number;
  /** At most this many (default 50). */
  limit?: number;
  /** `'newest'` (default) or `'oldest'` first. */
  order?: 'newest' | 'oldest';
}

/** A page of a queue's dead letters, and how many there are in all. */
export async function failedTasks(ns: Namespace, queue: string, options: FailedTasksOptions = {}): Promise<{ total: number; tasks: FailedTaskEntry[] }> {
  const names = new QueueNames(queue);
  const offset = options.offset ?? 0;
  const limit = options.limit ?? 50;
  const total = await ns.count(names.dead());
  const tasks: FailedTaskEntry[] = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) {
    const bytes = await ns.tryRead(names.dead(), { index: options.order === 'oldest' ? i : total - 1 - i });
    if (bytes === undefined) break; // trimmed meanwhile
    const s = classify(bytes);
    tasks.push(s.kind === 'dead' ? { position: i, letter: s.env } : { position: i, letter: undefined, problem: `not a dead letter (${s.kind})` });
  }
  return { total, tasks };
}

/** Finds a queue's dead letter by task id. */
export async function findFailedTask(ns: Namespace, queue: string, id: string): Promise<DeadLetter | undefined> {
  const names = new QueueNames(queue);
  const total = await ns.count(names.dead());
  for (let i = 0; i < total; i++) {
    const bytes = await ns.tryRead(names.dead(), { index: i });
    if (bytes === undefined) return undefined;
    const s = classify(bytes);
    if (s.kind === 'dead' && s.env.id === id) return s.env;
  }
  return undefined;
}

/** A task's result envelope, read without consuming it; undefined if there is none (yet). */
export async function peekResult(ns: Namespace, queue: string, id: string): Promise<ResultEnvelope | undefined> {
  const bytes = await ns.tryRead(new QueueNames(queue).result(id));
  if (bytes === undefined) return undefined;
  const s = classify(bytes);
  return s.kind === 'result' ? s.env : undefined;
}

/** Where a live task is, from {@link locateTask}. */
export type TaskLocation =
  | { where: 'pending'; band: Band }
  | { where: 'delayed'; dueAt: number }
  | { where: 'claimed'; worker: string; slot: string }
  | { where: 'finishing'; worker: string }
  | { where: 'retrying' };

/**
 * Finds a task that is waiting (a pending band or a delayed bucket), claimed by a worker (in a claim slot:
 * running, or prefetched to run next), finishing (its outcome in the slot's outbox) or being retried. Results
 * and dead letters are not looked at: see {@link peekResult} and {@link findFailedTask}.
 *
 * The places are read in the order a task moves through them, so a task moving on during the search is
 * still found. A task can also move back (from an outbox or a claim slot to a band: a retry, a release, a
 * recovery), past a place already read: so a search that finds nothing is made again, up to
 * {@link LOCATE_PASSES} times, before the answer is "nowhere". Each pass reads every waiting task of the
 * queue: O(waiting) reads, for operators, not hot loops.
 */
export async function locateTask(ns: Namespace, queue: string, id: string): Promise<TaskLocation | undefined> {
  const names = new QueueNames(queue);
  for (let pass = 0; pass < LOCATE_PASSES; pass++) {
    const place = await locateOnce(ns, names, id);
    if (place !== undefined) return place;
  }
  return undefined;
}

/** How many times {@link locateTask} searches before it says a task is nowhere. */
export const LOCATE_PASSES = 3;

async function locateOnce(ns: Namespace, names: QueueNames, id: string): Promise<TaskLocation | undefined> {
  if ((await ns.tryRead(names.retrying(id))) !== undefined) return { where: 'retrying' };
  for (const bucket of await ns.list(names.delayedPattern())) {
    if (await holdsTask(ns, bucket, id)) return { where: 'delayed', dueAt: names.parseBucket(bucket, 'delayed') ?? 0 };
  }
  for (const band of BANDS) if (await holdsTask(ns, names.pending(band), id)) return { where: 'pending', band };
  for (const slot of await ns.list(names.runPattern())) {
    const parsed = names.parseSlot(slot);
    if (parsed !== undefined && (await holdsTask(ns, slot, id))) return { where: 'claimed', worker: parsed.worker, slot: parsed.slot };
  }
  return outboxHolding(ns, names, id);
}

/**
 * Finds a task whose outcome (or retry) a worker's outbox still holds: it is being delivered. A recoverer moves
 * a dead worker's outcomes through an outbox of its own, perhaps one not there when the outboxes were listed:
 * so a search that finds nothing is made twice. O(outbox values) reads.
 */
export async function findFinishing(ns: Namespace, names: QueueNames, id: string): Promise<{ where: 'finishing'; worker: string } | undefined> {
  return (await outboxHolding(ns, names, id)) ?? (await outboxHolding(ns, names, id));
}

async function outboxHolding(ns: Namespace, names: QueueNames, id: string): Promise<{ where: 'finishing'; worker: string } | undefined> {
  for (const outbox of await ns.list(names.outboxPattern())) {
    const parsed = names.parseSlot(outbox);
    if (parsed !== undefined && (await holdsTask(ns, outbox, id))) return { where: 'finishing', worker: parsed.worker };
  }
  return undefined;
}

/**
 * Finds a task a worker holds: in a worker's heartbeat (running, with its progress; the task of that id in
 * this queue), else in a claim slot (claimed since the worker's last heartbeat: running, or prefetched to run
 * next; or held by a worker that died, until it is recovered) or an outbox (its outcome being delivered). A
 * retry being requeued through the outbox is not held.
 */
export async function findRunning(ns: Namespace, names: QueueNames, id: string): Promise<{ worker: string; attempt: number; progress?: unknown } | undefined> {
  for (const name of await ns.list(WORKER_PATTERN)) {
    const hb = parseHeartbeat(await ns.tryRead(name));
    const t = hb?.tasks.find((x) => x.id === id && x.queue === names.queue); // ids are unique per queue only
    if (t) return { worker: hb!.id, attempt: t.attempt, ...(t.progress !== undefined ? { progress: t.progress } : {}) };
  }
  for (const pattern of [names.runPattern(), names.outboxPattern()]) {
    for (const slot of await ns.list(pattern)) {
      const parsed = names.parseSlot(slot);
      const held = parsed === undefined ? undefined : await storedFor(ns, slot, id);
      if (held === undefined || (held.kind === 'task' && parsed!.kind === 'out')) continue;
      return { worker: parsed!.worker, attempt: held.kind === 'task' ? held.env.att : held.env.attempts };
    }
  }
  return undefined;
}

/** Ids of the tasks of a queue that workers have claimed (running, or prefetched to run next). */
export async function claimedTaskIds(ns: Namespace, queue: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const slot of await ns.list(new QueueNames(queue).runPattern())) {
    const count = await ns.count(slot);
    for (let i = 0; i < count; i++) {
      const bytes = await ns.tryRead(slot, { index: i });
      if (bytes === undefined) break;
      const s = classify(bytes);
      if (s.kind === 'task') ids.add(s.env.id);
    }
  }
  return ids;
}

/** The value under `name` that is the task `id` (its envelope, or an outcome of it), if any. */
async function storedFor(ns: Namespace, name: string, id: string): Promise<Exclude<Stored, { kind: 'bell' | 'unknown' }> | undefined> {
  const count = await ns.count(name);
  for (let i = 0; i < count; i++) {
    const bytes = await ns.tryRead(name, { index: i });
    if (bytes === undefined) return undefined; // taken meanwhile
    const s = classify(bytes);
    if (s.kind !== 'bell' && s.kind !== 'unknown' && s.env.id === id) return s;
  }
  return undefined;
}

async function holdsTask(ns: Namespace, name: string, id: string): Promise<boolean> {
  return (await storedFor(ns, name, id)) !== undefined;
}

/**
 * The heartbeats of the workers in a namespace, as they wrote them; a value that is no well-formed heartbeat
 * is left out. They may be stale (a crashed worker's stays until another worker recovers its tasks): judge
 * liveness by `seq` changing within `leaseTtlMs`.
 */
export async function workers(ns: Namespace, options: { limit?: number } = {}): Promise<HeartbeatValue[]> {
  const out: HeartbeatValue[] = [];
  for (const name of await ns.list(WORKER_PATTERN, { limit: options.limit ?? 10_000 })) {
    const hb = parseHeartbeat(await ns.tryRead(name));
    if (hb !== undefined) out.push(hb);
  }
  return out;
}

/** A workflow run's status as its driver writes it ('unknown' when the info tuple holds something else). */
export type WorkflowRunStatus = 'running' | 'completed' | 'failed' | 'unknown';

/** The summary a workflow run keeps under `wf:<workflow>:<run>:info`, with step counts by state. */
export interface WorkflowRunInfo {
  workflow: string;
  runId: string;
  /** 'running' while the driver runs it, then 'completed' or 'failed'. */
  status: WorkflowRunStatus;
  startedAt: number;
  updatedAt: number;
  /** Number of steps seen so far. */
  steps: number;
  /** Steps per state (absent states are 0). */
  counts: Partial<Record<StepState, number>>;
  /**
   * Per-step detail, when the info's writer records it (`steps` or `nodes` as a list). @tsdbr/worker itself
   * records counts only; use {@link workflowRun} for its steps.
   */
  stepList?: WorkflowInfoStep[];
}

/** A step as listed in a run summary that carries its steps. */
export interface WorkflowInfoStep {
  key: string;
  task?: string;
  /** The writer's state name, e.g. 'done', 'queued', 'failed'. */
  state: string;
  deps: string[];
  progress?: unknown;
  error?: string;
}

/** A workflow run found by {@link workflowRuns}. */
export interface WorkflowRunSummary {
  workflow: string;
  runId: string;
  /** The run's summary, or undefined if it is unreadable. */
  info: WorkflowRunInfo | undefined;
}

const INFO_NAME = /^wf:([A-Za-z0-9_.-]{1,100}):(.+):info$/;
const STEP_STATES: readonly StepState[] = ['waiting', 'queued', 'done', 'cached', 'failed', 'skipped'];

/** The workflow runs of a namespace, with their summaries. */
export async function workflowRuns(ns: Namespace, options: { limit?: number } = {}): Promise<WorkflowRunSummary[]> {
  const out: WorkflowRunSummary[] = [];
  for (const name of await ns.list(WORKFLOW_INFO_PATTERN, { limit: options.limit ?? 1000 })) {
    const m = INFO_NAME.exec(name);
    if (!m) continue;
    out.push({ workflow: m[1]!, runId: m[2]!, info: toRunInfo(decodeLoose(await ns.tryRead(name))) });
  }
  return out;
}

/** A step of a workflow run, from its saved state. */
export interface WorkflowStepState {
  /** The step's key. */
  key: string;
  /** The step's output is saved: it is done and will not run again. */
  done: boolean;
  /** The task submitted for the step (absent for steps not submitted yet). */
  task?: { id: string; queue: string };
}

/** One workflow run: its summary and the state of each step (at most `limit`, default 2,000); undefined if there is no trace of it. */
export async function workflowRun(ns: Namespace, workflow: string, runId: string, options: { limit?: number } = {}): Promise<{ info: WorkflowRunInfo | undefined; steps: WorkflowStepState[] } | undefined> {
  const names = new WorkflowNames(workflow, runId);
  const infoBytes = await ns.tryRead(names.info());
  const byKey = new Map<string, WorkflowStepState>();
  const limit = options.limit ?? 2000;
  for await (const name of ns.keys(`${escapeGlob(names.prefix)}*`)) {
    const rest = name.slice(names.prefix.length);
    const kind = rest.startsWith('sub:') ? 'sub' : rest.startsWith('out:') ? 'out' : undefined;
    if (kind === undefined) continue;
    const key = rest.slice(4);
    const step = byKey.get(key) ?? { key, done: false };
    if (kind === 'out') step.done = true;
    else {
      const sub = decodeLoose(await ns.tryRead(name)) as { id?: unknown; queue?: unknown } | undefined;
      if (typeof sub?.id === 'string' && typeof sub.queue === 'string') step.task = { id: sub.id, queue: sub.queue };
    }
    byKey.set(key, step);
    if (byKey.size >= limit) break;
  }
  if (infoBytes === undefined && byKey.size === 0) return undefined;
  return { info: toRunInfo(decodeLoose(infoBytes)), steps: [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key)) };
}

/** The inspection functions bound to one namespace. */
export class QueueInspector {
  /** @param ns the namespace the workers and clients use. */
  constructor(readonly ns: Namespace) {}

  /** See {@link listQueues}. */
  listQueues(options?: ListQueuesOptions): Promise<string[]> {
    return listQueues(this.ns, options);
  }

  /** See {@link queueCounts}. */
  queueCounts(queue: string, options?: { detail?: boolean; bells?: boolean }): Promise<QueueCounts> {
    return queueCounts(this.ns, queue, options);
  }

  /** See {@link failedTasks}. */
  failedTasks(queue: string, options?: FailedTasksOptions): Promise<{ total: number; tasks: FailedTaskEntry[] }> {
    return failedTasks(this.ns, queue, options);
  }

  /** See {@link findFailedTask}. */
  findFailedTask(queue: string, id: string): Promise<DeadLetter | undefined> {
    return findFailedTask(this.ns, queue, id);
  }

  /** See {@link locateTask}. */
  locateTask(queue: string, id: string): Promise<TaskLocation | undefined> {
    return locateTask(this.ns, queue, id);
  }

  /** See {@link peekResult}. */
  peekResult(queue: string, id: string): Promise<ResultEnvelope | undefined> {
    return peekResult(this.ns, queue, id);
  }

  /** See {@link workers}. */
  workers(options?: { limit?: number }): Promise<HeartbeatValue[]> {
    return workers(this.ns, options);
  }

  /** See {@link workflowRuns}. */
  workflowRuns(options?: { limit?: number }): Promise<WorkflowRunSummary[]> {
    return workflowRuns(this.ns, options);
  }

  /** See {@link workflowRun}. */
  workflowRun(workflow: string, runId: string, options?: { limit?: number }): ReturnType<typeof workflowRun> {
    return workflowRun(this.ns, workflow, runId, options);
  }
}

function runStatusOf(v: unknown): WorkflowRunStatus {
  return v === 'running' || v === 'completed' || v === 'failed' ? v : 'unknown';
}

function toRunInfo(v: unknown): WorkflowRunInfo | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const counts: Partial<Record<StepState, number>> = {};
  for (const s of STEP_STATES) if (typeof o[s] === 'number') counts[s] = o[s] as number;
  const list = Array.isArray(o.nodes) ? o.nodes : Array.isArray(o.steps) ? o.steps : undefined;
  const info: WorkflowRunInfo = { workflow: String(o.workflow ?? ''), runId: String(o.runId ?? ''), status: runStatusOf(o.status), startedAt: n(o.startedAt), updatedAt: n(o.updatedAt), steps: list?.length ?? n(o.steps), counts };
  if (list !== undefined) {
    info.stepList = list.slice(0, 2000).map((raw: Record<string, unknown>) => {
      const step: WorkflowInfoStep = { key: String(raw?.key ?? raw?.id ?? '?'), state: String(raw?.state ?? 'unknown'), deps: Array.isArray(raw?.deps) ? raw.deps.map(String) : [] };
      if (typeof raw?.task === 'string') step.task = raw.task;
      if (raw?.progress !== undefined) step.progress = raw.progress;
      if (typeof raw?.error === 'string') step.error = raw.error;
      return step;
    });
  }
  return info;
}

function decodeLoose(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (m) => `\\${m}`);
}
