/**
 * A finisher forwards a failed task's dead letter before its failed result. A retry that lands between the
 * two (or after the worker died between them, before recovery forwards the rest) would remove no result, and
 * the old failure would arrive later and answer result() in place of the retried run's. So a retry is refused
 * while an outbox still holds an outcome of the task, and works once it is delivered.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encode } from '../src/envelope.js';
import { defineTask, retryDeadLetter, TaskStillFinishingError } from '../src/index.js';
import { drainOutbox } from '../src/outcome.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const names = new QueueNames('still-finishing');

const succeeds = defineTask({ name: 'finishing-succeeds', queue: 'still-finishing', input: z.object({}), output: z.string(), run: () => 'new run' });

describe('retrying a task whose failed result is still in an outbox', () => {
  it('is refused with TaskStillFinishingError, and once the result is delivered the retried run answers result()', async () => {
    const { ns } = await freshNamespace('retry-finishing');
    const now = Date.now();
    const env = { id: 't3', task: 'finishing-succeeds', input: {}, att: 1, at: now };
    const error = { name: 'Error', message: 'old failure' };
    // the worker "ghost" forwarded the letter and died before forwarding the failed result
    await ns.put(names.dead(), encode({ k: 'd', id: 't3', task: env.task, queue: 'still-finishing', error, attempts: 1, failedAt: now, env }));
    await ns.put(names.outbox('ghost', 0), encode({ k: 'r', id: 't3', task: env.task, ok: false, error, attempts: 1, finishedAt: now }));

    const refused = retryDeadLetter(ns, 'still-finishing', 't3');
    await expect(refused).rejects.toBeInstanceOf(TaskStillFinishingError);
    await expect(refused).rejects.toThrow('its outcome is still being delivered; try again in a moment');
    expect(await ns.count(names.dead())).toBe(1);
    expect(await ns.count(names.pending())).toBe(0);

    await drainOutbox(ns, names, names.outbox('ghost', 0)); // what recovery does
    expect(await retryDeadLetter(ns, 'still-finishing', 't3')).toBeDefined();
    await startWorker(ns, { tasks: [succeeds] });
    const handle = await clientOn(ns).handle(succeeds, 't3');
    expect(await handle.result({ timeout: '20s' })).toBe('new run');
  });
});
