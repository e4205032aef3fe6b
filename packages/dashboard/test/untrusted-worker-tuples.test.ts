/**
 * Heartbeats and dead letters are tuples anyone with access to the namespace can write: a malformed heartbeat
 * is skipped (as @tsdbr/worker's own liveness check skips it), a malformed dead letter shown in part, and
 * neither takes the queue, worker, overview or metrics views down.
 */
import { Broker, msgpack, type Namespace } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDashboard, type Dashboard, type FailedPage, type QueueSummary, type WorkerInfo } from '../src/index.js';
import { uniqueName } from './support/fixture.js';
import { deadLetter, q, SimWorker, submit } from './support/sim-worker.js';

const mp = msgpack<unknown>();

const BAD_HEARTBEATS: Record<string, unknown> = {
  'queues-number': { id: 'evil-1', queues: 5 },
  'queues-string': { id: 'evil-2', queues: 'render-and-more', lastBeat: Date.now(), seq: 1 },
  'tasks-object': { id: 'evil-3', tasks: {} },
  'tasks-null': { id: 'evil-4', tasks: [null, 7, 'x', { id: {}, queue: 9 }] },
  'stats-junk': { id: 'evil-5', stats: 5, byQueue: [1, 2], host: 7, pid: 'x', leaseTtlMs: 'long' },
  'by-queue-junk': { id: 'evil-6', queues: ['render', 5, null], byQueue: { render: 'lots', other: null }, tasks: [{ id: 't9', queue: 'render', startedAt: 'now', progress: { current: 'x' } }] },
  'no-id': { tasks: [null] },
  'not-an-object': 'hello',
};

describe('malformed worker tuples', () => {
  let broker: Broker;
  let dashboard: Dashboard;
  let ns: Namespace;
  const get = (url: string) => dashboard.app.inject({ url, headers: { host: '127.0.0.1' } });

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create(uniqueName('tsdbr'));
    dashboard = createDashboard({ broker, port: 0, refreshInterval: 100 });
    await submit(ns, 'render', 'render-frame', [1, 2]);
    await deadLetter(ns, 'render', 'good-1', 'frame 7 out of range', { frame: 7 });
    for (const [name, hb] of Object.entries(BAD_HEARTBEATS)) await ns.put(`worker:${name}`, mp.encode(hb));
    await new SimWorker(ns, 'node1.4242.abc', 'other').beat();
  });
  afterAll(async () => {
    await dashboard.close();
    await broker.close();
  });

  it('keeps workers, queues, overview and metrics up', async () => {
    for (const url of ['/api/workers', '/api/queues', '/api/overview', '/metrics', '/api/workflows']) {
      const r = await get(url);
      expect(r.statusCode, `${url}: ${r.body}`).toBe(200);
    }
  });

  it('lists the good worker and leaves out the malformed ones, which workers themselves treat as no heartbeat', async () => {
    const { workers } = (await get('/api/workers')).json() as { workers: WorkerInfo[] };
    const mine = workers.filter((w) => w.namespace === ns.name);
    expect(mine.map((w) => w.id)).toEqual(['node1.4242.abc']);
    expect(mine[0]).toMatchObject({ queues: ['other'], concurrency: 1 });
  });

  it('counts no malformed heartbeat as a worker serving a queue, not even one naming it in a list', async () => {
    await vi.waitFor(async () => {
      const { queues } = (await get('/api/queues')).json() as { queues: QueueSummary[] };
      const render = queues.find((x) => x.namespace === ns.name && x.queue === 'render');
      // evil-6 names render in a list, but its other fields are junk: the workers recover its slots as a dead worker's
      expect(render).toMatchObject({ waiting: 2, failed: 1, workers: 0 });
    }, { timeout: 10_000, interval: 50 });
  });

  it('shows dead letters whose envelope, error or input are not what a worker writes', async () => {
    const dead = q('render').dead();
    await ns.put(dead, mp.encode({ k: 'd', id: 'x-env-string', env: 'abc' }));
    await ns.put(dead, mp.encode({ k: 'd', id: 'x-error-string', error: 'plain failure', env: null }));
    await ns.put(dead, mp.encode({ k: 'd', id: 'x-error-junk', error: { name: 5, message: { a: 1 }, stack: 3 }, env: [1, 2] }));
    const r = await get(`/api/queues/${encodeURIComponent(ns.name)}/render/failed`);
    expect(r.statusCode, r.body).toBe(200);
    const { tasks } = r.json() as FailedPage;
    expect(tasks.find((t) => t.id === 'x-env-string')).toMatchObject({ input: null, error: 'unknown error', task: null });
    expect(tasks.find((t) => t.id === 'x-error-string')).toMatchObject({ error: 'plain failure', input: null });
    expect(tasks.find((t) => t.id === 'x-error-junk')).toMatchObject({ error: 'unknown error', stack: null, input: null });
    expect(tasks.find((t) => t.id === 'good-1')).toMatchObject({ error: 'RangeError: frame 7 out of range', input: '{\n  "frame": 7\n}' });
  });
});
