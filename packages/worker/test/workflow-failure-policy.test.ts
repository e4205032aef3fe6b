import { describe, expect, it } from 'vitest';
import { runWorkflow, workflow, WorkflowFailedError } from '../src/index.js';
import { z } from 'zod';
import { defineTask, NonRetryableError } from '../src/index.js';
import { double, explode, plus, runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const slowFail = defineTask({
  name: 'wf-slow-fail',
  input: z.object({ x: z.number(), ms: z.number() }),
  output: z.number(),
  retries: 0,
  run: async ({ x, ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    throw new NonRetryableError(`slow boom ${x}`);
  },
});

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

  it('fail-fast: two steps failing at about the same time are both failed, each with its own error, and leave no result', async () => {
    const { ns } = await freshNamespace('failfast-two');
    await startWorker(ns, { tasks: [...tasks, slowFail], concurrency: 2 });
    const wf = workflow('two-failures', (w) => [w.run(slowFail, { x: 1, ms: 200 }), w.run(slowFail, { x: 2, ms: 200 })]);
    const err = (await runWorkflow(wf, { client: clientOn(ns), runId: 'r' }).catch((e: unknown) => e)) as WorkflowFailedError & { report: { steps: { key: string; state: string; error?: string }[] } };
    expect(err.report.steps.map((s) => [s.state, s.error?.match(/slow boom \d/)?.[0]])).toEqual([
      ['failed', 'slow boom 1'],
      ['failed', 'slow boom 2'],
    ]);
    expect(await ns.list('q:{default}:result:*')).toEqual([]);
  });

  it('fail-fast: a sibling that succeeds just after the failure is recorded as done; a waiting step cancelled says which step failed', async () => {
    const { ns } = await freshNamespace('failfast-sibling');
    await startWorker(ns, { tasks: [...tasks, slowFail], concurrency: 2, prefetch: 0 });
    const wf = workflow('sibling', (w) => [w.run(slowFail, { x: 1, ms: 200 }, { key: 'bad' }), w.run(slowDouble, { x: 2, ms: 260 }, { key: 'ok' }), w.waitFor('never', z.number(), { key: 'later' })]);
    const err = (await runWorkflow(wf, { client: clientOn(ns), runId: 'r' }).catch((e: unknown) => e)) as WorkflowFailedError & { report: { steps: { key: string; state: string; error?: string }[] } };
    const byKey = Object.fromEntries(err.report.steps.map((s) => [s.key, s]));
    expect(byKey.bad!.state).toBe('failed');
    expect(byKey.ok!.state).toBe('done');
    expect(await ns.tryRead('wf:sibling:r:out:ok')).toBeDefined();
    expect(byKey.later!.state).toBe('skipped');
    expect(byKey.later!.error).toMatch(/^Workflow step cancelled: step "bad" failed and the run fails fast/);
  });
});
