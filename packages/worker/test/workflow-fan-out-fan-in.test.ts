import { describe, expect, it } from 'vitest';
import { runWorkflow } from '../src/index.js';
import { ensemble, runs, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('workflow fan-out / fan-in', () => {
  it('maps a task over an ensemble and reduces the outputs in order', async () => {
    const { ns } = await freshNamespace('fan');
    await startWorker(ns, { tasks, concurrency: 4 });
    runs.length = 0;
    const seen: string[] = [];
    const report = await runWorkflow(ensemble, { client: clientOn(ns), onStep: (s) => s.state === 'done' && seen.push(s.key) });
    expect(report.output).toEqual({ sum: 90, n: 10 });
    expect(report.steps).toHaveLength(11);
    expect(seen.at(-1)).toBe('wf-total.0');
    expect(runs.at(-1)).toBe('total:10');
  });
});
