/**
 * `dbr tasks ls|inspect|retry|cancel` end to end on Redis: a `dbr worker` process runs the tasks, the test
 * submits them, and each `dbr tasks` command is its own process against the same server. (On the embedded
 * backend separate processes share nothing, so the file runs on redis and cluster only.)
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskCancelledError, TaskFailedError } from '../src/index.js';
import { gated, hangs } from './fixtures/ops-tasks.js';
import { clientOn, onRedis, until } from './support/harness.js';
import { dbr, type RunningDbr, spawnDbr } from './support/dbr-cli.js';
import { Broker, type Namespace } from '@tsdbr/core';

const tasksModule = fileURLToPath(new URL('./fixtures/ops-tasks.ts', import.meta.url));

/**
 * A namespace of its own, served by a `dbr worker` process for the tests of one describe block; the worker is
 * stopped (if a test has not stopped it) and the namespace deleted afterwards.
 */
function dbrWorkerFixture(label: string, workerArgs: string[], env: NodeJS.ProcessEnv = {}) {
  const fx = { name: `${label}-${process.pid}-${Date.now().toString(36)}` } as { name: string; broker: Broker; ns: Namespace; worker: RunningDbr };
  beforeAll(async () => {
    fx.broker = new Broker();
    fx.ns = await fx.broker.create(fx.name);
    fx.worker = spawnDbr(['worker', '--tasks', tasksModule, '-n', fx.name, ...workerArgs], env);
    await until(async () => (await fx.ns.list('worker:*')).length > 0, 'the dbr worker process to beat');
  }, 120_000);
  afterAll(async () => {
    if (fx.worker?.child.exitCode === null) fx.worker.child.kill('SIGTERM');
    await fx.worker?.exited;
    await fx.ns?.remove({ template: '*' }).catch(() => undefined);
    await fx.broker?.close();
    await new Broker().delete(fx.name).catch(() => undefined);
  });
  return fx;
}

