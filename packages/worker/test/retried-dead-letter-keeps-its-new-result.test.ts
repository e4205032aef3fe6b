/**
 * A dead letter retried with `dbr tasks retry` (retryDeadLetter) runs again under the same id, so its new
 * result is stored under the name its failed result had. The failed result's expiry entry must not drop the
 * new one when it comes due: each entry names the value it was written for.
 */
import { describe, expect, it } from 'vitest';
import { decode } from '../src/envelope.js';
import { expireBucketOf, QueueNames } from '../src/protocol.js';
import { retryDeadLetter, TaskFailedError } from '../src/index.js';
import { failsUntilAllowed } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const names = new QueueNames('default');

const task = failsUntilAllowed('fails-until-allowed', 'default');

describe('expiry of a retried dead letter\'s results', () => {
  it('the failed result\'s expiry entry leaves the new result alone, and still drops what it was written for', async () => {
    const { ns } = await freshNamespace('retry-expiry');
    await startWorker(ns, { tasks: [task], recoveryInterval: '50ms' });
    const handle = await clientOn(ns).submit(task, {});
    await expect(handle.result()).rejects.toBeInstanceOf(TaskFailedError);
    const resultName = names.result(handle.id);

    // the failed result's entry, taken from its bucket (due a day from now) to sweep it at once later
    const buckets = await ns.list(names.expirePattern());
    expect(buckets).toHaveLength(1);
    const oldEntry = (await ns.get(buckets[0] as string, { timeout: 0 })).toString('utf8');
    expect(oldEntry.split(' ')[0]).toBe(resultName);

    await ns.put('allowed', '1');
    expect(await retryDeadLetter(ns, 'default', handle.id)).toBeDefined();
    await until(() => ns.has(resultName), 'the retried task\'s result');

    // the old entry comes due, beside entries that must go: one stamped with its value's time, one unstamped
    const due = names.expire(expireBucketOf(Date.now() - 120_000));
    const stamped = names.result('stamped');
    const unstamped = names.result('unstamped');
    await ns.put(stamped, JSON.stringify({ k: 'r', id: 'stamped', finishedAt: 1234 }));
    await ns.put(unstamped, JSON.stringify({ k: 'r', id: 'unstamped', finishedAt: 1234 }));
    await ns.putMany([
      [due, oldEntry],
      [due, `${stamped} 1234`],
      [due, unstamped],
    ]);
    await until(async () => !(await ns.has(unstamped)) && !(await ns.has(due)), 'the due entries to be swept', 30_000);
    expect(await ns.has(resultName)).toBe(true);
    // the stamped one was an unread result: a tombstone says it expired
    expect(decode((await ns.read(stamped, { timeout: 0 })) as Buffer)).toMatchObject({ k: 'r', id: 'stamped', ok: false, expired: true });
    expect(await (await clientOn(ns).handle(task, handle.id)).result()).toBe('done');
  });
});
