/**
 * A step whose task's outcome is gone must not leave its driver waiting for good. A purged task ends as a
 * cancel (its result says so): the run fails on it, and a resumed run submits the step again. A result that
 * expired unread while no driver ran leaves a tombstone (ResultExpiredError): the resumed run submits the step
 * again. Neither looks through the queue for the task.
 */
import { describe, expect, it } from 'vitest';
import { expireBucketOf, QueueNames } from '../src/protocol.js';
import { purgeQueue, ResultExpiredError, runWorkflow, TaskCancelledError, workflow, WorkflowFailedError } from '../src/index.js';
import { runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const names = new QueueNames('default');
const inTime = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);

describe('workflow step whose task vanished', () => {
  it('a purged step fails the run as a cancel instead of being waited for forever, and a resumed run submits it again', async () => {
    const { ns } = await freshNamespace('purged-step');
    const wf = workflow('purged-step', (w) => w.run(slowDouble, { x: 1, ms: 1 }, { key: 's' }));
    const run = runWorkflow(wf, { client: clientOn(ns), runId: 'r' }).catch((e: unknown) => e);
    await until(async () => (await ns.count(names.pending())) > 0, 'the step to be queued');
    expect(await purgeQueue(ns, 'default')).toBe(1);
    const err = (await inTime(run, 20_000, 'the driver still waits for the purged task')) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.message).toMatch(/cancelled/);
    await startWorker(ns, { tasks, concurrency: 1 });
    const report = await inTime(runWorkflow(wf, { client: clientOn(ns), runId: 'r' }), 20_000, 'the resumed run did not submit the step again');
    expect(report.output).toBe(2);
  }, 30_000);

  it('a resumed step whose result expired while no driver ran is submitted again', async () => {
    const { ns } = await freshNamespace('expired-step');
    await startWorker(ns, { tasks, concurrency: 1, recoveryInterval: '50ms' });
    const wf = workflow('expired-step', (w) => w.run(slowDouble, { x: 3, ms: 300 }, { key: 's' }));
    runs.length = 0;
    const abort = new AbortController();
    const first = runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => runs.includes('slow:3'), 'the step to start');
    abort.abort(new Error('driver stopped')); // a running step is left to finish
    await first;
    await until(async () => (await ns.list('q:{default}:result:*')).length === 1, 'the result to be stored');
    // its expiry comes due now: the entry the worker wrote, moved to a bucket in the past
    const [bucket] = await ns.list(names.expirePattern());
    const entry = (await ns.get(bucket as string, { timeout: 0 })).toString('utf8');
    await ns.put(names.expire(expireBucketOf(Date.now() - 120_000)), entry);
    const [resultName] = entry.split(' ');
    await until(async () => (await ns.tryRead(resultName as string))?.includes('ResultExpiredError') === true, 'the result to be replaced by its tombstone', 30_000);
    const handle = await clientOn(ns).handle(slowDouble, (resultName as string).slice(names.result('').length), { keep: true });
    await expect(handle.result()).rejects.toBeInstanceOf(ResultExpiredError);
    const report = await inTime(runWorkflow(wf, { client: clientOn(ns), runId: 'r' }), 20_000, 'the resumed run still waits for the expired result');
    expect(report.output).toBe(6);
    expect(runs.filter((r) => r === 'slow:3')).toHaveLength(2);
  }, 40_000);

  it('result() of a purged task rejects with TaskCancelledError', async () => {
    const { ns } = await freshNamespace('purged-result');
    const handle = await clientOn(ns).submit(slowDouble, { x: 2, ms: 1 });
    await purgeQueue(ns, 'default');
    await expect(handle.result({ timeout: '5s' })).rejects.toBeInstanceOf(TaskCancelledError);
  });
});
