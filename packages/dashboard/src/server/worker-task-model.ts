/**
 * Queues, workers and workflows of @tsdbr/worker, read through its inspection API (the tuple layout of
 * docs/protocol.md is known there only):
 * - queues are found by their waiting bands and dead letters (`q:{Q}:pending*`, `q:{Q}:dead`) and by the
 *   queues workers name in their heartbeats; finding them is a glob walk, so it runs every few seconds,
 *   while the counts of known queues are O(1) calls every refresh, plus a peek at each value of a normal band
 *   of at most 10,000 to tell the doorbells a hi or lo task rings there from tasks;
 * - waiting = tasks in the three bands (a band too long to peek through counts its doorbells), running =
 *   tasks in live workers' heartbeats,
 *   failed = dead letters, done = completions counted by the workers seen since the dashboard started;
 * - task durations come from tasks seen running in one sample and gone in a later one (an upper bound, good
 *   for long tasks);
 * - workers are live while their heartbeat's sequence number keeps changing within its lease.
 * @module
 */
import type { Broker } from '@tsdbr/core';
import {
  cancelTask,
  type DeadLetter,
  failedTasks,
  listQueues,
  peekResult,
  purgeQueue,
  queueCounts,
  retryDeadLetter,
  TaskStillFinishingError,
  workers as readHeartbeats,
  workflowRun,
  type WorkflowInfoStep,
  type WorkflowRunInfo,
  workflowRuns,
} from '@tsdbr/worker';
import type { FailedPage, FailedTask, RunningTask, WorkerInfo, WorkflowInfo, WorkflowNode } from '../api-types.js';
import { DashboardHttpError } from '../errors.js';
import { displayJson, MAX_DISPLAY_DEPTH } from './display-json.js';
import { isRecord, num } from './field-checks.js';
import type { NamespaceHandles } from './handles.js';
import { checkHeartbeat, type HeartbeatView } from './heartbeat.js';
import { normalizeProgress } from './progress.js';
import type { QueueSample, TaskModel } from './task-model.js';

const DEFAULT_LEASE_MS = 30_000;
const MAX_NAMESPACES = 500;
const MAX_WORKERS_TRACKED = 10_000;
const INPUT_PREVIEW_CHARS = 4096;

interface Seen {
  seq: number | null;
  changedAt: number;
  hb: HeartbeatView;
  /** Completions by queue as last reported. */
  completed: Map<string, number>;
}

interface Scan {
  at: number;
  /** Namespace -> heartbeats (alive and stale) with liveness. */
  workers: Map<string, { hb: HeartbeatView; stale: boolean }[]>;
  /** Namespace -> queues. */
  queues: Map<string, Set<string>>;
}

/** Options of the worker task model. */
export interface WorkerTaskModelOptions {
  /** How often queues are looked for with glob walks (default 5 s). */
  discoveryMs?: number;
  /** How long a scan of heartbeats is reused (default 250 ms; keep it under the refresh interval). */
  scanCacheMs?: number;
}

/** Reads @tsdbr/worker's tuples. */
export class WorkerTaskModel implements TaskModel {
  private readonly seen = new Map<string, Seen>();
  private readonly discovered = new Map<string, Set<string>>();
  private lastDiscovery = 0;
  private scanCache: { at: number; value: Promise<Scan> } | undefined;
  /** Tasks seen running: key ns\0queue\0id -> startedAt. */
  private running = new Map<string, number | null>();
  private readonly discoveryMs: number;
  private readonly scanCacheMs: number;

  constructor(
    private readonly broker: Broker,
    private readonly handles: NamespaceHandles,
    options: WorkerTaskModelOptions = {},
  ) {
    this.discoveryMs = options.discoveryMs ?? 5000;
    this.scanCacheMs = options.scanCacheMs ?? 250;
  }

