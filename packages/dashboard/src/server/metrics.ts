/**
 * Prometheus metrics at `/metrics` (prom-client, a registry of the dashboard's own): namespace sizes, queue
 * depths, completions (use `rate()`), task durations and worker counts.
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DashboardState } from './state.js';

/** The metrics of one dashboard. */
export class DashboardMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  private readonly completed: Counter<'namespace' | 'queue'>;
  private readonly durations: Histogram<'namespace' | 'queue'>;

  constructor(state: DashboardState, info: { version: string; backend: string }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'tsdbr_dashboard_process_' });
    const infoGauge = new Gauge({ name: 'tsdbr_dashboard_info', help: 'Dashboard version and backend (always 1)', labelNames: ['version', 'backend'], registers: [registry] });
    infoGauge.set({ version: info.version, backend: info.backend }, 1);

    new Gauge({
      name: 'tsdbr_namespaces',
      help: 'Namespaces in the tuple space (as far as the dashboard lists them)',
      registers: [registry],
      async collect() {
        this.set((await state.overview()).totals.namespaces);
      },
    });
    const perNamespace = (name: string, help: string, field: 'names' | 'values' | 'bytes') =>
      new Gauge({
        name,
        help,
        labelNames: ['namespace'],
        registers: [registry],
        async collect() {
          const o = await state.overview();
          this.reset();
          for (const n of o.namespaces) this.set({ namespace: n.name }, n[field]);
        },
      });
    perNamespace('tsdbr_namespace_names', 'Tuple names holding values, per namespace', 'names');
    perNamespace('tsdbr_namespace_values', 'Values stored, per namespace', 'values');
    perNamespace('tsdbr_namespace_bytes', 'Bytes stored, per namespace (-1: unknown)', 'bytes');

    new Gauge({
      name: 'tsdbr_workers',
      help: 'Workers by heartbeat state (alive, stale)',
      labelNames: ['namespace', 'state'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const w of await state.tasks.workers()) this.inc({ namespace: w.namespace, state: w.stale ? 'stale' : 'alive' });
      },
    });
    new Gauge({
      name: 'tsdbr_queue_tasks',
      help: 'Tasks of a queue by state (waiting, running, done, failed): the queue depths',
      labelNames: ['namespace', 'queue', 'state'],
      registers: [registry],
      async collect() {
        const queues = await state.queues();
        this.reset();
        for (const q of queues) {
          for (const s of ['waiting', 'running', 'done', 'failed'] as const) this.set({ namespace: q.namespace, queue: q.queue, state: s }, q[s]);
        }
      },
    });
    new Gauge({
      name: 'tsdbr_queue_throughput',
      help: 'Tasks finished per second over the last minute',
      labelNames: ['namespace', 'queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of await state.queues()) this.set({ namespace: q.namespace, queue: q.queue }, q.throughput);
      },
    });
    new Gauge({
      name: 'tsdbr_queue_workers',
      help: 'Live workers serving a queue',
      labelNames: ['namespace', 'queue'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of await state.queues()) this.set({ namespace: q.namespace, queue: q.queue }, q.workers);
      },
    });
    this.completed = new Counter({
      name: 'tsdbr_queue_completed_total',
      help: 'Tasks seen finishing (done or failed) since the dashboard started; rate() gives throughput',
      labelNames: ['namespace', 'queue'],
      registers: [registry],
    });
    this.durations = new Histogram({
      name: 'tsdbr_task_duration_seconds',
      help: 'Durations of finished tasks, as recorded in their results',
      labelNames: ['namespace', 'queue'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800],
      registers: [registry],
    });
    state.onSample((s, completed) => {
      const labels = { namespace: s.namespace, queue: s.queue };
      this.completed.inc(labels, completed);
      for (const ms of s.durationsMs) this.durations.observe(labels, ms / 1000);
    });
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Its content type. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
