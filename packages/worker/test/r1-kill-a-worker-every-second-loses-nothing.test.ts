import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../src/pool.js';
import { sleepy } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, onCleanup, onRedis, silent } from './support/harness.js';

const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));
const TASKS = 2_000;

async function killOneEverySecond(kind: 'processes' | 'threads') {
  const { ns, name } = await freshNamespace('r1');
  const pool = new WorkerPool({ member: { tasksModule, concurrency: 4, namespace: name, leaseTtl: '3s', logLevel: 'silent' }, size: 4, kind, log: silent, restartDelayMs: 200, maxRestartDelayMs: 400 });
  pool.start();
  onCleanup(() => pool.close());
  const client = clientOn(ns);
  const handles = await client.submitMany(sleepy, Array.from({ length: TASKS }, (_, n) => ({ n, ms: 10 })));
  let done = 0;
  let kills = 0;
  const all = Promise.all(handles.map((h) => h.result().then((v) => (done++, v))));
  const killer = setInterval(() => {
    if (done < TASKS) void pool.kill(kills++ % 4);
  }, 1000);
  const outs = await all.finally(() => clearInterval(killer));
  expect(outs).toEqual(Array.from({ length: TASKS }, (_, n) => n));
  await pool.close();
  // exactly one result each: every result was consumed, none is left over, nothing was dead-lettered or left queued
  expect(await ns.list('q:{default}:result:*')).toEqual([]);
  expect(await ns.count('q:{default}:dead')).toBe(0);
  expect(await ns.count('q:{default}:pending')).toBe(0);
  return kills;
}

// Threads: worker.terminate() ends a thread with native claims pending; libdbr closes the thread's completion
// queue when the thread exits, which cancels them, so a terminated thread leaves no claim behind to take tasks
// into its dead slots. Processes killed with SIGKILL take their pending requests with them.
describe('R1: a worker killed every second loses no task', () => {
  it.skipIf(!onRedis)(`4 worker processes, one SIGKILLed every second, ${TASKS} tasks: each gets exactly one result (Redis)`, async () => {
    expect(await killOneEverySecond('processes')).toBeGreaterThan(0);
  }, 600_000);

  it.skipIf(onRedis)(`4 worker threads, one terminated every second, ${TASKS} tasks: each gets exactly one result (mem)`, async () => {
    expect(await killOneEverySecond('threads')).toBeGreaterThan(0);
  }, 600_000);
});
