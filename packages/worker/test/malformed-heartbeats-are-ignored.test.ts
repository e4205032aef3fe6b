/**
 * `worker:<id>` tuples are anyone's to write. One that is no well-formed heartbeat (fields of the wrong type,
 * from a foreign writer or a damaged value) counts as no heartbeat: its worker is dead, so the tasks left in
 * its slots are recovered, and listings leave it out instead of failing on it.
 */
import { describe, expect, it } from 'vitest';
import { workers } from '../src/inspect.js';
import { parseHeartbeat } from '../src/lease.js';
import { QueueNames } from '../src/protocol.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const names = new QueueNames('default');

describe('malformed heartbeats', () => {
  it('count as none: the tasks in that worker\'s slots are recovered, and listings skip it', async () => {
    const { ns } = await freshNamespace('bad-beat');
    const h = await clientOn(ns).submit(add, { a: 20, b: 22 });
    await ns.moveValue(names.pending(), ns, names.run('bogus', 0));
    await ns.put('worker:bogus', JSON.stringify({ id: 'bogus', queues: 5, tasks: 'x', lastBeat: 'now', seq: {} }));
    const live = await startWorker(ns, { tasks: [add], recoveryInterval: '50ms', leaseTtl: '300ms' });
    expect(await h.result({ timeout: '30s' })).toBe(42);
    expect(live.stats.recovered).toBe(1);
    const listed = await workers(ns);
    expect(listed.map((w) => w.id)).toEqual([live.id]);
  });

  it('parseHeartbeat takes a worker\'s own heartbeat and refuses wrong field types', () => {
    const good = { id: 'w', host: 'h', pid: 1, startedAt: 1, lastBeat: 2, seq: 3, leaseTtlMs: 1000, queues: ['default'], concurrency: 1, tasks: [{ id: 't', task: 'add', queue: 'default', attempt: 1, startedAt: 1 }], stats: { claimed: 1, completed: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, recovered: 0 }, future: 'kept' };
    expect(parseHeartbeat(Buffer.from(JSON.stringify(good)))).toEqual(good);
    for (const bad of [{ ...good, queues: 'default' }, { ...good, tasks: [{ id: 5 }] }, { ...good, seq: '3' }, { ...good, lastBeat: null }]) {
      expect(parseHeartbeat(Buffer.from(JSON.stringify(bad)))).toBeUndefined();
    }
    expect(parseHeartbeat(Buffer.from('not json'))).toBeUndefined();
    expect(parseHeartbeat(undefined)).toBeUndefined();
  });
});
