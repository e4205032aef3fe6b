import { Broker, msgpack, type Namespace } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDashboard, type Dashboard, type FailedPage, type QueueDetail, type QueueSummary, type WorkerInfo, type WorkflowInfo } from '../src/index.js';
import { uniqueName } from './support/fixture.js';
import { deadLetter, q, SimWorker, submit } from './support/sim-worker.js';

const TOKEN = 'queue-test-token-42';
const auth = { host: '127.0.0.1', authorization: `Bearer ${TOKEN}` };

describe('queues, workers and workflows from the worker tuple layout', () => {
  let broker: Broker;
  let dashboard: Dashboard;
  let ns: Namespace;
  let worker: SimWorker;
  const get = async <T>(url: string) => {
    const r = await dashboard.app.inject({ url, headers: auth });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as T;
  };
  const post = (url: string, payload: unknown = {}) => dashboard.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create(uniqueName('tsdbr'));
    dashboard = createDashboard({ broker, port: 0, token: TOKEN, write: true, refreshInterval: 100 });
    await submit(ns, 'render', 'render-frame', [1, 2, 3, 4, 5]);
    await ns.put(q('render').pending('hi'), msgpack().encode({ id: 'urgent', task: 'render-frame', input: 0, att: 1, at: Date.now(), pri: 5 }));
    await ns.put(q('render').pending('normal'), msgpack().encode({ k: 'b' })); // its doorbell: not a task
    await deadLetter(ns, 'render', 'bad-1', 'frame 7 out of range', { frame: 7 });
    await deadLetter(ns, 'render', 'bad-2', 'frame 9 out of range', { frame: 9 });
    await deadLetter(ns, 'other', 'x', 'boom', null);
    worker = new SimWorker(ns, 'node1.4242.abc', 'render');
    await worker.beat();
    await worker.claim();
  });
  afterAll(async () => {
    await dashboard.close();
    await broker.close();
  });

  it('finds queues and counts waiting, running and failed tasks', async () => {
    // the API is eventually consistent: at most one refresh interval old
    await vi.waitFor(async () => {
      const { queues } = await get<{ queues: QueueSummary[] }>('/api/queues');
      const render = queues.find((x) => x.namespace === ns.name && x.queue === 'render');
      expect(render).toMatchObject({ waiting: 5, running: 1, failed: 2, workers: 1 });
      expect(queues.find((x) => x.namespace === ns.name && x.queue === 'other')).toMatchObject({ failed: 1, waiting: 0 });
    }, { timeout: 10_000, interval: 50 });
  });

  it('lists workers with host, pid, queues and current tasks with progress', async () => {
    const w = await vi.waitFor(async () => {
      const { workers } = await get<{ workers: WorkerInfo[] }>('/api/workers');
      const found = workers.find((x) => x.id === 'node1.4242.abc');
      expect(found).toBeDefined();
      return found;
    }, { timeout: 10_000, interval: 50 });
    expect(w).toMatchObject({ namespace: ns.name, pid: process.pid, queues: ['render'], stale: false, concurrency: 1 });
    expect(w?.running).toHaveLength(1);
    expect(w?.running[0]).toMatchObject({ id: 't0', task: 'render-frame', progress: 0.25 });
  });

  it('counts completions and keeps history for the charts', async () => {
    await worker.finish();
    await worker.claim();
    await worker.finish();
    const detail = await vi.waitFor(async () => {
      const d = await get<QueueDetail>(`/api/queues/${encodeURIComponent(ns.name)}/render`);
      expect(d.done).toBe(2);
      expect(d.running).toBe(0);
      return d;
    }, { timeout: 10_000, interval: 50 });
    expect(detail.history.length).toBeGreaterThan(0);
    const m = await dashboard.app.inject({ url: '/metrics', headers: auth });
    expect(m.body).toContain(`tsdbr_queue_tasks{namespace="${ns.name}",queue="render",state="waiting"} 4`);
    expect(m.body).toMatch(new RegExp(`tsdbr_workers\\{namespace="${ns.name}",state="alive"\\} 1`));
  });

  it('pages through failed tasks, newest first, with errors and inputs', async () => {
    const page = await get<FailedPage>(`/api/queues/${encodeURIComponent(ns.name)}/render/failed?limit=1`);
    expect(page.tasks).toHaveLength(1);
    expect(page.tasks[0]).toMatchObject({ id: 'bad-2', task: 'render-frame', error: 'RangeError: frame 9 out of range', attempts: 3 });
    expect(page.tasks[0]?.stack).toContain('render.ts:1:1');
    expect(JSON.parse(page.tasks[0]?.input ?? '')).toEqual({ frame: 9 });
    const next = await get<FailedPage>(`/api/queues/${encodeURIComponent(ns.name)}/render/failed?limit=1&cursor=${page.cursor}`);
    expect(next.tasks[0]?.id).toBe('bad-1');
    expect(next.cursor).toBeNull();
  });

  it('retries a failed task: it leaves the dead letters and waits again from attempt 1', async () => {
    const before = await ns.count(q('render').pending());
    const r = await post(`/api/queues/${encodeURIComponent(ns.name)}/render/retry`, { id: 'bad-1' });
    expect(r.statusCode, r.body).toBe(200);
    expect(await ns.count(q('render').dead())).toBe(1);
    expect(await ns.count(q('render').pending())).toBe(before + 1);
    const last = msgpack().decode(await ns.read(q('render').pending(), { index: before, timeout: 0 })) as { id: string; att: number };
    expect(last).toMatchObject({ id: 'bad-1', att: 1 });
    const left = msgpack().decode(await ns.read(q('render').dead(), { timeout: 0 })) as { id: string };
    expect(left.id).toBe('bad-2');
    const again = await post(`/api/queues/${encodeURIComponent(ns.name)}/render/retry`, { id: 'bad-1' });
    expect(again.statusCode).toBe(404);
  });

  it('answers 400 with the naming rule for an invalid queue name or task id', async () => {
    const badQueue = await post(`/api/queues/${encodeURIComponent(ns.name)}/${encodeURIComponent('bad queue')}/retry`, { id: 'bad-1' });
    expect(badQueue.statusCode).toBe(400);
    expect(badQueue.json().error.message).toContain('A-Z a-z 0-9 _ . -');
    const badId = await post(`/api/queues/${encodeURIComponent(ns.name)}/render/cancel`, { id: 'no spaces' });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error.message).toContain('is invalid');
  });

  it('cancels a task with the protocol marker and purges the waiting tasks', async () => {
    expect((await post(`/api/queues/${encodeURIComponent(ns.name)}/render/cancel`, { id: 't4' })).statusCode).toBe(200);
    expect(await ns.has(q('render').cancel('t4'))).toBe(true);
    const bells = 1; // the urgent task's, in the normal band: purged, not counted
    const waiting = (await ns.count(q('render').pending())) + (await ns.count(q('render').pending('hi'))) - bells;
    const r = await post(`/api/queues/${encodeURIComponent(ns.name)}/render/purge`);
    expect(r.json()).toMatchObject({ ok: true, removed: waiting });
    expect(await ns.count(q('render').pending())).toBe(0);
  });

  it('marks a worker stale when its heartbeat stops within its lease', async () => {
    const quiet = new SimWorker(ns, 'node2.1.def', 'render', 200);
    await quiet.beat();
    await vi.waitFor(async () => {
      const { workers } = await get<{ workers: WorkerInfo[] }>('/api/workers');
      expect(workers.find((w) => w.id === 'node2.1.def')?.stale).toBe(true);
    }, { timeout: 10_000, interval: 100 });
    await quiet.stop();
  });

  it('lists workflow runs and builds a run\'s nodes from its step tuples', async () => {
    await ns.put('wf:ensemble:run-7:info', JSON.stringify({ workflow: 'ensemble', runId: 'run-7', status: 'running', startedAt: Date.now() - 1000, steps: 3, done: 1, queued: 1, waiting: 1 }));
    await ns.put('wf:ensemble:run-7:out:prepare', msgpack().encode({ output: 1 }));
    await ns.put('wf:ensemble:run-7:sub:prepare', JSON.stringify({ id: 'wf-a', queue: 'render' }));
    await ns.put('wf:ensemble:run-7:sub:simulate.0', JSON.stringify({ id: 'wf-b', queue: 'render' }));
    await ns.put(q('render').result('wf-b'), msgpack().encode({ k: 'r', id: 'wf-b', task: 'simulate', ok: false, error: { name: 'Error', message: 'diverged' }, attempts: 3, finishedAt: Date.now() }));
    const { workflows } = await get<{ workflows: WorkflowInfo[] }>('/api/workflows');
    const run = workflows.find((w) => w.namespace === ns.name && w.id === 'ensemble:run-7');
    expect(run).toMatchObject({ name: 'ensemble', state: 'running', total: 3, done: 1, running: 1 });
    const detail = await get<WorkflowInfo>(`/api/workflows/${encodeURIComponent(ns.name)}/${encodeURIComponent('ensemble:run-7')}`);
    const byId = Object.fromEntries((detail.nodes ?? []).map((n) => [n.id, n]));
    expect(byId.prepare?.state).toBe('done');
    expect(byId['simulate.0']).toMatchObject({ state: 'failed', error: 'diverged', task: 'simulate' });
    expect((await dashboard.app.inject({ url: `/api/workflows/${encodeURIComponent(ns.name)}/nope:none`, headers: auth })).statusCode).toBe(404);
  });

  it('uses the step list with dependencies when the run info carries one', async () => {
    await ns.put(
      'wf:dag:r1:info',
      JSON.stringify({ workflow: 'dag', runId: 'r1', status: 'running', startedAt: Date.now(), steps: [{ key: 'a', task: 'A', state: 'done' }, { key: 'b', task: 'B', state: 'queued', deps: ['a'], progress: 0.5 }] }),
    );
    const detail = await get<WorkflowInfo>(`/api/workflows/${encodeURIComponent(ns.name)}/dag:r1`);
    expect(detail.nodes).toEqual([
      { id: 'a', task: 'A', state: 'done', deps: [], progress: null, error: null },
      { id: 'b', task: 'B', state: 'running', deps: ['a'], progress: 0.5, error: null },
    ]);
  });
});