  async queues(): Promise<QueueSample[]> {
    const scan = await this.scan();
    const now = Date.now();
    const out: QueueSample[] = [];
    const stillRunning = new Map<string, number | null>();
    for (const [nsName, queues] of scan.queues) {
      const workers = scan.workers.get(nsName) ?? [];
      const samples = await this.handles.peek(nsName, async (ns) => {
        const list: QueueSample[] = [];
        for (const queue of [...queues].sort()) {
          const counts = await queueCounts(ns, queue, { bells: true });
          const waiting = counts.waiting - (counts.bells ?? 0);
          const failed = counts.dead;
          let running = 0;
          let servingWorkers = 0;
          const durationsMs: number[] = [];
          for (const { hb, stale } of workers) {
            if (stale) continue;
            if (hb.queues.includes(queue)) servingWorkers++;
            for (const t of hb.tasks) {
              if (t.queue !== queue) continue;
              running++;
              stillRunning.set(`${nsName}\u0000${queue}\u0000${t.id}`, t.startedAt);
            }
          }
          let done = 0;
          for (const [key, s] of this.seen) if (key.startsWith(`${nsName}\u0000`)) done += s.completed.get(queue) ?? 0;
          // tasks that were running at the previous sample and are gone now
          for (const [key, startedAt] of this.running) {
            if (!key.startsWith(`${nsName}\u0000${queue}\u0000`) || stillRunning.has(key)) continue;
            if (typeof startedAt === 'number' && startedAt > 0 && startedAt <= now) durationsMs.push(now - startedAt);
          }
          list.push({ namespace: nsName, queue, waiting, running, done, failed, workers: servingWorkers, durationsMs });
        }
        return list;
      });
      if (samples) out.push(...samples);
    }
    this.running = stillRunning;
    return out;
  }

  async workers(): Promise<WorkerInfo[]> {
    const scan = await this.scan();
    const out: WorkerInfo[] = [];
    for (const [nsName, list] of scan.workers) {
      for (const { hb, stale } of list) {
        const running: RunningTask[] = hb.tasks.map((t) => {
          const p = normalizeProgress(t.progress);
          return { id: t.id, task: t.task, startedAt: t.startedAt, progress: p.progress, message: p.message };
        });
        const { id, host, pid, queues, startedAt, lastBeat, concurrency, completed, failed } = hb;
        out.push({ namespace: nsName, id, host, pid, queues, startedAt, lastBeat, stale, concurrency, running, completed, failed });
      }
    }
    return out.sort((a, b) => Number(a.stale) - Number(b.stale) || a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
  }

  async failed(namespace: string, queue: string, cursor: string | undefined, limit: number): Promise<FailedPage> {
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(offset) || offset < 0) throw new DashboardHttpError(400, 'BAD_REQUEST', 'cursor must be the value returned by the previous page.');
    return this.handles.use(namespace, async (ns) => {
      const page = await failedTasks(ns, queue, { offset, limit, order: 'newest' });
      const tasks: FailedTask[] = page.tasks.map((t) => toFailedTask(t.letter, t.problem, t.position));
      const next = offset + limit < page.total ? String(offset + limit) : null;
      return { namespace, queue, tasks, cursor: next };
    });
  }

  async retry(namespace: string, queue: string, id: string): Promise<void> {
    const env = await this.handles.use(namespace, (ns) => retryDeadLetter(ns, queue, id)).catch((err: unknown) => {
      if (err instanceof TaskStillFinishingError) throw new DashboardHttpError(409, 'TASK_STILL_FINISHING', err.message);
      throw err;
    });
    if (env === undefined) {
      throw new DashboardHttpError(404, 'TASK_NOT_FOUND', `No failed task "${id}" in queue "${queue}": it may have been retried or trimmed meanwhile. Refresh the list.`);
    }
    this.scanCache = undefined;
  }

  async cancel(namespace: string, queue: string, id: string): Promise<void> {
    await this.handles.use(namespace, (ns) => cancelTask(ns, queue, id));
  }

  async purge(namespace: string, queue: string): Promise<number> {
    return this.handles.use(namespace, (ns) => purgeQueue(ns, queue));
  }

  async workflows(): Promise<WorkflowInfo[]> {
    const out: WorkflowInfo[] = [];
    for (const nsName of await this.namespaceNames()) {
      const list = await this.handles.peek(nsName, async (ns) => (await workflowRuns(ns)).map((r) => summarizeWorkflow(nsName, r.workflow, r.runId, r.info)));
      if (list) out.push(...list);
    }
    return out.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  }

