/**
 * A workflow step claims its submitted marker before it submits its task, so a driver that dies in between
 * leaves a marker naming a task that was never stored. The marker says once the task is stored; a resumed run
 * that finds one that never said so submits the step's task under the marker's id instead of waiting for good.
 */
import { describe, expect, it } from 'vitest';
import { inputDigest } from '../src/step-identity.js';
import { WorkflowNames } from '../src/protocol.js';
import { runWorkflow, workflow } from '../src/index.js';
import { runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('a step whose submit never landed', () => {
  it('is submitted again by the resumed run, under the id its marker records', async () => {
    const { ns } = await freshNamespace('unconfirmed-step');
    await startWorker(ns, { tasks, concurrency: 1 });
    const input = { x: 5, ms: 1 };
    const wf = workflow('unconfirmed', (w) => w.run(slowDouble, input, { key: 's' }));
    // what a driver that died between claiming the marker and submitting leaves behind
    const digest = inputDigest(slowDouble, clientOn(ns).envelope(slowDouble, input, {}, 0).input);
    await ns.put(new WorkflowNames('unconfirmed', 'r').submitted('s'), JSON.stringify({ id: 'wf-never-stored', queue: 'default', digest, at: Date.now() - 60_000 }));
    runs.length = 0;
    const report = await Promise.race([
      runWorkflow(wf, { client: clientOn(ns), runId: 'r' }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resumed run still waits for a task that was never stored')), 20_000)),
    ]);
    expect(report.output).toBe(10);
    expect(report.steps[0]).toMatchObject({ key: 's', state: 'done', taskId: 'wf-never-stored' });
    expect(runs).toEqual(['slow:5']);
  }, 30_000);
});
