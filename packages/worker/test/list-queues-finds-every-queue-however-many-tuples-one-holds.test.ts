/**
 * `dbr tasks ls` discovers queues from their tuples' names (listQueues with scope 'all'). A queue holding many
 * unread results must not hide the others: discovery walks every queue tuple instead of a capped listing.
 */
import { describe, expect, it } from 'vitest';
import { listQueues } from '../src/index.js';
import { freshNamespace } from './support/harness.js';

describe('listQueues with scope all', () => {
  it('finds queues that only have a delayed task beside one with 20,000 unread results', async () => {
    const { ns } = await freshNamespace('discovery');
    for (let batch = 0; batch < 2; batch++) {
      const results: [string, string][] = [];
      for (let i = 0; i < 10_000; i++) results.push([`q:{busy}:result:r${batch}-${i}`, '{"k":"r"}']);
      await ns.putMany(results);
    }
    // a listing capped at 10,000 names, in the backend's hash order, would miss about half of them
    const quiet = Array.from({ length: 12 }, (_, i) => `quiet${String(i).padStart(2, '0')}`);
    for (const q of quiet) await ns.put(`q:{${q}}:delayed:99999999999900`, '{"id":"x","task":"t","input":{}}');
    expect(await listQueues(ns, { scope: 'all' })).toEqual(['busy', ...quiet]);
  });
});
