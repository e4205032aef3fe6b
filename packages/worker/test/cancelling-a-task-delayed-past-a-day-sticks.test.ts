/**
 * A cancel marker is dropped through the expiry buckets after a day, so markers of tasks that had finished do
 * not pile up. A task delayed longer than that (runAt next week) and cancelled now must still not run: its
 * marker has to outlive the wait. Time is simulated: the expiry sweep and the promotion are run with a clock
 * moved on.
 */
import { describe, expect, it } from 'vitest';
import { DelayedPromoter } from '../src/delayed.js';
import { ExpirySweeper } from '../src/expiry.js';
import { TaskCancelledError } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, silent, startWorker } from './support/harness.js';

const names = new QueueNames('default');
const HOUR = 3_600_000;

describe('cancelling a task delayed for two days', () => {
  it('it is cancelled when it comes due, although a day has passed', async () => {
    const { ns } = await freshNamespace('cancel-delayed');
    const h = await clientOn(ns).submit(add, { a: 1, b: 1 }, { delay: '48h' });
    await h.cancel();
    const now = Date.now();
    await new ExpirySweeper(ns, names).sweepListed(now + 25 * HOUR); // a day and an hour later
    await new DelayedPromoter(ns, names, 'w-clock', silent).sweepListed(now + 49 * HOUR); // due
    expect(await ns.count(names.pending())).toBe(1);
    await startWorker(ns, { tasks: [add] });
    await expect(h.result({ timeout: '20s' })).rejects.toBeInstanceOf(TaskCancelledError);
  });
});
