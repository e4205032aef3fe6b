import { describe, expect, it } from 'vitest';
import { runWorkflow, workflow } from '../src/index.js';
import { runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('two drivers of one run', () => {
  it('two drivers running the same run id at once run each step once and both report its output', async () => {
    const { ns } = await freshNamespace('two-drivers');
    await startWorker(ns, { tasks, concurrency: 8 });
    const wf = workflow('two-drivers', (w) => w.map(slowDouble, [1, 2, 3, 4].map((x) => ({ x, ms: 300 }))));
    runs.length = 0;
    const [a, b] = await Promise.all([runWorkflow(wf, { client: clientOn(ns), runId: 'r' }), runWorkflow(wf, { client: clientOn(ns), runId: 'r' })]);
    expect(a.output).toEqual([2, 4, 6, 8]);
    expect(b.output).toEqual([2, 4, 6, 8]);
    expect(runs.sort()).toEqual(['slow:1', 'slow:2', 'slow:3', 'slow:4']);
  });
});
