import { Broker } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard, type NamespaceSummary, type Overview } from '../src/index.js';
import { uniqueName } from './support/fixture.js';
import { openEvents } from './support/sse-client.js';

describe('live updates over Server-Sent Events, and /metrics', () => {
  let broker: Broker;
  let dashboard: Dashboard;
  let base: string;
  beforeAll(async () => {
    broker = new Broker();
    dashboard = createDashboard({ broker, port: 0, refreshInterval: 100 });
    base = await dashboard.listen();
  });
  afterAll(async () => {
    await dashboard.close();
    await broker.close();
  });

  it('streams a namespace count as tuples are put and taken', async () => {
    const ns = await broker.create(uniqueName('live'));
    const stream = await openEvents(`${base}api/events?topics=overview&ns=${encodeURIComponent(ns.name)}`);
    try {
      await stream.waitFor((e) => e.event === 'namespace' && (e.data as NamespaceSummary).values === 0);
      for (let i = 0; i < 5; i++) await ns.put(`t${i}`, 'x');
      await stream.waitFor((e) => e.event === 'namespace' && (e.data as NamespaceSummary).values === 5);
      await stream.waitFor((e) => e.event === 'overview' && (e.data as Overview).namespaces.some((n) => n.name === ns.name && n.values === 5));
      await ns.get('t0');
      await stream.waitFor((e) => e.event === 'namespace' && (e.data as NamespaceSummary).values === 4);
    } finally {
      stream.close();
      await ns.close();
    }
  });

  it('sends an event only when its data changed', async () => {
    const ns = await broker.create(uniqueName('quiet'));
    const stream = await openEvents(`${base}api/events?topics=&ns=${encodeURIComponent(ns.name)}`);
    try {
      await stream.waitFor((e) => e.event === 'namespace');
      await new Promise((r) => setTimeout(r, 500));
      expect(stream.events.filter((e) => e.event === 'namespace')).toHaveLength(1);
    } finally {
      stream.close();
      await ns.close();
    }
  });

  it('rejects unknown topics with a 400', async () => {
    const r = await fetch(`${base}api/events?topics=bogus`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/Unknown topic "bogus"/);
  });

  it('/metrics exposes namespace sizes in the Prometheus text format', async () => {
    const ns = await broker.create(uniqueName('metrics'));
    await ns.put('a', 'hello');
    const r = await fetch(`${base}metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await r.text();
    expect(text).toContain(`tsdbr_namespace_values{namespace="${ns.name}"} 1`);
    expect(text).toContain(`tsdbr_namespace_bytes{namespace="${ns.name}"} 5`);
    expect(text).toMatch(/^tsdbr_dashboard_info\{version="[^"]+",backend="mem"\} 1$/m);
    expect(text).toContain('# TYPE tsdbr_queue_tasks gauge');
    expect(text).toContain('# TYPE tsdbr_task_duration_seconds histogram');
    await ns.close();
  });
});
