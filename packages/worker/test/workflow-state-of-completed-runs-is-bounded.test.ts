import { describe, expect, it } from 'vitest';
import { pruneWorkflowRuns, runWorkflow, workflow } from '../src/index.js';
import { double, explode, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('bounded workflow state', () => {
  it('a completed run keeps only its summary: its abandoned submissions are dropped', async () => {
    const { ns } = await freshNamespace('wf-bounded');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('flaky', (w) => w.run(explode, { x: 1 }, { key: 'k' }));
    globalThis.__explode = true;
    for (let i = 0; i < 3; i++) await runWorkflow(wf, { client: clientOn(ns), runId: 'f' }).catch(() => undefined);
    expect(await ns.count('wf:flaky:f:gone:k')).toBe(3);
    globalThis.__explode = false;
    await runWorkflow(wf, { client: clientOn(ns), runId: 'f' });
    expect(await ns.list('wf:flaky:f:*')).toEqual(['wf:flaky:f:info']);
  });

  it('pruneWorkflowRuns drops the summaries of completed runs and keeps failed ones', async () => {
    const { ns } = await freshNamespace('wf-prune');
    await startWorker(ns, { tasks, concurrency: 2 });
    const ok = workflow('grow', (w) => w.run(double, { x: 1 }));
    for (let i = 0; i < 5; i++) await runWorkflow(ok, { client: clientOn(ns), runId: `req-${i}` });
    globalThis.__explode = true;
    await runWorkflow(workflow('broken', (w) => w.run(explode, { x: 2 })), { client: clientOn(ns), runId: 'b' }).catch(() => undefined);
    expect(await pruneWorkflowRuns(ns, { completedFor: '1h' })).toBe(0);
    expect(await pruneWorkflowRuns(ns, { completedFor: 0 })).toBe(5);
    expect(await ns.list('wf:grow:*')).toEqual([]);
    expect(await ns.list('wf:broken:b:info')).toEqual(['wf:broken:b:info']);
  });
});
