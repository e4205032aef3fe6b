/**
 * What the dashboard knows, computed from the tuple space: the namespace overview (cached for a fraction of
 * the refresh interval), and queue samples taken every interval to draw rates and latencies over time.
 * @module
 */
import type { Broker } from '@tsdbr/core';
import type { NamespaceSummary, Overview, QueueDetail, QueuePoint, QueueSummary } from '../api-types.js';
import type { NamespaceHandles } from './handles.js';
import type { QueueSample, TaskModel } from './task-model.js';

/** Most namespaces the overview lists. */
export const MAX_OVERVIEW_NAMESPACES = 500;
const RATE_WINDOW_MS = 60_000;

/** Receives each queue sample (metrics use it). */
export type SampleListener = (sample: QueueSample, completed: number) => void;

/** Live state of the tuple space, shared by the API, the event stream and /metrics. */
export class DashboardState {
  private overviewCache: { at: number; value: Promise<Overview> } | undefined;
  private readonly history = new Map<string, QueuePoint[]>();
  private latest: QueueSample[] = [];
  private readonly prevDone = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sampling: Promise<void> | undefined;
  private readonly listeners: SampleListener[] = [];

  constructor(
    private readonly broker: Broker,
    private readonly handles: NamespaceHandles,
    readonly tasks: TaskModel,
    private readonly refreshMs: number,
    private readonly historyMs: number,
  ) {}

  /**
   * Starts sampling queues every refresh interval. When a sample is slow (huge namespaces make the glob
   * walks long), the pause after it grows to ten times its duration, so the dashboard never takes more than
   * about a tenth of the backend's time.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async () => {
      const t0 = performance.now();
      await this.sample().catch(() => undefined);
      if (!this.running) return;
      this.timer = setTimeout(() => void tick(), paced(this.refreshMs, performance.now() - t0));
      this.timer.unref();
    };
    this.timer = setTimeout(() => void tick(), 0);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Calls fn with every queue sample. */
  onSample(fn: SampleListener): void {
    this.listeners.push(fn);
  }

  /** Namespaces with their counts (at most MAX_OVERVIEW_NAMESPACES). */
  async namespaces(): Promise<{ list: NamespaceSummary[]; truncated: boolean }> {
    const names = (await this.broker.namespaces('*')).sort();
    const truncated = names.length > MAX_OVERVIEW_NAMESPACES;
    const shown = names.slice(0, MAX_OVERVIEW_NAMESPACES);
    const list = (await Promise.all(shown.map((n) => this.namespace(n)))).filter((s): s is NamespaceSummary => s !== undefined);
    return { list, truncated };
  }

  /** One namespace's counts; undefined if it does not exist. */
  async namespace(name: string): Promise<NamespaceSummary | undefined> {
    return this.handles.peek(name, async (ns) => {
      const q = await ns.query();
      if (q.deletePending) this.handles.retire(name);
      return { name, names: q.names, values: q.values, bytes: q.bytes, attached: Math.max(0, q.attached - 1), deletePending: q.deletePending };
    });
  }

  /** The overview, computed at most once per half refresh interval. */
  overview(): Promise<Overview> {
    const now = Date.now();
    if (this.overviewCache !== undefined && now - this.overviewCache.at < this.refreshMs / 2) return this.overviewCache.value;
    const value = this.computeOverview();
    this.overviewCache = { at: now, value };
    value.catch(() => {
      if (this.overviewCache?.value === value) this.overviewCache = undefined;
    });
    return value;
  }

  /** Queues with counts, rates and latencies from the latest samples. */
  async queues(): Promise<QueueSummary[]> {
    if (this.latest.length === 0 && this.history.size === 0) await this.sample();
    return this.latest.map((s) => this.summarize(s));
  }

  /** One queue with its history; undefined if unknown. */
  async queue(namespace: string, queue: string): Promise<QueueDetail | undefined> {
    const all = await this.queues();
    const s = all.find((q) => q.namespace === namespace && q.queue === queue);
    if (s === undefined) return undefined;
    return { ...s, history: [...(this.history.get(key(namespace, queue)) ?? [])] };
  }

