/**
 * A worker woken by the delays list walks the buckets from the earliest one its entries name. When that bucket
 * is far ahead (a task scheduled for tomorrow), the walk must still start from now: a task delayed a moment,
 * or a retry's backoff, submitted meanwhile is due long before, and waiting for the periodic sweep (every 10
 * recovery intervals) would run it minutes late.
 */
import { describe, expect, it } from 'vitest';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('delayed tasks behind a far-future one', () => {
  it('a task delayed 200ms runs on time while a task delayed an hour waits', async () => {
    const { ns } = await freshNamespace('delay-far');
    // a long lease: the periodic sweep (10 recovery intervals, 300 s here) cannot be what promotes the task
    await startWorker(ns, { tasks: [add], leaseTtl: '60s' });
    const client = clientOn(ns);
    await client.submit(add, { a: 1, b: 1 }, { delay: '1h' });
    // let the worker wake on the delays list and start its walk
    await new Promise((r) => setTimeout(r, 500));
    const soon = await client.submit(add, { a: 2, b: 3 }, { delay: '200ms' });
    expect(await soon.result({ timeout: '20s' })).toBe(5);
    await until(async () => (await ns.count('q:{default}:delays')) === 1, 'one task still delayed');
  });
});
