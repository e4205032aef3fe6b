import { describe, expect, it } from 'vitest';
import { defineTask } from '../src/index.js';
import { z } from 'zod';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const runs = new Map<number, number>();

/** Takes 30 ms: long enough to see the claimed-ahead tasks wait in their slots. */
const slowish = defineTask({
  name: 'slowish',
  queue: 'prefetch',
  input: z.object({ i: z.number() }),
  output: z.number(),
  retries: 0,
  run: async ({ i }) => {
    runs.set(i, (runs.get(i) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 30));
    return i;
  },
});

const claimedSlots = async (ns: Awaited<ReturnType<typeof freshNamespace>>['ns']) => (await ns.list('q:{prefetch}:run:*')).length;

describe('prefetch', () => {
  it('claims up to concurrency + prefetch tasks in one step, and releases the unstarted ones at shutdown; none is lost or run twice', async () => {
    runs.clear();
    const { ns } = await freshNamespace('prefetch');
    const handles = await clientOn(ns).submitMany(slowish, Array.from({ length: 12 }, (_, i) => ({ i })));
    const first = await startWorker(ns, { tasks: [slowish], concurrency: 1, prefetch: 4 });
    await until(async () => (await claimedSlots(ns)) === 5 && first.activeCount === 5, 'five tasks claimed (1 running + 4 ahead)');
    expect(await ns.count('q:{prefetch}:pending')).toBe(7);
    await first.close({ graceMs: 0 });
    expect(await claimedSlots(ns)).toBe(0); // every claimed task went back (or finished)
    await startWorker(ns, { tasks: [slowish], concurrency: 4, prefetch: 0 });
    const outputs = await Promise.all(handles.map((h) => h.result({ timeout: '20s' })));
    expect(outputs).toEqual(handles.map((_, i) => i));
    for (const [i, n] of runs) expect([i, n <= 2]).toEqual([i, true]); // at most the attempt cut by close() again
    expect([...runs.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(13);
  });

  it('prefetch 0 claims no more than the concurrency', async () => {
    const { ns } = await freshNamespace('noprefetch');
    await clientOn(ns).submitMany(slowish, Array.from({ length: 10 }, (_, i) => ({ i: 100 + i })));
    await startWorker(ns, { tasks: [slowish], concurrency: 2, prefetch: 0 });
    let most = 0;
    await until(async () => {
      most = Math.max(most, await claimedSlots(ns));
      return (await ns.count('q:{prefetch}:pending')) === 0 && (await claimedSlots(ns)) === 0;
    }, 'every task to finish');
    expect(most).toBeLessThanOrEqual(2);
  });

  it('rejects a bad prefetch option with a message', async () => {
    const { ns } = await freshNamespace('badprefetch');
    await expect(startWorker(ns, { tasks: [slowish], prefetch: -1 })).rejects.toThrow(/prefetch must be 'auto' or an integer/);
  });
});
