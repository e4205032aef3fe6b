/**
 * resultTtl: 'infinite' keeps unread results for good. Results that are read are still removed, so nothing
 * may pile up for them: an expiry entry for "never" is never swept (its bucket has no time), and one would be
 * added per finishing turn for as long as the queue runs.
 */
import { describe, expect, it } from 'vitest';
import { add } from './fixtures/arithmetic-tasks.js';
import { alwaysFails } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe("resultTtl: 'infinite'", () => {
  it('stores results with no expiry entry, for successes and failures', async () => {
    const { ns } = await freshNamespace('ttl-infinite');
    await startWorker(ns, { tasks: [add, alwaysFails], resultTtl: 'infinite' });
    const client = clientOn(ns);
    for (let i = 0; i < 3; i++) expect(await (await client.submit(add, { a: i, b: 1 })).result({ timeout: '20s' })).toBe(i + 1);
    await expect((await client.submit(alwaysFails, {}, { retries: 0 })).result({ timeout: '20s' })).rejects.toThrow(/disk is full/);
    expect(await ns.list('q:{default}:expire:*')).toEqual([]);
  });
});