  async workflow(namespace: string, id: string): Promise<WorkflowInfo | undefined> {
    const cut = id.indexOf(':');
    if (cut <= 0) return undefined;
    const workflow = id.slice(0, cut);
    const runId = id.slice(cut + 1);
    const scan = await this.scan();
    const running = new Map<string, { progress: unknown }>();
    for (const { hb, stale } of scan.workers.get(namespace) ?? []) if (!stale) for (const t of hb.tasks) running.set(`${t.queue}\u0000${t.id}`, { progress: t.progress });
    return this.handles.peek(namespace, async (ns) => {
      const run = await workflowRun(ns, workflow, runId);
      if (run === undefined) return undefined;
      const summary = summarizeWorkflow(namespace, workflow, runId, run.info);
      if (run.info?.stepList !== undefined) return { ...summary, nodes: run.info.stepList.map(toNode) };
      const nodes: WorkflowNode[] = [];
      for (const step of run.steps) {
        const node: WorkflowNode = { id: step.key, task: null, state: step.done ? 'done' : step.task ? 'waiting' : 'pending', deps: [], progress: null, error: null };
        if (!step.done && step.task !== undefined) {
          const r = running.get(`${step.task.queue}\u0000${step.task.id}`);
          if (r !== undefined) {
            node.state = 'running';
            node.progress = normalizeProgress(r.progress).progress;
          } else {
            const result = await peekResult(ns, step.task.queue, step.task.id).catch(() => undefined);
            if (result?.ok === false) {
              node.state = result.cancelled ? 'cancelled' : 'failed';
              node.error = result.error?.message ?? 'failed';
            }
            if (result !== undefined) node.task = result.task;
          }
        }
        nodes.push(node);
      }
      return { ...summary, nodes, total: Math.max(summary.total, nodes.length) };
    });
  }

  /** Heartbeats and queues of every namespace, reused for a moment. */
  private scan(): Promise<Scan> {
    const now = Date.now();
    if (this.scanCache !== undefined && now - this.scanCache.at < this.scanCacheMs) return this.scanCache.value;
    const value = this.doScan();
    this.scanCache = { at: now, value };
    value.catch(() => {
      if (this.scanCache?.value === value) this.scanCache = undefined;
    });
    return value;
  }

  private async doScan(): Promise<Scan> {
    const now = Date.now();
    const discover = now - this.lastDiscovery >= this.discoveryMs;
    if (discover) this.lastDiscovery = now;
    const workers = new Map<string, { hb: HeartbeatView; stale: boolean }[]>();
    const queues = new Map<string, Set<string>>();
    const present = new Set<string>();
    for (const nsName of await this.namespaceNames()) {
      const r = await this.handles.peek(nsName, async (ns) => {
        const hbs: { hb: HeartbeatView; stale: boolean }[] = [];
        for (const value of await readHeartbeats(ns)) {
          const hb = checkHeartbeat(value);
          if (hb === undefined) continue;
          const key = `${nsName}\u0000${hb.id}`;
          present.add(key);
          hbs.push({ hb, stale: this.judge(key, hb, now) });
        }
        let found = this.discovered.get(nsName);
        if (discover || found === undefined) {
          found = new Set(await listQueues(ns));
          this.discovered.set(nsName, found);
        }
        const qs = new Set(found);
        for (const { hb } of hbs) for (const q of hb.queues) if (/^[A-Za-z0-9_.-]{1,100}$/.test(q)) qs.add(q);
        return { hbs, qs };
      });
      if (r === undefined) continue;
      if (r.hbs.length > 0) workers.set(nsName, r.hbs);
      if (r.qs.size > 0) queues.set(nsName, r.qs);
    }
    // forget the departed beyond a bound (their completions stay counted until then)
    if (this.seen.size > MAX_WORKERS_TRACKED) for (const k of this.seen.keys()) if (!present.has(k) && this.seen.size > MAX_WORKERS_TRACKED) this.seen.delete(k);
    return { at: now, workers, queues };
  }

