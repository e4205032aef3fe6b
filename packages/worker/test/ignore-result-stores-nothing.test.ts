import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, ResultNotStoredError } from '../src/index.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const ran = new Set<number>();

const fireAndForget = defineTask({
  name: 'fire-and-forget',
  queue: 'fnf',
  input: z.object({ i: z.number() }),
  output: z.number(),
  retries: 0,
  ignoreResult: true,
  run: ({ i }) => {
    if (i < 0) throw new Error(`negative ${i}`);
    ran.add(i);
    return i;
  },
});

describe('ignoreResult', () => {
  it('stores no result for a success, still dead-letters a failure, and result() says why it cannot wait', async () => {
    ran.clear();
    const { ns } = await freshNamespace('fnf');
    const client = clientOn(ns);
    const handles = await client.submitMany(fireAndForget, [{ i: 1 }, { i: 2 }, { i: -1 }]);
    await expect(handles[0]!.result()).rejects.toBeInstanceOf(ResultNotStoredError);
    await expect(handles[0]!.result()).rejects.toThrow(/submitted with ignoreResult/);
    await startWorker(ns, { tasks: [fireAndForget] });
    await until(async () => ran.size === 2 && (await ns.count('q:{fnf}:dead')) === 1, 'both tasks to run and the failure to be dead-lettered');
    await until(async () => (await ns.list('q:{fnf}:run:*')).length === 0, 'the claim slots to empty');
    expect(await ns.list('q:{fnf}:result:*')).toEqual([]);
    expect(await ns.list('q:{fnf}:expire:*')).toEqual([]); // nothing to expire either
    expect(await ns.count('q:{fnf}:pending')).toBe(0);
  });

  it('can be asked per submit, and does not mix with a dedup key', async () => {
    const { ns } = await freshNamespace('fnf-submit');
    const client = clientOn(ns);
    const kept = defineTask({ name: 'kept', queue: 'fnf2', input: z.object({}), output: z.string(), run: () => 'ok' });
    const h = await client.submit(kept, {}, { ignoreResult: true });
    await expect(h.result()).rejects.toBeInstanceOf(ResultNotStoredError);
    await expect(client.submit(kept, {}, { ignoreResult: true, dedupKey: 'k' })).rejects.toThrow(/ignoreResult and dedupKey do not mix/);
    await startWorker(ns, { tasks: [kept] });
    await until(async () => (await ns.count('q:{fnf2}:pending')) === 0 && (await ns.list('q:{fnf2}:run:*')).length === 0, 'the task to run');
    expect(await ns.list('q:{fnf2}:result:*')).toEqual([]);
  });
});
