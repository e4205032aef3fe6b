import { describe, expect, it } from 'vitest';
import { runWorkflow, workflow } from '../src/index.js';
import { double, explode, plus, runs, slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('workflow resume', () => {
  it('re-running with the same run id skips completed steps and waits for submitted ones', async () => {
    const { ns } = await freshNamespace('resume');
    await startWorker(ns, { tasks, concurrency: 4 });
    const wf = workflow('resumable', (w) => {
      const a = w.run(double, { x: 1 });
      const b = w.run(slowDouble, { x: 2, ms: 400 });
      return w.run(plus, { a, b });
    });
    runs.length = 0;
    // the first driver "dies" (is aborted) while the slow step runs
    const abort = new AbortController();
    const first = runWorkflow(wf, { client: clientOn(ns), runId: 'r1', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => runs.includes('slow:2') && runs.includes('double:1'), 'both first steps to start');
    await until(async () => ns.has('wf:resumable:r1:out:wf-double.0'), 'the first step to be saved');
    abort.abort(new Error('driver killed'));
    await first;
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r1' });
    expect(report.output).toBe(6);
    expect(report.resumed).toBe(1);
    expect(runs.filter((r) => r === 'double:1')).toHaveLength(1);
    expect(runs.filter((r) => r === 'slow:2')).toHaveLength(1); // waited for, not resubmitted
    expect(runs.filter((r) => r.startsWith('plus'))).toHaveLength(1);
  });

  it('a failed run resumes: its failed step runs again, its completed steps do not', async () => {
    const { ns } = await freshNamespace('resume-fail');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('retry-later', (w) => ({ ok: w.run(double, { x: 7 }), maybe: w.run(explode, { x: 9 }) }), { failurePolicy: 'continue' });
    runs.length = 0;
    globalThis.__explode = true;
    await expect(runWorkflow(wf, { client: clientOn(ns), runId: 'x' })).rejects.toThrow(/boom at 9/);
    globalThis.__explode = false;
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'x' });
    expect(report.output).toEqual({ ok: 14, maybe: 9 });
    expect(runs.filter((r) => r === 'double:7')).toHaveLength(1);
    expect(runs.filter((r) => r === 'explode:9')).toHaveLength(2);
  });
});
