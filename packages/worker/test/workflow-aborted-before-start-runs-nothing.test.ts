import { describe, expect, it } from 'vitest';
import { runWorkflow, workflow, WorkflowFailedError } from '../src/index.js';
import { runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('workflow aborted before it starts', () => {
  it('a signal already aborted when the run starts fails the run and submits no step', async () => {
    const { ns } = await freshNamespace('pre-aborted');
    await startWorker(ns, { tasks, concurrency: 4 });
    runs.length = 0;
    const wf = workflow('pre-aborted', (w) => w.map(slowDouble, [1, 2, 3].map((x) => ({ x, ms: 20 }))));
    const err = await runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: AbortSignal.abort(new Error('already aborted')) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).message).toMatch(/already aborted/);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs).toEqual([]);
    expect(await ns.list('wf:pre-aborted:r:sub:*')).toEqual([]);
  });
});
