import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HeartbeatValue } from '../src/index.js';
import { WorkerPool } from '../src/pool.js';
import { sleepy } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, onCleanup, onRedis, silent, startWorker, until } from './support/harness.js';

const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));

describe('lease recovery', () => {
  it(`a killed worker's tasks return to the queue when its lease expires and a live worker runs them (${onRedis ? 'processes, SIGKILL' : 'threads, terminate'})`, async () => {
    const { ns, name } = await freshNamespace('lease');
    const pool = new WorkerPool({ member: { tasksModule, concurrency: 3, namespace: name, leaseTtl: '1s', logLevel: 'silent' }, size: 1, kind: onRedis ? 'processes' : 'threads', log: silent, restartDelayMs: 60_000 });
    pool.start();
    onCleanup(() => pool.close());
    const client = clientOn(ns);
    const handles = await client.submitMany(sleepy, Array.from({ length: 3 }, (_, n) => ({ n, ms: 60_000 })));
    let victim: HeartbeatValue | undefined;
    await until(async () => {
      for (const w of await ns.list('worker:*')) {
        const hb = JSON.parse((await ns.read(w, { timeout: 0 })).toString()) as HeartbeatValue;
        if (hb.tasks.length === 3) victim = hb;
      }
      return victim !== undefined;
    }, 'the pool member to hold all three tasks');
    await pool.kill(0); // SIGKILL (processes) or terminate() (threads): no cleanup runs
    expect((await ns.list(`q:{default}:run:${victim!.id}:*`)).length).toBe(3);
    // a live worker recovers them after the lease; they are short this time? no: same input, so make the
    // rescuer fast by giving it a task of the same name that ignores ms
    const rescuer = await startWorker(ns, { tasks: [{ ...sleepy, run: ({ n }: { n: number }) => n } as typeof sleepy], concurrency: 3, leaseTtl: '1s' });
    const outs = await Promise.all(handles.map((h) => h.result()));
    expect(outs).toEqual([0, 1, 2]);
    expect(rescuer.stats.recovered).toBe(3);
    await until(async () => (await ns.list(`q:{default}:run:${victim!.id}:*`)).length === 0, 'the dead slots to be empty');
    expect(await ns.has(`worker:${victim!.id}`)).toBe(false);
  });
});
