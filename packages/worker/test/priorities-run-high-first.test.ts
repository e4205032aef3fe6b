import { describe, expect, it } from 'vitest';
import { QueueNames } from '../src/index.js';
import { order, recordsOrder } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('priorities', () => {
  it('with one slot, high-priority tasks run before normal ones, and low-priority ones last', async () => {
    const { ns } = await freshNamespace('prio');
    const client = clientOn(ns);
    order.length = 0;
    const hs = [
      ...(await client.submitMany(recordsOrder, [{ label: 'lo1' }, { label: 'lo2' }], { priority: -1 })),
      ...(await client.submitMany(recordsOrder, [{ label: 'n1' }, { label: 'n2' }])),
      ...(await client.submitMany(recordsOrder, [{ label: 'hi1' }, { label: 'hi2' }], { priority: 5 })),
    ];
    await startWorker(ns, { tasks: [recordsOrder], concurrency: 1 });
    await Promise.all(hs.map((h) => h.result()));
    expect(order).toEqual(['hi1', 'hi2', 'n1', 'n2', 'lo1', 'lo2']);
  });

  it('a high-priority task submitted while the worker is blocked is still claimed', async () => {
    const { ns } = await freshNamespace('prio-late');
    await startWorker(ns, { tasks: [recordsOrder], concurrency: 1 });
    const h = await clientOn(ns).submit(recordsOrder, { label: 'urgent' }, { priority: 10 });
    expect(await h.result()).toBe('urgent');
    const l = await clientOn(ns).submit(recordsOrder, { label: 'whenever' }, { priority: -10 });
    expect(await l.result()).toBe('whenever');
  });

  it('a task put in the hi band without a bell (as a C program may) is claimed by a blocked worker at its next maintenance', async () => {
    const { ns } = await freshNamespace('prio-no-bell');
    await startWorker(ns, { tasks: [recordsOrder], concurrency: 1, recoveryInterval: '200ms' });
    const client = clientOn(ns);
    expect(await (await client.submit(recordsOrder, { label: 'first' })).result()).toBe('first');
    await new Promise((r) => setTimeout(r, 100)); // the worker has looked at every band and blocks on the normal one
    const names = new QueueNames(recordsOrder.queue);
    await ns.put(names.pending('hi'), JSON.stringify({ id: 'c-hi-1', task: recordsOrder.name, input: { label: 'from C' }, pri: 5 }));
    const h = await client.handle(recordsOrder, 'c-hi-1');
    expect(await h.result({ timeout: '10s' })).toBe('from C');
  });
});