describe.skipIf(!onRedis)('dbr tasks on Redis', () => {
  const fx = dbrWorkerFixture('wt-ops', ['--concurrency', '2', '--lease', '5s', '--grace', '1s'], { DBR_LOG_LEVEL: 'info' });
  const tasks = (...args: string[]) => dbr(['tasks', ...args, '-n', fx.name]);

  it('lists a failed task, inspects it, retries it to success, and inspects the result', async () => {
    const client = clientOn(fx.ns);
    const first = await client.submit(gated, { key: 'k1' }, { id: 'gated-1' });
    await expect(first.result()).rejects.toBeInstanceOf(TaskFailedError);

    const ls = await tasks('ls', '--json');
    expect(ls.code).toBe(0);
    expect(JSON.parse(ls.stdout)).toContainEqual(expect.objectContaining({ queue: 'ops', dead: 1, pending: { hi: 0, normal: 0, lo: 0 } }));
    const table = await tasks('ls');
    expect(table.stdout).toMatch(/ops\s+0\s+0\s+0\s+0\s+\d+\s+1/);

    const dead = await tasks('ls', '--dead', '--json');
    expect(JSON.parse(dead.stdout)).toEqual([expect.objectContaining({ id: 'gated-1', task: 'gated', queue: 'ops', attempts: 1, error: expect.objectContaining({ message: 'key k1 is not allowed yet' }) })]);

    const inspect = await tasks('inspect', 'gated-1', '-Q', 'ops');
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ id: 'gated-1', state: 'failed', queue: 'ops', deadLetter: { attempts: 1, input: { key: 'k1' }, error: { message: 'key k1 is not allowed yet' } } });

    await fx.ns.put('allow:k1', 'yes');
    const retry = await tasks('retry', 'gated-1', '-Q', 'ops');
    expect(retry.stderr).toBe('');
    expect(retry.stdout).toBe('requeued gated-1\n');
    expect(retry.code).toBe(0);
    const again = await client.handle(gated, 'gated-1', { keep: true });
    await until(async () => (await again.status()).state === 'completed', 'the retried task to complete');
    const done = JSON.parse((await tasks('inspect', 'gated-1', '-Q', 'ops')).stdout);
    expect(done).toMatchObject({ id: 'gated-1', state: 'completed', result: 'ok:k1' });
    expect(done.deadLetter).toBeUndefined();
    expect(await fx.ns.count('q:{ops}:dead')).toBe(0);
    expect(await fx.ns.list('q:{ops}:retrying:*')).toEqual([]);
  });

  it('retrying an unknown task exits NOT_FOUND and says where to look', async () => {
    const r = await tasks('retry', 'no-such-task', '-Q', 'ops');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no dead letter for task no-such-task in queue ops');
    expect(r.stderr).toContain('dbr tasks ls --dead');
  });

  it('cancels a running task', async () => {
    const client = clientOn(fx.ns);
    const handle = await client.submit(hangs, {}, { id: 'hangs-1' });
    await until(async () => (await handle.status()).state === 'running', 'the task to run');
    const inspect = JSON.parse((await tasks('inspect', 'hangs-1', '-Q', 'ops')).stdout);
    expect(inspect).toMatchObject({ id: 'hangs-1', state: 'running' });
    const cancel = await tasks('cancel', 'hangs-1', '-Q', 'ops');
    expect(cancel).toMatchObject({ code: 0, stdout: 'cancel requested for hangs-1\n' });
    await expect(handle.result()).rejects.toBeInstanceOf(TaskCancelledError);
  });

  it('inspect and cancel of a task that is nowhere exit NOT_FOUND; cancel leaves no marker behind', async () => {
    const inspect = await tasks('inspect', 'no-such-task', '-Q', 'ops');
    expect(inspect.code).toBe(3);
    expect(inspect.stdout).toBe('');
    expect(inspect.stderr).toContain('no task no-such-task in queue ops');
    const cancel = await tasks('cancel', 'no-such-task', '-Q', 'ops');
    expect(cancel.code).toBe(3);
    expect(cancel.stdout).toBe('');
    expect(await fx.ns.list('q:{ops}:cancel:*')).toEqual([]);
  });

  it('inspect of a queued task says queued; cancel of a finished one says so and puts no marker', async () => {
    const client = clientOn(fx.ns);
    const delayed = await client.submit(gated, { key: 'later' }, { id: 'gated-later', delay: '1h' });
    expect(JSON.parse((await tasks('inspect', delayed.id, '-Q', 'ops')).stdout)).toMatchObject({ id: 'gated-later', state: 'queued', delayedUntil: expect.any(String) });
    expect((await tasks('cancel', delayed.id, '-Q', 'ops')).stdout).toBe('cancel requested for gated-later\n');
    await fx.ns.put('allow:now', 'yes');
    const done = await client.submit(gated, { key: 'now' }, { id: 'gated-now' });
    await until(async () => (await fx.ns.count('q:{ops}:result:gated-now')) === 1, 'the task to finish');
    const cancel = await tasks('cancel', done.id, '-Q', 'ops');
    expect(cancel).toMatchObject({ code: 0, stdout: 'gated-now already finished (completed): nothing to cancel\n' });
    expect(await fx.ns.list('q:{ops}:cancel:gated-now')).toEqual([]);
  });

  it('read-only commands do not create a namespace that does not exist (exit 3, with a hint)', async () => {
    const missing = `wt-missing-${process.pid}-${Date.now().toString(36)}`;
    for (const args of [['ls'], ['ls', '--dead'], ['inspect', 'some-id'], ['cancel', 'some-id'], ['retry', 'some-id']]) {
      const r = await dbr(['tasks', ...args, '-n', missing]);
      expect({ args, code: r.code }).toEqual({ args, code: 3 });
      expect(r.stderr).toContain(`Namespace "${missing}" does not exist`);
    }
    await expect(new Broker().attach(missing)).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
  });

  it('submit --id refuses an id a live task has (exit 6) and queues nothing', async () => {
    const first = await dbr(['submit', 'ops-hangs', '{}', '-Q', 'ops', '--id', 'twice', '-n', fx.name]);
    expect(first).toMatchObject({ code: 0, stdout: 'twice\n' });
    const second = await dbr(['submit', 'ops-hangs', '{}', '-Q', 'ops', '--id', 'twice', '-n', fx.name]);
    expect(second.code).toBe(6);
    expect(second.stderr).toMatch(/a task with id twice is already (queued|running) in queue ops/);
    const handle = await clientOn(fx.ns).handle(hangs, 'twice');
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(TaskCancelledError);
    expect(await fx.ns.count('q:{ops}:pending')).toBe(0);
  });

  it('submit --tasks takes Maps and Sets in their JSON wire form and --wait prints them so', async () => {
    const r = await dbr(['submit', 'ops-tally', '{"counts":[["a",2],["b",0],["c",1]]}', '--tasks', tasksModule, '--wait', '30s', '-n', fx.name]);
    expect(r).toMatchObject({ code: 0, stdout: '["a","c"]\n' });
    const none = await dbr(['submit', 'ops-nothing', '{}', '-Q', 'ops', '--wait', '30s', '-n', fx.name]);
    expect(none).toMatchObject({ code: 0, stdout: 'null\n' }); // JSON, where JSON.stringify(undefined) is no text
    const wrong = await dbr(['submit', 'ops-tally', '{"counts":{"a":2}}', '--tasks', tasksModule, '-n', fx.name]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('counts');
  });

  it('rejects an invalid queue name with a message that names the rule', async () => {
    const r = await tasks('ls', '-Q', 'bad queue');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Queue name "bad queue" is invalid');
  });
});

describe.skipIf(!onRedis)('dbr tasks inspect of a task a worker just claimed', () => {
  // a long lease: the worker's next heartbeat is 20 s away, so only its claim slot shows the task running
  const fx = dbrWorkerFixture('wt-claim', ['--concurrency', '1', '--lease', '60s', '--grace', '0']);

  it('shows it running at once, with its worker, before the heartbeat lists it (and so does handle.status())', async () => {
    const handle = await clientOn(fx.ns).submit(hangs, {}, { id: 'claimed-1' });
    await until(async () => (await fx.ns.list('q:{ops}:run:*')).length > 0, 'the worker to claim the task');
    // the heartbeat does not list it yet: the claim slot shows it running
    expect(await handle.status()).toMatchObject({ id: 'claimed-1', state: 'running', worker: expect.any(String), attempt: 1 });
    const r = await dbr(['tasks', 'inspect', 'claimed-1', '-Q', 'ops', '-n', fx.name]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'claimed-1', state: 'running', worker: expect.any(String) });
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(TaskCancelledError);
  });

  // last: it stops the worker the other tests share
  it('a dbr worker stopped by SIGTERM exits 0 and detaches from the namespace', async () => {
    expect((await fx.ns.query()).attached).toBe(2); // this test process and the worker
    fx.worker.child.kill('SIGTERM');
    expect(await fx.worker.exited).toBe(0);
    expect((await fx.ns.query()).attached).toBe(1);
  });
});