  /** Takes one sample of every queue now (coalesced with one in flight). */
  sample(): Promise<void> {
    this.sampling ??= this.takeSample().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async takeSample(): Promise<void> {
    const now = Date.now();
    const samples = await this.tasks.queues();
    const seen = new Set<string>();
    for (const s of samples) {
      const k = key(s.namespace, s.queue);
      seen.add(k);
      const points = this.history.get(k) ?? [];
      const prev = points[points.length - 1];
      const finished = s.done + s.failed;
      const before = this.prevDone.get(k);
      const completed = before === undefined ? 0 : Math.max(0, finished - before);
      this.prevDone.set(k, finished);
      const dt = prev === undefined ? 0 : (now - prev.t) / 1000;
      const latencyMs = s.durationsMs.length > 0 ? s.durationsMs.reduce((a, b) => a + b, 0) / s.durationsMs.length : null;
      points.push({ t: now, waiting: s.waiting, running: s.running, done: s.done, failed: s.failed, throughput: dt > 0 ? completed / dt : 0, latencyMs });
      while (points.length > 0 && now - (points[0] as QueuePoint).t > this.historyMs) points.shift();
      this.history.set(k, points);
      for (const fn of this.listeners) fn(s, completed);
    }
    for (const k of this.history.keys()) if (!seen.has(k)) this.history.delete(k);
    this.latest = samples;
  }

  private summarize(s: QueueSample): QueueSummary {
    const points = this.history.get(key(s.namespace, s.queue)) ?? [];
    const now = Date.now();
    const recent = points.filter((p) => now - p.t <= RATE_WINDOW_MS);
    let throughput = 0;
    if (recent.length >= 2) {
      const first = recent[0] as QueuePoint;
      const last = recent[recent.length - 1] as QueuePoint;
      const seconds = (last.t - first.t) / 1000;
      const completed = recent.slice(1).reduce((a, p, i) => a + p.throughput * ((p.t - (recent[i] as QueuePoint).t) / 1000), 0);
      throughput = seconds > 0 ? completed / seconds : 0;
    }
    const lat = recent.filter((p) => p.latencyMs !== null);
    const latencyMs = lat.length > 0 ? lat.reduce((a, p) => a + (p.latencyMs as number), 0) / lat.length : null;
    return { namespace: s.namespace, queue: s.queue, waiting: s.waiting, running: s.running, done: s.done, failed: s.failed, workers: s.workers, throughput, latencyMs };
  }

  private async computeOverview(): Promise<Overview> {
    const [{ list, truncated }, queues, workers] = await Promise.all([this.namespaces(), this.queues(), this.tasks.workers()]);
    const totals = { namespaces: list.length, names: 0, values: 0, bytes: 0 };
    for (const n of list) {
      totals.names += Math.max(0, n.names);
      totals.values += Math.max(0, n.values);
      totals.bytes += Math.max(0, n.bytes);
    }
    const q = { queues: queues.length, waiting: 0, running: 0, done: 0, failed: 0 };
    for (const s of queues) {
      q.waiting += s.waiting;
      q.running += s.running;
      q.done += s.done;
      q.failed += s.failed;
    }
    return {
      backend: this.broker.backend,
      scope: this.broker.backend === 'mem' ? 'process' : 'shared',
      namespaces: list,
      namespacesTruncated: truncated,
      totals,
      queues: q,
      workers: { alive: workers.filter((w) => !w.stale).length },
    };
  }
}

/** The pause after work that took `tookMs`: the refresh interval, or ten times the work if that is longer. */
export function paced(refreshMs: number, tookMs: number): number {
  return Math.max(refreshMs, Math.min(60_000, tookMs * 10));
}

function key(namespace: string, queue: string): string {
  return `${namespace}\u0000${queue}`;
}