  /** Records a heartbeat; true if the worker is stale (its sequence number stopped changing within its lease). */
  private judge(key: string, hb: HeartbeatView, now: number): boolean {
    const lease = hb.leaseTtlMs !== null && hb.leaseTtlMs > 0 ? hb.leaseTtlMs : DEFAULT_LEASE_MS;
    const prev = this.seen.get(key);
    const { seq, finishedByQueue: completed } = hb;
    if (prev === undefined) {
      // first sight: trust the worker's clock for now
      const lastBeat = hb.lastBeat ?? now;
      this.seen.set(key, { seq, changedAt: Math.min(now, lastBeat), hb, completed });
      return now - lastBeat > lease;
    }
    if (seq !== prev.seq) {
      prev.seq = seq;
      prev.changedAt = now;
    }
    prev.hb = hb;
    prev.completed = completed;
    return now - prev.changedAt > lease;
  }

  private async namespaceNames(): Promise<string[]> {
    return (await this.broker.namespaces('*')).sort().slice(0, MAX_NAMESPACES);
  }
}

/** The task model for @tsdbr/worker's layout. */
export function createTaskModel(broker: Broker, handles: NamespaceHandles, refreshMs: number): TaskModel {
  return new WorkerTaskModel(broker, handles, { scanCacheMs: Math.min(250, refreshMs / 2), discoveryMs: Math.max(5 * refreshMs, 2000) });
}

/** A dead letter for the UI; any field may be malformed (anyone can write the tuple) and reads as missing then. */
function toFailedTask(d: DeadLetter | undefined, problem: string | undefined, position: number): FailedTask {
  if (d === undefined) return { id: `#${position}`, task: null, error: `undecodable dead letter: ${problem ?? 'unknown value'}`, stack: null, attempts: null, failedAt: null, input: null };
  const e: Record<string, unknown> = isRecord(d.error) ? d.error : {};
  const name = typeof e.name === 'string' && e.name !== '' && e.name !== 'Error' ? `${e.name}: ` : '';
  const message = typeof d.error === 'string' ? d.error : `${name}${typeof e.message === 'string' ? e.message : 'unknown error'}`;
  const env: unknown = d.env;
  return {
    id: typeof d.id === 'string' ? d.id : `#${position}`,
    task: typeof d.task === 'string' ? d.task : null,
    error: message,
    stack: typeof e.stack === 'string' ? e.stack : null,
    attempts: num(d.attempts),
    failedAt: num(d.failedAt),
    input: isRecord(env) && 'input' in env ? inputPreview(env.input) : null,
  };
}

function inputPreview(input: unknown): string {
  const json = displayJson(input, INPUT_PREVIEW_CHARS);
  if (json === undefined) return `(an input nested deeper than ${MAX_DISPLAY_DEPTH} levels: not shown)`;
  return json.cut ? `${json.text}\n… (cut at ${INPUT_PREVIEW_CHARS} characters)` : json.text;
}


function toNode(step: WorkflowInfoStep): WorkflowNode {
  const s = step.state;
  const state: WorkflowNode['state'] =
    s === 'done' || s === 'cached' ? 'done' : s === 'queued' || s === 'running' ? 'running' : s === 'waiting' ? 'waiting' : s === 'failed' ? 'failed' : s === 'skipped' || s === 'cancelled' ? 'cancelled' : s === 'pending' ? 'pending' : 'unknown';
  return { id: step.key, task: step.task ?? null, state, deps: step.deps, progress: normalizeProgress(step.progress).progress, error: step.error ?? null };
}

function summarizeWorkflow(namespace: string, workflow: string, runId: string, info: WorkflowRunInfo | undefined): WorkflowInfo {
  const c = info?.counts ?? {};
  const status = info?.status ?? 'unknown';
  const state: WorkflowInfo['state'] =
    status === 'running' ? 'running' : status === 'completed' ? 'done' : status === 'failed' ? 'failed' : 'unknown';
  return {
    namespace,
    id: `${workflow}:${runId}`,
    name: workflow,
    state,
    createdAt: info?.startedAt || null,
    total: info?.steps ?? 0,
    done: (c.done ?? 0) + (c.cached ?? 0),
    failed: c.failed ?? 0,
    running: c.queued ?? 0,
  };
}
