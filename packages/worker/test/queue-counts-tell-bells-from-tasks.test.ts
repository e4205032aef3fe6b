/**
 * A hi or lo task rings a bell in the normal band, so the band's count holds bells as well as tasks. With
 * `detail`, queueCounts says how many of its values are bells, and `dbr tasks ls` leaves them out of the
 * tasks it shows as pending.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, queueCounts } from '../src/index.js';
import { freshNamespace, clientOn } from './support/harness.js';

const echo = defineTask({ name: 'bells-echo', queue: 'bells', input: z.object({}), output: z.string(), run: () => 'x' });

describe('queueCounts with detail', () => {
  it('counts the bells in the normal band apart from its tasks', async () => {
    const { ns } = await freshNamespace('bells');
    const client = clientOn(ns);
    await client.submit(echo, {}, { priority: 5 });
    await client.submit(echo, {}, { priority: -5 });
    await client.submit(echo, {});
    await ns.put('q:{bells}:pending', '{"id":"c-1","task":"bells-echo","input":{}}'); // a small JSON task is no bell
    const counts = await queueCounts(ns, 'bells', { detail: true });
    expect(counts.pending).toEqual({ hi: 1, normal: 4, lo: 1 });
    expect(counts.bells).toBe(2);
    expect(counts.pending.normal - counts.bells!).toBe(2);
  });
});
