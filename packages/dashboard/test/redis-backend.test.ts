/**
 * The dashboard on the Redis backend: it sees tuples put by any client, pages with the SCAN-based
 * iterator, previews large values truncated and streams live counts.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard, type NamePage, type Overview, type ValuePreview } from '../src/index.js';
import { uniqueName } from './support/fixture.js';
import { startRedis, type RedisInstance } from './support/redis.js';
import { openEvents } from './support/sse-client.js';
import type { NamespaceSummary } from '../src/api-types.js';

describe('on Redis', () => {
  let redis: RedisInstance;
  let broker: Broker;
  let dashboard: Dashboard;
  let base: string;
  let ns: Namespace;

  beforeAll(async () => {
    redis = await startRedis();
    // the backend is chosen once per process, from the first broker
    broker = new Broker({ server: redis.url });
    expect(broker.backend).toMatch(/^redis/);
    ns = await broker.create(uniqueName('redis'));
    const entries: [string, string][] = [];
    for (let i = 0; i < 2500; i++) entries.push([`k:${i}`, `value ${i}`]);
    await ns.putMany(entries);
    await ns.put('big', Buffer.alloc(16 * 1024 * 1024, 'r'));
    dashboard = createDashboard({ broker, port: 0, refreshInterval: 150 });
    base = await dashboard.listen();
  }, 60_000);

  afterAll(async () => {
    await dashboard?.close();
    await ns?.close();
    await broker?.delete(ns.name).catch(() => undefined);
    await broker?.close();
    await redis?.stop();
  });

  const getJson = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}${path.replace(/^\//, '')}`);
    expect(r.status, await r.clone().text()).toBe(200);
    return (await r.json()) as T;
  };

  it('reports the shared scope and the namespace counts', async () => {
    const o = await getJson<Overview>('/api/overview');
    expect(o.scope).toBe('shared');
    expect(o.namespaces.find((n) => n.name === ns.name)).toMatchObject({ names: 2501, values: 2501 });
  });

  it('pages through every name once', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: NamePage = await getJson<NamePage>(`/api/namespaces/${ns.name}/names?limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      for (const n of page.names) seen.add(n.name);
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen.size).toBe(2501);
  });

  it('previews a 16 MiB value truncated', async () => {
    const p = await getJson<ValuePreview>(`/api/namespaces/${ns.name}/value?name=big`);
    expect(p).toMatchObject({ size: 16 * 1024 * 1024, truncated: true, shownBytes: 64 * 1024 });
  });

  it('streams counts changed by another client', async () => {
    const other = new Broker({ server: redis.url });
    const theirs = await other.attach(ns.name);
    const stream = await openEvents(`${base}api/events?topics=&ns=${ns.name}`);
    try {
      await stream.waitFor((e) => e.event === 'namespace' && (e.data as NamespaceSummary).values === 2501);
      await theirs.put('from-another-client', 'hi');
      await stream.waitFor((e) => e.event === 'namespace' && (e.data as NamespaceSummary).values === 2502);
    } finally {
      stream.close();
      await other.close();
    }
  });
});
