import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Worker, WorkerShutdownError } from '../src/index.js';
import { sleepy, sleepyElsewhere } from './fixtures/arithmetic-tasks.js';
import { calls, hangsUntilAborted } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, onRedis, silent, startWorker, until } from './support/harness.js';

const entry = fileURLToPath(new URL('../src/pool-entry.ts', import.meta.url));
const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

function workerProcess(namespace: string, grace = '30s') {
  const child = spawn(process.execPath, ['--import', tsx, entry], {
    env: { ...process.env, DBR_POOL_MEMBER: JSON.stringify({ tasksModule, concurrency: 2, namespace, shutdownGrace: grace, logLevel: process.env.TEST_CHILD_LOG ?? 'silent', index: 0 }) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve) => child.on('message', (m: { type?: string }) => m?.type === 'ready' && resolve()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return { child, ready, exited };
}

describe('graceful shutdown', () => {
  it('close() stops claiming and lets running tasks finish', async () => {
    const { ns } = await freshNamespace('grace');
    const worker = new Worker({ tasks: [sleepy], namespace: ns, logger: silent, concurrency: 2 });
    await worker.start();
    const client = clientOn(ns);
    const h = await client.submit(sleepy, { n: 7, ms: 300 });
    await until(() => worker.activeCount === 1, 'the task to start');
    await worker.close({ graceMs: 30_000 });
    expect(await h.result({ timeout: 0 })).toBe(7);
    // nothing is claimed after close: a new task stays queued
    await client.submit(sleepy, { n: 8, ms: 1 });
    expect(await ns.count('q:{default}:pending')).toBe(1);
    expect(await ns.list('worker:*')).toEqual([]);
  });

  it('tasks still running at the deadline are aborted with WorkerShutdownError and requeued for another worker', async () => {
    const { ns } = await freshNamespace('requeue');
    const first = new Worker({ tasks: [hangsUntilAborted], namespace: ns, logger: silent });
    await first.start();
    const h = await clientOn(ns).submit(hangsUntilAborted, { ms: 400 });
    await until(() => first.activeCount === 1, 'the task to start');
    await first.close({ graceMs: 20 });
    expect(await ns.count('q:{default}:pending')).toBe(1);
    await startWorker(ns, { tasks: [hangsUntilAborted] });
    expect(await h.result()).toBe('finished');
    expect(calls.get(h.id)).toBe(2);
    expect(new WorkerShutdownError()).toBeInstanceOf(Error);
  });

  it('a worker process exits 0 on SIGTERM', async () => {
    const { name } = await freshNamespace('sigterm');
    const p = workerProcess(name);
    await p.ready;
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it.skipIf(!onRedis)('on SIGTERM a worker process finishes its in-flight task first (Redis)', async () => {
    const { ns, name } = await freshNamespace('sigterm-inflight');
    const p = workerProcess(name);
    await p.ready;
    const h = await clientOn(ns).submit(sleepy, { n: 5, ms: 800, tally: 'started' });
    // running, not only claimed: a claimed task that has not started is requeued at once on SIGTERM
    await until(async () => (await ns.count('started')) > 0, 'the task to start');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(await h.result({ timeout: 0 })).toBe(5);
  });

  it.skipIf(!onRedis)('a second signal forces exit (Redis)', async () => {
    const { ns, name } = await freshNamespace('sigterm-twice');
    const p = workerProcess(name, '1h');
    await p.ready;
    await clientOn(ns).submit(sleepy, { n: 5, ms: 600_000, tally: 'started' });
    await until(async () => (await ns.count('started')) > 0, 'the task to start');
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(130);
  });

  it('a task whose outcome is being delivered when the deadline passes is not requeued beside its result', async () => {
    const { ns } = await freshNamespace('grace-settling');
    const worker = new Worker({ tasks: [sleepy], namespace: ns, logger: silent });
    // the deadline lands inside the finish: close() is called from the 'completed' event, which fires between
    // the result's write and the release of the task's dedup key
    let closing: Promise<void> | undefined;
    worker.on('completed', () => (closing ??= worker.close({ graceMs: 0 })));
    await worker.start();
    const h = await clientOn(ns).submit(sleepy, { n: 4, ms: 1 }, { dedupKey: 'settling' });
    await until(() => closing !== undefined, 'the worker to start closing');
    await closing;
    expect(await ns.count('q:{default}:pending')).toBe(0);
    expect(await h.result({ timeout: '5s' })).toBe(4);
    expect(await ns.count(`q:{default}:result:${h.id}`)).toBe(1); // one execution, one result (kept: dedup'd)
  });

  it('two running tasks with the same id in two queues are both waited for at shutdown', async () => {
    const { ns } = await freshNamespace('grace-same-id');
    const worker = new Worker({ tasks: [sleepy, sleepyElsewhere], queues: ['default', 'elsewhere'], namespace: ns, logger: silent, concurrency: 2 });
    await worker.start();
    const client = clientOn(ns);
    const slow = await client.submit(sleepy, { n: 1, ms: 800 }, { id: 'job-1' });
    const fast = await client.submit(sleepyElsewhere, { n: 2, ms: 50 }, { id: 'job-1' });
    expect(await fast.result({ timeout: '5s' })).toBe(2);
    await until(() => worker.stats.completed === 1 && worker.activeCount < 2, 'the fast task to be settled');
    expect(worker.activeCount).toBe(1); // the slow one, still running
    await worker.close({ graceMs: 5000 });
    // close() waited for it: its result is there already, and nothing was requeued
    expect(await ns.count('q:{default}:result:job-1')).toBe(1);
    expect(await slow.result({ timeout: '1s' })).toBe(1);
    expect(await ns.count('q:{default}:pending')).toBe(0);
  });
});
