import { describe, expect, it } from 'vitest';
import { calls, countsCalls } from './fixtures/behaviour-tasks.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('a dedup key its ended task never released', () => {
  it('is taken over by the next submit, while a key whose task is still queued is not', async () => {
    const { ns } = await freshNamespace('dedup-stale');
    const names = new QueueNames('default');
    const key = names.dedup('nightly');
    const client = clientOn(ns);
    const worker = await startWorker(ns, { tasks: [countsCalls] });
    const first = await client.submit(countsCalls, { key: 'stale' }, { dedupKey: 'nightly' });
    await first.result();
    await until(async () => !(await ns.has(key)), 'the key to be released');
    // as a worker that died between storing the result and releasing the key leaves it
    await ns.put(key, first.id);

    const second = await client.submit(countsCalls, { key: 'stale' }, { dedupKey: 'nightly' });
    expect(second.id).not.toBe(first.id);
    await expect(second.result()).resolves.toBe(`stale@${second.id}`);
    expect(calls.get('stale')).toBe(2);

    // a live task (no result yet) keeps its key
    await worker.close();
    const queued = await client.submit(countsCalls, { key: 'live' }, { dedupKey: 'weekly' });
    const again = await client.submit(countsCalls, { key: 'live' }, { dedupKey: 'weekly' });
    expect(again.id).toBe(queued.id);
  });
});
