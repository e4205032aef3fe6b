import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineTask, runWorkflow, workflow } from '../src/index.js';
import { diamond, double, plus, runs, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('workflow DAG', () => {
  it('references passed inside inputs build the DAG; dependents run after their inputs', async () => {
    const { ns } = await freshNamespace('dag');
    await startWorker(ns, { tasks, concurrency: 2 });
    runs.length = 0;
    const report = await runWorkflow(diamond, { client: clientOn(ns), args: { x: 3, y: 4 }, runId: 'd1' });
    expect(report.status).toBe('completed');
    expect(report.output).toBe(14);
    expect(runs.indexOf('plus:6+8')).toBe(2);
    expect(report.steps.map((s) => s.state)).toEqual(['done', 'done', 'done']);
    // a finished run leaves only its summary behind
    expect(await ns.list('wf:diamond:d1:*')).toEqual(['wf:diamond:d1:info']);
  });

  it('awaiting a step gives its typed output, usable in plain code', async () => {
    const { ns } = await freshNamespace('dag-await');
    await startWorker(ns, { tasks: [double, plus] });
    const wf = workflow('awaits', async (w) => {
      const a = await w.run(double, { x: 5 });
      expectTypeOf(a).toEqualTypeOf<number>();
      return w.run(plus, { a, b: a > 5 ? 1 : 0 });
    });
    const report = await runWorkflow(wf, { client: clientOn(ns) });
    expect(report.output).toBe(11);
  });

  it('a step whose task stores no result (ignoreResult) still hands its output to the run', async () => {
    const { ns } = await freshNamespace('dag-ignore-result');
    const quiet = defineTask({ name: 'wf-quiet', input: z.object({ x: z.number() }), output: z.number(), ignoreResult: true, run: ({ x }) => x + 1 });
    await startWorker(ns, { tasks: [...tasks, quiet] });
    const wf = workflow('quiet-step', (w) => w.run(plus, { a: w.run(quiet, { x: 1 }), b: 10 }));
    expect((await runWorkflow(wf, { client: clientOn(ns) })).output).toBe(12);
  });
});
