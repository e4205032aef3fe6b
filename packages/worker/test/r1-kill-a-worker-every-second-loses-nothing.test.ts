import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../src/pool.js';
import { sleepy } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, onCleanup, onRedis, silent } from './support/harness.js';

const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));
/** 2,000 in `pnpm test`; `pnpm test:faults` runs 10,000 (TSDBR_R1_TASKS). */
const TASKS = Number(process.env.TSDBR_R1_TASKS ?? 2_000);

async function killOneEverySecond(kind: 'processes' | 'threads') {
  const { ns, name } = await freshNamespace('r1');
  const pool = new WorkerPool({ member: { tasksModule, concurrency: 4, namespace: name, leaseTtl: '3s', logLevel: 'silent' }, size: 4, kind, log: silent, restartDelayMs: 200, maxRestartDelayMs: 400 });
  pool.start();
  onCleanup(() => pool.close());
  const client = clientOn(ns);
  const handles = await client.submitMany(sleepy, Array.from({ length: TASKS }, (_, n) => ({ n, ms: 10, tally: 'r1:exec' })));
  const started = Date.now();
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
  const executions = await ns.count('r1:exec');
  expect(executions).toBeGreaterThanOrEqual(TASKS);
  const figures = { tasks: TASKS, results: outs.length, lost: TASKS - outs.length, kills, executions, duplicateExecutions: executions - TASKS, seconds: (Date.now() - started) / 1000, kind, backend: process.env.TSDBR_TEST_BACKEND ?? 'mem' };
  console.log(`[figures] r1 ${JSON.stringify(figures)}`);
  if (process.env.TSDBR_R1_RESULTS) writeFileSync(process.env.TSDBR_R1_RESULTS, `${JSON.stringify({ ...figures, date: new Date().toISOString() }, null, 2)}\n`);
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
