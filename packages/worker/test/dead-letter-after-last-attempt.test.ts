import { describe, expect, it } from 'vitest';
import { decode } from '../src/envelope.js';
import { type DeadLetter, TaskFailedError } from '../src/index.js';
import { alwaysFails, calls, givesUp } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('dead letters', () => {
  it('after the last attempt the task is dead-lettered with its error and stack, and result() rejects', async () => {
    const { ns } = await freshNamespace('dead');
    await startWorker(ns, { tasks: [alwaysFails] });
    const handle = await clientOn(ns).submit(alwaysFails, {});
    const err = (await handle.result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.attempts).toBe(3);
    expect(err.message).toContain('the disk is full');
    expect(err.remoteStack).toContain('behaviour-tasks');
    expect(calls.get(handle.id)).toBe(3);
    const dead = decode(await ns.read('q:{default}:dead', { timeout: 0 })) as DeadLetter;
    expect(dead).toMatchObject({ k: 'd', id: handle.id, task: 'always-fails', attempts: 3, error: { name: 'Error', message: 'the disk is full' } });
    expect(dead.error.stack).toContain('the disk is full');
    expect(dead.env.input).toEqual({});
    expect((await handle.status()).state).toBe('failed');
  });

  it('a NonRetryableError skips the remaining attempts', async () => {
    const { ns } = await freshNamespace('nonretry');
    await startWorker(ns, { tasks: [givesUp] });
    const handle = await clientOn(ns).submit(givesUp, {});
    const err = (await handle.result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('NonRetryableError');
    expect(err.attempts).toBe(1);
    expect(calls.get(handle.id)).toBe(1);
    expect(await ns.count('q:{default}:dead')).toBe(1);
  });

  it('the dead-letter list is bounded', async () => {
    const { ns } = await freshNamespace('deadcap');
    await startWorker(ns, { tasks: [givesUp], maxDeadLetters: 3 });
    const handles = await clientOn(ns).submitMany(givesUp, Array.from({ length: 6 }, () => ({})));
    await Promise.all(handles.map((h) => h.result().catch(() => undefined)));
    // trimming follows the delivery; wait for the last one's
    await until(async () => (await ns.count('q:{default}:dead')) === 3, 'the list to be trimmed to 3');
    await new Promise((r) => setTimeout(r, 100));
    expect(await ns.count('q:{default}:dead')).toBe(3);
  });
});
