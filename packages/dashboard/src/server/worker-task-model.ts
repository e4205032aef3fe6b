/**
 * Queues, workers and workflows as @tsdbr/worker lays them out in the tuple space (docs/protocol.md), read
 * through @tsdbr/core:
 * - queues are found by their waiting bands and dead letters (`q:{Q}:pending*`, `q:{Q}:dead`) and by the
 *   queues workers name in their heartbeats; finding them is a glob walk, so it runs every few seconds,
 *   while the counts of known queues are O(1) calls every refresh;
 * - waiting = values in the three bands (doorbells included), running = tasks in live workers' heartbeats,
 *   failed = dead letters, done = completions counted by the workers seen since the dashboard started;
 * - task durations come from the heartbeats (`durations`, if the worker reports them), else from tasks seen
 *   running in one sample and gone in a later one (an upper bound, good for long tasks);
 * - workers are live while their heartbeat's sequence number keeps changing within its lease.
 * @module
 */
import { type Broker, isDbrError, type Namespace } from '@tsdbr/core';
import type { FailedPage, FailedTask, RunningTask, WorkerInfo, WorkflowInfo, WorkflowNode } from '../api-types.js';
import { DashboardHttpError } from '../errors.js';
import type { NamespaceHandles } from './handles.js';
import { safeStringify } from './preview.js';
import type { QueueSample, TaskModel } from './task-model.js';
import {
  BANDS,
  bandOf,
  BELL,
  cancelEntries,
  type DeadLetter,
  decodeValue,
  encodeValue,
  type HeartbeatValue,
  normalizeProgress,
  QUEUE_DISCOVERY_PATTERNS,
  QueueNames,
  queueOf,
  WORKER_PATTERN,
  WORKFLOW_INFO_PATTERN,
} from './worker-protocol.js';

const DEFAULT_LEASE_MS = 30_000;
const MAX_NAMESPACES = 500;
const MAX_WORKERS_TRACKED = 10_000;
const INPUT_PREVIEW_CHARS = 4096;

interface Seen {
  seq: number | undefined;
  changedAt: number;
  hb: HeartbeatValue;
  /** Completions by queue as last reported. */
  completed: Map<string, number>;
}

