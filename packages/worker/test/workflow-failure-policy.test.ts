import { describe, expect, it } from 'vitest';
import { runWorkflow, workflow, WorkflowFailedError } from '../src/index.js';
import { double, explode, plus, runs, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const mixed = (policy: 'fail-fast' | 'continue') =>
  workflow(
    `mixed-${policy}`,
    (wf) => {
      const bad = wf.run(explode, { x: 1 });
      const good = wf.run(double, { x: 21 });
      const dependent = wf.run(plus, { a: bad, b: 1 });
      return { good, dependent };
    },
    { failurePolicy: policy },
  );

describe('workflow failure policy', () => {
  it('continue-and-report: independent steps finish, dependents are skipped, every failure is reported', async () => {
    const { ns } = await freshNamespace('continue');
    await startWorker(ns, { tasks, concurrency: 2 });
    const err = (await runWorkflow(mixed('continue'), { client: clientOn(ns) }).catch((e: unknown) => e)) as WorkflowFailedError & { report: { steps: { key: string; state: string }[] } };
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const states = Object.fromEntries(err.report.steps.map((s) => [s.key, s.state]));
    expect(states).toEqual({ 'wf-explode.0': 'failed', 'wf-double.0': 'done', 'wf-plus.0': 'skipped' });
    expect(err.failures.map((f) => f.step).sort()).toEqual(['wf-explode.0', 'wf-plus.0']);
    expect(err.message).toContain('boom at 1');
  });

  it('fail-fast: the first failure rejects the run', async () => {
    const { ns } = await freshNamespace('failfast');
    await startWorker(ns, { tasks, concurrency: 2 });
    runs.length = 0;
    const err = await runWorkflow(mixed('fail-fast'), { client: clientOn(ns) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(runs).not.toContain('plus:NaN');
  });

  it('fail-fast: a step made after the failure, its input a promise derived from the failed step, is skipped without an unhandled rejection', async () => {
    const { ns } = await freshNamespace('failfast-late');
    await startWorker(ns, { tasks, concurrency: 2 });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const wf = workflow('late-step', async (w) => {
        const bad = w.run(explode, { x: 3 });
        await until(() => w.signal.aborted, 'the run to fail fast');
        return w.run(double, { x: bad.then((v) => v + 1) });
      });
      await expect(runWorkflow(wf, { client: clientOn(ns) })).rejects.toBeInstanceOf(WorkflowFailedError);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
