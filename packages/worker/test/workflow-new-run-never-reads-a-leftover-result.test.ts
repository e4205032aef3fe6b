import { describe, expect, it } from 'vitest';
import { runWorkflow, stepTaskId, workflow } from '../src/index.js';
import { encode } from '../src/envelope.js';
import { double, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('workflow run ids used again', () => {
  it('a later run with the same run id never reads a result left under an id of an earlier run', async () => {
    const { ns } = await freshNamespace('leftover');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('leftover', (w, args: { x: number }) => w.run(double, { x: args.x }, { key: 'step' }));
    const first = await runWorkflow(wf, { client: clientOn(ns), runId: 'r', args: { x: 1 } });
    expect(first.output).toBe(2);
    // what an at-least-once duplicate of the first run's task leaves behind, under the ids a run would take
    for (const id of [first.steps[0]!.taskId!, stepTaskId('leftover', 'r', 'step')]) {
      await ns.put(`q:{default}:result:${id}`, encode({ k: 'r', id, task: 'wf-double', ok: true, output: 2, attempts: 1, finishedAt: Date.now() }));
    }
    const second = await runWorkflow(wf, { client: clientOn(ns), runId: 'r', args: { x: 5 } });
    expect(second.output).toBe(10);
    expect(second.steps[0]!.taskId).not.toBe(first.steps[0]!.taskId);
  });
});
