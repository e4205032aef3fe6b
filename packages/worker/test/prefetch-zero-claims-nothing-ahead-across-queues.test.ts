/**
 * prefetch: 0 means a worker never claims a task it cannot start: long tasks are left for other workers. A
 * worker serving two queues waits on each queue's normal band with a blocking claim while both are empty; once
 * a task of one queue fills its capacity, the other queue's blocking claim must not take a task as well (it
 * would wait, leased, for the running one to end while other workers idle). On Redis the blocking claim ends
 * at the end of its current 100 ms slice, so the other task is submitted a second later.
 */
import { describe, expect, it } from 'vitest';
import { sleepy, sleepyElsewhere } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('prefetch 0 with two queues', () => {
  it('a worker at capacity leaves the other queue\'s next task in its queue', async () => {
    const { ns } = await freshNamespace('prefetch0-queues');
    const worker = await startWorker(ns, { tasks: [sleepy, sleepyElsewhere], concurrency: 1, prefetch: 0 });
    const client = clientOn(ns);
    const running = await client.submit(sleepy, { n: 1, ms: 3_000 });
    await until(() => worker.activeCount === 1, 'the first task to run');
    // on Redis a blocking pop ends at its next 100 ms slice: a task that comes within it is still taken
    await new Promise((r) => setTimeout(r, 1_000));
    const waiting = await client.submit(sleepyElsewhere, { n: 2, ms: 10 });
    await new Promise((r) => setTimeout(r, 500));
    expect(worker.activeCount).toBe(1);
    expect(await ns.count('q:{elsewhere}:pending')).toBe(1);
    expect(await running.result({ timeout: '20s' })).toBe(1);
    expect(await waiting.result({ timeout: '20s' })).toBe(2);
  });
});
