import { describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/index.js';
import { calls, timesOut } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('timeouts', () => {
  it('aborts ctx.signal with TaskTimeoutError, retries, then fails', async () => {
    const { ns } = await freshNamespace('timeout');
    await startWorker(ns, { tasks: [timesOut] });
    const handle = await clientOn(ns).submit(timesOut, {});
    const err = (await handle.result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.remoteName).toBe('TaskTimeoutError');
    expect(err.attempts).toBe(2);
    expect(calls.get(handle.id)).toBe(2);
  });

  it('a per-submit timeout overrides the task default', async () => {
    const { ns } = await freshNamespace('timeout2');
    await startWorker(ns, { tasks: [timesOut] });
    const handle = await clientOn(ns).submit(timesOut, {}, { timeout: 20, retries: 0 });
    const err = (await handle.result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('TaskTimeoutError');
    expect(err.attempts).toBe(1);
  });
});
