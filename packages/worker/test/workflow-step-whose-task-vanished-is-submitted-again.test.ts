import { describe, expect, it } from 'vitest';
import { purgeQueue, runWorkflow, workflow } from '../src/index.js';
import { runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const inTime = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms))]);

describe('workflow step whose task vanished', () => {
  it('a step whose queued task was purged is submitted again instead of waited for forever', async () => {
    const { ns } = await freshNamespace('purged-step');
    const wf = workflow('purged-step', (w) => w.run(slowDouble, { x: 1, ms: 1 }, { key: 's' }));
    const run = runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    await until(async () => (await ns.count('q:{default}:pending')) > 0, 'the step to be queued');
    expect(await purgeQueue(ns, 'default')).toBeGreaterThanOrEqual(1);
    await startWorker(ns, { tasks, concurrency: 1 });
    const report = await inTime(run, 20_000, 'the driver still waits for the purged task');
    expect(report.output).toBe(2);
  }, 30_000);

  it('a resumed step whose result is gone (expired while no driver ran) is submitted again', async () => {
    const { ns } = await freshNamespace('expired-step');
    await startWorker(ns, { tasks, concurrency: 1 });
    const wf = workflow('expired-step', (w) => w.run(slowDouble, { x: 3, ms: 300 }, { key: 's' }));
    runs.length = 0;
    const abort = new AbortController();
    const first = runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => runs.includes('slow:3'), 'the step to start');
    abort.abort(new Error('driver stopped')); // a running step is left to finish
    await first;
    await until(async () => (await ns.list('q:{default}:result:*')).length === 1, 'the result to be stored');
    await ns.remove({ template: 'q:{default}:result:*' }); // as resultTtl would
    const report = await inTime(runWorkflow(wf, { client: clientOn(ns), runId: 'r' }), 20_000, 'the resumed run still waits for the expired result');
    expect(report.output).toBe(6);
  }, 30_000);
});
