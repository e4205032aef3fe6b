/**
 * purgeQueue removes the waiting and delayed tasks of a queue. It counts tasks only (a hi or lo task also
 * rings a bell in the normal band, which is no task), and ends each purged task's dedup window: a later submit
 * with the key must start a new task, not get a handle on the purged one.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, purgeQueue } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const names = new QueueNames('purged');

const echo = defineTask({ name: 'purged-echo', queue: 'purged', input: z.object({ v: z.string() }), output: z.string(), run: ({ v }) => v });

describe('purgeQueue', () => {
  it('returns how many tasks it removed, leaving the bells of prioritised tasks out of the count', async () => {
    const { ns } = await freshNamespace('purge-count');
    const client = clientOn(ns);
    await client.submit(echo, { v: 'hi' }, { priority: 5 });
    await client.submit(echo, { v: 'lo' }, { priority: -5 });
    await client.submit(echo, { v: 'normal' });
    await client.submit(echo, { v: 'later' }, { delay: '1h' });
    expect(await purgeQueue(ns, 'purged')).toBe(4);
    for (const band of ['hi', 'normal', 'lo'] as const) expect(await ns.count(names.pending(band))).toBe(0);
    expect(await ns.list(names.delayedPattern())).toEqual([]);
  });

  it('releases the dedup keys of the purged tasks: a later submit with the key runs a new task', async () => {
    const { ns } = await freshNamespace('purge-dedup');
    const client = clientOn(ns);
    const purged = await client.submit(echo, { v: 'first' }, { dedupKey: 'P' });
    const delayed = await client.submit(echo, { v: 'first' }, { dedupKey: 'D', delay: '1h' });
    expect(await purgeQueue(ns, 'purged')).toBe(2);
    expect(await ns.has(names.dedup('P'))).toBe(false);
    expect(await ns.has(names.dedup('D'))).toBe(false);

    await startWorker(ns, { tasks: [echo] });
    const again = await client.submit(echo, { v: 'second' }, { dedupKey: 'P' });
    expect(again.id).not.toBe(purged.id);
    expect(await again.result({ timeout: '20s' })).toBe('second');
    expect((await client.submit(echo, { v: 'second' }, { dedupKey: 'D' })).id).not.toBe(delayed.id);
  });
});