interface Scan {
  at: number;
  /** Namespace -> heartbeats (alive and stale) with liveness. */
  workers: Map<string, { hb: HeartbeatValue; stale: boolean }[]>;
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
  private running = new Map<string, number>();
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
    const stillRunning = new Map<string, number>();
    for (const [nsName, queues] of scan.queues) {
      const workers = scan.workers.get(nsName) ?? [];
      const samples = await this.handles.peek(nsName, async (ns) => {
        const list: QueueSample[] = [];
        for (const queue of [...queues].sort()) {
          const names = new QueueNames(queue);
          let waiting = 0;
          for (const band of BANDS) waiting += await ns.count(names.pending(band));
          const failed = await ns.count(names.dead());
          let running = 0;
          let servingWorkers = 0;
          const durationsMs: number[] = [];
          for (const { hb, stale } of workers) {
            if (stale) continue;
            if ((hb.queues ?? []).includes(queue)) servingWorkers++;
            for (const t of hb.tasks ?? []) {
              if (t.queue !== queue) continue;
              running++;
              stillRunning.set(`${nsName}\u0000${queue}\u0000${t.id}`, t.startedAt);
            }
            const reported = hb.durations?.[queue];
            if (Array.isArray(reported)) durationsMs.push(...reported.filter((d) => typeof d === 'number' && d >= 0));
          }
          let done = 0;
          for (const [key, s] of this.seen) if (key.startsWith(`${nsName}\u0000`)) done += s.completed.get(queue) ?? 0;
          if (!workers.some((w) => Array.isArray(w.hb.durations?.[queue]))) {
            // fallback: tasks that were running at the previous sample and are gone now
            for (const [key, startedAt] of this.running) {
              if (!key.startsWith(`${nsName}\u0000${queue}\u0000`) || stillRunning.has(key)) continue;
              if (typeof startedAt === 'number' && startedAt > 0 && startedAt <= now) durationsMs.push(now - startedAt);
            }
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
        const running: RunningTask[] = (hb.tasks ?? []).map((t) => {
          const p = normalizeProgress(t.progress);
          return { id: String(t.id), task: typeof t.task === 'string' ? t.task : null, startedAt: num(t.startedAt), progress: p.progress, message: p.message };
        });
        out.push({
          namespace: nsName,
          id: String(hb.id),
          host: typeof hb.host === 'string' ? hb.host : null,
          pid: num(hb.pid),
          queues: Array.isArray(hb.queues) ? hb.queues.map(String) : [],
          startedAt: num(hb.startedAt),
          lastBeat: num(hb.lastBeat),
          stale,
          concurrency: num(hb.concurrency),
          running,
          completed: num(hb.stats?.completed),
          failed: num(hb.stats?.failed),
        });
      }
    }
    return out.sort((a, b) => Number(a.stale) - Number(b.stale) || a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
  }

  async failed(namespace: string, queue: string, cursor: string | undefined, limit: number): Promise<FailedPage> {
    const names = new QueueNames(queue);
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(offset) || offset < 0) throw new DashboardHttpError(400, 'BAD_REQUEST', 'cursor must be the value returned by the previous page.');
    return this.handles.use(namespace, async (ns) => {
      const n = await ns.count(names.dead());
      const tasks: FailedTask[] = [];
      for (let i = offset; i < Math.min(n, offset + limit); i++) {
        const bytes = await readAt(ns, names.dead(), n - 1 - i);
        if (bytes === undefined) break;
        tasks.push(toFailedTask(bytes, i));
      }
      const next = offset + limit < n ? String(offset + limit) : null;
      return { namespace, queue, tasks, cursor: next };
    });
  }

  async retry(namespace: string, queue: string, id: string): Promise<void> {
    const names = new QueueNames(queue);
    await this.handles.use(namespace, async (ns) => {
      const dead = names.dead();
      const n = await ns.count(dead);
      let letter: DeadLetter | undefined;
      let asJson = false;
      // Rotate the dead-letter list once (each step an atomic pop-and-append), taking the one to retry out.
      for (let i = 0; i < n; i++) {
        const head = await readAt(ns, dead, 0);
        if (head === undefined) break;
        let value: unknown;
        try {
          value = decodeValue(head);
        } catch {
          value = undefined;
        }
        const isTarget = letter === undefined && typeof value === 'object' && value !== null && (value as DeadLetter).id === id;
        if (isTarget) {
          const scratch = names.retrying(id);
          const bytes = await ns.moveValue(dead, ns, scratch, { timeout: 0 });
          letter = decodeValue(bytes) as DeadLetter;
          asJson = bytes[0] === 0x7b;
          await ns.remove(scratch);
        } else {
          await ns.moveValue(dead, ns, dead, { timeout: 0 });
        }
      }
      if (letter === undefined || typeof letter.env !== 'object' || letter.env === null) {
        throw new DashboardHttpError(404, 'TASK_NOT_FOUND', `No failed task "${id}" in queue "${queue}": it may have been retried or trimmed meanwhile. Refresh the list.`);
      }
      const env = { ...letter.env, att: 1 };
      delete env.due;
      delete env.rec;
      const band = bandOf(env.pri);
      // the old failure result would answer result() first: drop it
      await ns.remove(names.result(id)).catch(() => undefined);
      const entries: [string, Uint8Array][] = [[names.pending(band), encodeValue(env, asJson)]];
      if (band !== 'normal') entries.push([names.pending('normal'), BELL]);
      await ns.putMany(entries);
    });
    this.scanCache = undefined;
  }

  async cancel(namespace: string, queue: string, id: string): Promise<void> {
    await this.handles.use(namespace, (ns) => ns.putMany(cancelEntries(new QueueNames(queue), id)));
  }

  async purge(namespace: string, queue: string): Promise<number> {
    const names = new QueueNames(queue);
    return this.handles.use(namespace, async (ns) => {
      let removed = 0;
      for (const band of BANDS) {
        const name = names.pending(band);
        removed += await ns.count(name);
        await ns.remove(name);
      }
      for (const bucket of await ns.list(names.delayedPattern())) {
        removed += await ns.count(bucket);
        await ns.remove(bucket);
      }
      return removed;
    });
  }

  async workflows(): Promise<WorkflowInfo[]> {
    const out: WorkflowInfo[] = [];
    for (const nsName of await this.namespaceNames()) {
      const list = await this.handles.peek(nsName, async (ns) => {
        const found: WorkflowInfo[] = [];
        for (const name of await ns.list(WORKFLOW_INFO_PATTERN, { limit: 1000 })) {
          const parsed = parseInfoName(name);
          if (parsed === undefined) continue;
          const bytes = await readAt(ns, name, 0);
          found.push(summarizeWorkflow(nsName, parsed.workflow, parsed.runId, bytes));
        }
        return found;
      });
      if (list) out.push(...list);
    }
    return out.sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
  }

  async workflow(namespace: string, id: string): Promise<WorkflowInfo | undefined> {
    const cut = id.indexOf(':');
    if (cut <= 0) return undefined;
    const workflow = id.slice(0, cut);
    const runId = id.slice(cut + 1);
    const prefix = `wf:${workflow}:${runId}:`;
    const scan = await this.scan();
    const running = new Map<string, { progress: unknown }>();
    for (const { hb, stale } of scan.workers.get(namespace) ?? []) if (!stale) for (const t of hb.tasks ?? []) running.set(`${t.queue}\u0000${t.id}`, { progress: t.progress });
    return this.handles.peek(namespace, async (ns) => {
      const infoBytes = await readAt(ns, `${prefix}info`, 0);
      const info = decodeLoose(infoBytes) as Record<string, unknown> | undefined;
      const summary = summarizeWorkflow(namespace, workflow, runId, infoBytes);
      let nodes = nodesFromInfo(info);
      if (nodes === undefined) {
        const byKey = new Map<string, WorkflowNode>();
        for await (const name of ns.keys(`${escapeGlob(prefix)}*`)) {
          const rest = name.slice(prefix.length);
          const kind = rest.startsWith('sub:') ? 'sub' : rest.startsWith('out:') ? 'out' : undefined;
          if (kind === undefined) continue;
          const key = rest.slice(4);
          const node = byKey.get(key) ?? { id: key, task: null, state: 'pending', deps: [], progress: null, error: null };
          if (kind === 'out') node.state = 'done';
          else if (node.state !== 'done') {
            const sub = decodeLoose(await readAt(ns, name, 0)) as { id?: string; queue?: string } | undefined;
            node.state = 'waiting';
            if (sub?.id !== undefined && sub.queue !== undefined) {
              const r = running.get(`${sub.queue}\u0000${sub.id}`);
              if (r !== undefined) {
                node.state = 'running';
                node.progress = normalizeProgress(r.progress).progress;
              } else {
                const result = decodeLoose(await readAt(ns, new QueueNames(sub.queue).result(sub.id), 0)) as { ok?: boolean; task?: string; error?: { message?: string }; cancelled?: boolean } | undefined;
                if (result?.ok === false) {
                  node.state = result.cancelled ? 'cancelled' : 'failed';
                  node.error = result.error?.message ?? 'failed';
                }
                if (typeof result?.task === 'string') node.task = result.task;
              }
            }
          }
          byKey.set(key, node);
          if (byKey.size >= 2000) break;
        }
        nodes = [...byKey.values()].sort((a, b) => a.id.localeCompare(b.id));
      }
      if (infoBytes === undefined && nodes.length === 0) return undefined;
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
    const workers = new Map<string, { hb: HeartbeatValue; stale: boolean }[]>();
    const queues = new Map<string, Set<string>>();
    const present = new Set<string>();
    for (const nsName of await this.namespaceNames()) {
      const r = await this.handles.peek(nsName, async (ns) => {
        const hbs: { hb: HeartbeatValue; stale: boolean }[] = [];
        for (const name of await ns.list(WORKER_PATTERN, { limit: 10_000 })) {
          const bytes = await readAt(ns, name, 0);
          const hb = decodeLoose(bytes) as HeartbeatValue | undefined;
          if (hb === undefined || typeof hb !== 'object' || hb.id === undefined) continue;
          const key = `${nsName}\u0000${hb.id}`;
          present.add(key);
          hbs.push({ hb, stale: this.judge(key, hb, now) });
        }
        let found = this.discovered.get(nsName);
        if (discover || found === undefined) {
          found = new Set<string>();
          for (const pattern of QUEUE_DISCOVERY_PATTERNS) {
            for (const name of await ns.list(pattern, { limit: 10_000 })) {
              const q = queueOf(name);
              if (q !== undefined) found.add(q);
            }
          }
          this.discovered.set(nsName, found);
        }
        const qs = new Set(found);
        for (const { hb } of hbs) for (const q of hb.queues ?? []) if (typeof q === 'string' && /^[A-Za-z0-9_.-]{1,100}$/.test(q)) qs.add(q);
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
  private judge(key: string, hb: HeartbeatValue, now: number): boolean {
    const lease = typeof hb.leaseTtlMs === 'number' && hb.leaseTtlMs > 0 ? hb.leaseTtlMs : DEFAULT_LEASE_MS;
    const prev = this.seen.get(key);
    const seq = typeof hb.seq === 'number' ? hb.seq : undefined;
    const completed = completionsByQueue(hb);
    if (prev === undefined) {
      // first sight: trust the worker's clock for now
      const lastBeat = typeof hb.lastBeat === 'number' ? hb.lastBeat : now;
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

function completionsByQueue(hb: HeartbeatValue): Map<string, number> {
  const out = new Map<string, number>();
  const byQueue = hb.stats?.byQueue;
  if (byQueue !== undefined && typeof byQueue === 'object') {
    for (const [q, s] of Object.entries(byQueue)) out.set(q, (num(s?.completed) ?? 0) + (num(s?.failed) ?? 0));
    return out;
  }
  const total = (num(hb.stats?.completed) ?? 0) + (num(hb.stats?.failed) ?? 0);
  const first = hb.queues?.[0];
  // Without per-queue counters, a worker's completions count for its first queue.
  if (first !== undefined && total > 0) out.set(first, total);
  return out;
}

function toFailedTask(bytes: Buffer, position: number): FailedTask {
  let d: Partial<DeadLetter>;
  try {
    d = decodeValue(bytes) as Partial<DeadLetter>;
  } catch (err) {
    return { id: `#${position}`, task: null, error: `undecodable dead letter: ${(err as Error).message}`, stack: null, attempts: null, failedAt: null, input: null };
  }
  const e = d.error ?? {};
  const message = `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? 'unknown error'}`;
  let input: string | null = null;
  if (d.env !== undefined && d.env !== null && 'input' in d.env) {
    input = safeStringify(d.env.input);
    if (input.length > INPUT_PREVIEW_CHARS) input = `${input.slice(0, INPUT_PREVIEW_CHARS)}\n… (${input.length - INPUT_PREVIEW_CHARS} more characters)`;
  }
  return {
    id: String(d.id ?? `#${position}`),
    task: typeof d.task === 'string' ? d.task : null,
    error: message,
    stack: typeof e.stack === 'string' ? e.stack : null,
    attempts: num(d.attempts),
    failedAt: num(d.failedAt),
    input,
  };
}

function parseInfoName(name: string): { workflow: string; runId: string } | undefined {
  const m = /^wf:([A-Za-z0-9_.-]{1,100}):(.+):info$/.exec(name);
  return m ? { workflow: m[1] as string, runId: m[2] as string } : undefined;
}

function summarizeWorkflow(namespace: string, workflow: string, runId: string, bytes: Buffer | undefined): WorkflowInfo {
  const info = (decodeLoose(bytes) ?? {}) as Record<string, unknown>;
  const n = (k: string) => num(info[k]) ?? 0;
  const status = String(info.status ?? 'unknown');
  const state: WorkflowInfo['state'] =
    status === 'running' ? 'running' : status === 'done' || status === 'completed' || status === 'succeeded' ? 'done' : status === 'failed' ? 'failed' : status === 'cancelled' || status === 'aborted' ? 'cancelled' : status === 'waiting' ? 'waiting' : 'unknown';
  return {
    namespace,
    id: `${workflow}:${runId}`,
    name: workflow,
    state,
    createdAt: num(info.startedAt),
    total: typeof info.steps === 'number' ? info.steps : Array.isArray(info.steps) ? info.steps.length : 0,
    done: n('done') + n('cached'),
    failed: n('failed'),
    running: n('queued') + n('running'),
  };
}

/** Nodes from an info value that lists its steps (`nodes` or `steps` as an array of {key|id, task, state, deps}). */
function nodesFromInfo(info: Record<string, unknown> | undefined): WorkflowNode[] | undefined {
  const list = info?.nodes ?? info?.steps;
  if (!Array.isArray(list)) return undefined;
  return list.slice(0, 2000).map((raw: Record<string, unknown>) => {
    const s = String(raw.state ?? 'unknown');
    const state: WorkflowNode['state'] =
      s === 'done' || s === 'cached' ? 'done' : s === 'queued' || s === 'running' ? 'running' : s === 'waiting' ? 'waiting' : s === 'failed' ? 'failed' : s === 'skipped' || s === 'cancelled' ? 'cancelled' : s === 'pending' ? 'pending' : 'unknown';
    return {
      id: String(raw.key ?? raw.id ?? '?'),
      task: typeof raw.task === 'string' ? raw.task : null,
      state,
      deps: Array.isArray(raw.deps) ? raw.deps.map(String) : [],
      progress: normalizeProgress(raw.progress).progress,
      error: typeof raw.error === 'string' ? raw.error : null,
    };
  });
}

async function readAt(ns: Namespace, name: string, index: number): Promise<Buffer | undefined> {
  try {
    return await ns.read(name, { index, timeout: 0 });
  } catch (err) {
    if (isDbrError(err, 'DBR_ERR_UNAVAIL') || isDbrError(err, 'DBR_ERR_TIMEOUT')) return undefined;
    throw err;
  }
}

function decodeLoose(bytes: Buffer | undefined): unknown {
  if (bytes === undefined) return undefined;
  try {
    return decodeValue(bytes);
  } catch {
    return undefined;
  }
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (m) => `\\${m}`);
}
