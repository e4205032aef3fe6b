import { describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/index.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { givesUp } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('status() before result()', () => {
  it('the first result() after status() saw the result consumes it', async () => {
    const { ns } = await freshNamespace('status-ok');
    await startWorker(ns, { tasks: [add] });
    const handle = await clientOn(ns).submit(add, { a: 1, b: 2 });
    await until(async () => (await handle.status()).state === 'completed', 'the task to complete');
    expect(await ns.has(`q:{default}:result:${handle.id}`)).toBe(true); // status() only looks
    expect(await handle.result()).toBe(3);
    expect(await ns.has(`q:{default}:result:${handle.id}`)).toBe(false);
    expect(await handle.result()).toBe(3); // later calls return the same outcome
  });

  it('a failed result seen by status() is consumed by result() too', async () => {
    const { ns } = await freshNamespace('status-failed');
    await startWorker(ns, { tasks: [givesUp] });
    const handle = await clientOn(ns).submit(givesUp, {});
    await until(async () => (await handle.status()).state === 'failed', 'the task to fail');
    await expect(handle.result()).rejects.toBeInstanceOf(TaskFailedError);
    expect(await ns.has(`q:{default}:result:${handle.id}`)).toBe(false);
  });

  it('a dedup key\'s result stays for the other submitters to read', async () => {
    const { ns } = await freshNamespace('status-keep');
    await startWorker(ns, { tasks: [add] });
    const client = clientOn(ns);
    const first = await client.submit(add, { a: 1, b: 2 }, { dedupKey: 'sum' });
    await until(async () => (await first.status()).state === 'completed', 'the task to complete');
    expect(await first.result()).toBe(3);
    expect(await ns.has(`q:{default}:result:${first.id}`)).toBe(true);
    expect(await (await client.handle(add, first.id, { keep: true })).result()).toBe(3);
  });
});
