import { describe, expect, it } from 'vitest';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('delayed tasks', () => {
  it('a delayed task waits in a bucket and is not run before its time', async () => {
    const { ns } = await freshNamespace('delay');
    const worker = await startWorker(ns, { tasks: [add] });
    // the worker's 'completed' event may come just after result() resolves: wait for the event itself
    const finished = new Promise<number>((resolve) => worker.once('completed', () => resolve(Date.now())));
    const submitted = Date.now();
    const h = await clientOn(ns).submit(add, { a: 1, b: 1 }, { delay: '400ms' });
    expect((await ns.list('q:{default}:delayed:*')).length).toBe(1);
    expect(await h.result()).toBe(2);
    expect((await finished) - submitted).toBeGreaterThanOrEqual(400);
  });

  it('runAt in the past runs at once; runAt later is honoured; buckets written before the worker started are found', async () => {
    const { ns } = await freshNamespace('runat');
    const client = clientOn(ns);
    const at = Date.now() + 300;
    const later = await client.submit(add, { a: 2, b: 2 }, { runAt: new Date(at) });
    const past = await client.submit(add, { a: 3, b: 3 }, { runAt: Date.now() - 1000 });
    await new Promise((r) => setTimeout(r, 350));
    const w = await startWorker(ns, { tasks: [add] });
    let done = 0;
    w.on('completed', () => done++);
    expect(await past.result()).toBe(6);
    expect(await later.result()).toBe(4);
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    expect(await ns.list('q:{default}:delayed:*')).toEqual([]);
  });
});
