/**
 * A cancel of a task that had already failed (say, while its outcome was being delivered) leaves its marker for
 * a day. Retrying the dead letter starts a new run under the same id, which that stale marker would cancel at
 * once: so the retry removes the marker before it requeues the task.
 */
import { describe, expect, it } from 'vitest';
import { cancelTask, retryDeadLetter, TaskFailedError } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { failsUntilAllowed } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const names = new QueueNames('cancel-then-retry');

const task = failsUntilAllowed('cancel-then-retry-task', 'cancel-then-retry');

describe('retrying a dead letter whose task was cancelled after it failed', () => {
  it('runs the retried task to completion', async () => {
    const { ns } = await freshNamespace('cancel-then-retry');
    await startWorker(ns, { tasks: [task] });
    const client = clientOn(ns);
    const handle = await client.submit(task, {});
    await expect(handle.result()).rejects.toBeInstanceOf(TaskFailedError);
    await cancelTask(ns, 'cancel-then-retry', handle.id);
    expect(await ns.has(names.cancel(handle.id))).toBe(true);

    await ns.put('allowed', '1');
    expect(await retryDeadLetter(ns, 'cancel-then-retry', handle.id)).toBeDefined();
    expect(await (await client.handle(task, handle.id)).result({ timeout: '20s' })).toBe('done');
  });
});
