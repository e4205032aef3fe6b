import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, TaskCancelledError } from '../src/index.js';
import { calls, hangsUntilAborted } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

/** Cancels itself just before it returns: the cancel lands after the claim-time check and before the finish. */
const cancelsItself = defineTask({
  name: 'cancels-itself',
  queue: 'self-cancel',
  input: z.object({}),
  output: z.string(),
  run: async (_input, ctx) => {
    await ctx.ns.put(`q:{${ctx.queue}}:cancel:${ctx.id}`, 'stop');
    return 'finished anyway';
  },
});

/** Runs a program at once: a task cancelled while queued must not get that far. */
const touches = defineTask({
  name: 'touches',
  queue: 'touch',
  input: z.object({ file: z.string() }),
  output: z.null(),
  run: async ({ file }, ctx) => {
    await ctx.exec('touch', [file]);
    return null;
  },
});

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

  it('a task cancelled while queued stays queued; the worker that claims it aborts its ctx.signal at once', async () => {
    const { ns } = await freshNamespace('cancel-queued');
    const client = clientOn(ns);
    const handle = await client.submit(hangsUntilAborted, {}); // runs for an hour unless aborted
    await handle.cancel();
    expect((await handle.status()).state).toBe('queued');
    await startWorker(ns, { tasks: [hangsUntilAborted] });
    const err = await handle.result({ timeout: '20s' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    // started once at most: the cancel marker is looked at right after the claim
    expect(calls.get(handle.id) ?? 0).toBeLessThanOrEqual(1);
  });

  it('a task cancelled while queued runs no program: ctx.exec waits for the claim-time look at its marker', async () => {
    const { ns } = await freshNamespace('cancel-exec');
    const client = clientOn(ns);
    const dir = mkdtempSync(join(tmpdir(), 'tsdbr-cancel-exec-'));
    const handles = await Promise.all([0, 1, 2, 3].map((i) => client.submit(touches, { file: join(dir, `ran-${i}`) })));
    for (const h of handles) await h.cancel();
    await startWorker(ns, { tasks: [touches], concurrency: 4 });
    for (const h of handles) expect(await h.result({ timeout: '20s' }).catch((e: unknown) => e)).toBeInstanceOf(TaskCancelledError);
    expect([0, 1, 2, 3].filter((i) => existsSync(join(dir, `ran-${i}`)))).toEqual([]);
    // a task not cancelled still runs its program
    const h = await client.submit(touches, { file: join(dir, 'ran-ok') });
    await h.result({ timeout: '20s' });
    expect(existsSync(join(dir, 'ran-ok'))).toBe(true);
  });

  it('a cancel that lands while a short task runs wins over its output: the finish step sees the marker', async () => {
    const { ns } = await freshNamespace('cancel-late');
    const worker = await startWorker(ns, { tasks: [cancelsItself] });
    const handle = await clientOn(ns).submit(cancelsItself, {});
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskCancelledError);
    expect(worker.stats.cancelled).toBe(1);
    expect(worker.stats.completed).toBe(0);
    expect(await ns.has(`q:{self-cancel}:cancel:${handle.id}`)).toBe(false); // marker consumed
    expect(await ns.list('q:{self-cancel}:run:*')).toEqual([]); // the slot was emptied
  });
});
