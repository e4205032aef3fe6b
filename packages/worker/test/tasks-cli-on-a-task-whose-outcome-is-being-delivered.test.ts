/**
 * `dbr tasks cancel` and `dbr tasks retry` of a task that has finished but whose outcome a worker's outbox still
 * holds (the worker forwards it within moments, or recovery does if it died). A cancel then has nothing to
 * stop: it says so and leaves no marker (a marker would cancel a later retry's run). A retry must wait until
 * the failed result is delivered (it would answer result() in place of the retried run's): it says to try
 * again and exits 6 (conflict). On the embedded backend a `dbr` process shares nothing, so the file runs on
 * redis and cluster only.
 */
import { describe, expect, it } from 'vitest';
import { encode } from '../src/envelope.js';
import { drainOutbox } from '../src/outcome.js';
import { QueueNames } from '../src/protocol.js';
import { dbr } from './support/dbr-cli.js';
import { freshNamespace, onRedis } from './support/harness.js';

const names = new QueueNames('ops');

describe.skipIf(!onRedis)('dbr tasks on a task whose outcome is being delivered', () => {
  it('cancel says it finished and leaves no marker; retry exits 6 until the outcome is delivered, then requeues', async () => {
    const { ns, name } = await freshNamespace('cli-finishing');
    const tasks = (...args: string[]) => dbr(['tasks', ...args, '-Q', 'ops', '-n', name]);
    const now = Date.now();
    const env = { id: 'fin-1', task: 'gated', input: { key: 'k' }, att: 1, at: now };
    const error = { name: 'NonRetryableError', message: 'no' };
    // the worker "ghost" staged its final outcome and popped the slot, then died before forwarding it
    await ns.putMany([
      [names.outbox('ghost', 0), encode({ k: 'd', id: 'fin-1', task: 'gated', queue: 'ops', error, attempts: 1, failedAt: now, env })],
      [names.outbox('ghost', 0), encode({ k: 'r', id: 'fin-1', task: 'gated', ok: false, error, attempts: 1, finishedAt: now })],
    ]);

    const cancel = await tasks('cancel', 'fin-1');
    expect(cancel).toMatchObject({ code: 0, stdout: 'fin-1 already finished (its outcome is being delivered): nothing to cancel\n' });
    expect(await ns.has(names.cancel('fin-1'))).toBe(false);

    await ns.moveValue(names.outbox('ghost', 0), ns, names.dead(), { timeout: 0 }); // the letter is forwarded first
    const early = await tasks('retry', 'fin-1');
    expect(early.code).toBe(6);
    expect(early.stderr).toContain('its outcome is still being delivered; try again in a moment');
    expect(await ns.count(names.dead())).toBe(1);

    await drainOutbox(ns, names, names.outbox('ghost', 0));
    expect(await tasks('retry', 'fin-1')).toMatchObject({ code: 0, stdout: 'requeued fin-1\n' });
    expect(await ns.count(names.pending())).toBe(1);
    expect(await ns.has(names.result('fin-1'))).toBe(false);
  });
});
