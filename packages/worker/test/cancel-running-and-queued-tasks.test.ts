import { describe, expect, it } from 'vitest';
import { TaskCancelledError } from '../src/index.js';
import { calls, hangsUntilAborted } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('cancel', () => {
  it('cancelling a running task aborts ctx.signal at once and result() rejects with TaskCancelledError', async () => {
    const { ns } = await freshNamespace('cancel-run');
    const worker = await startWorker(ns, { tasks: [hangsUntilAborted] });
    const handle = await clientOn(ns).submit(hangsUntilAborted, {});
    await until(() => worker.activeCount === 1 && calls.get(handle.id) === 1, 'the task to start');
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    expect((await handle.status()).state).toBe('cancelled');
    expect(await ns.count('q:{default}:dead')).toBe(0); // a cancel is not a failure
    expect(await ns.has(`q:{default}:cancel:${handle.id}`)).toBe(false); // marker consumed
  });

  it('cancelling a queued task drops it when a worker claims it: it never runs', async () => {
    const { ns } = await freshNamespace('cancel-queued');
    const client = clientOn(ns);
    const handle = await client.submit(hangsUntilAborted, { ms: 1 });
    await handle.cancel();
    expect((await handle.status()).state).toBe('queued');
    await startWorker(ns, { tasks: [hangsUntilAborted] });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    // it may have been started before the marker was seen, but never completed
    expect(calls.get(handle.id) ?? 0).toBeLessThanOrEqual(1);
  });
});
