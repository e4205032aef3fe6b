import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWorkflow, stepTaskId, workflow, WorkflowFailedError } from '../src/index.js';
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
    await until(async () => (await ns.list('wf:resumable:r1:out:wf-double.*')).length === 1, 'the first step to be saved');
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

  it('steps cancelled by an abort run when the run resumes, under fresh task ids (their cancel markers stay behind)', async () => {
    const { ns } = await freshNamespace('resume-cancelled');
    const worker = await startWorker(ns, { tasks, concurrency: 1, prefetch: 0 });
    const wf = workflow('resume-cancelled', (w) => w.map(slowDouble, [1, 2, 3, 4].map((x) => ({ x, ms: 300 }))), { failurePolicy: 'continue' });
    runs.length = 0;
    const abort = new AbortController();
    const first = runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => runs.length >= 1, 'the first step to start');
    abort.abort(new Error('driver stopped'));
    await first;
    // the queued steps were cancelled: their markers live on (24 h) under the ids of their first submission
    const cancelled = (await ns.list('q:{default}:cancel:*')).map((n) => n.slice('q:{default}:cancel:'.length));
    expect(cancelled.length).toBeGreaterThanOrEqual(2);
    const goneId = (await ns.tryRead((await ns.list('wf:resume-cancelled:r:gone:*'))[0]!))!.toString('utf8');
    expect(cancelled).toContain(goneId);
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.output).toEqual([2, 4, 6, 8]);
    const ids = report.steps.map((s) => s.taskId!);
    expect(ids).not.toContain(goneId);
    expect(ids.filter((id) => id.endsWith('.1'))).toHaveLength(cancelled.length);
    await worker.close();
  });

  it('a driver whose client closes leaves its running steps submitted: the resumed run waits for them, never runs them twice', async () => {
    const { ns } = await freshNamespace('resume-closed');
    await startWorker(ns, { tasks, concurrency: 4 });
    const wf = workflow('resume-closed', (w) => w.map(slowDouble, [1, 2].map((x) => ({ x, ms: 400 }))));
    runs.length = 0;
    const first = clientOn(ns);
    const run = runWorkflow(wf, { client: first, runId: 'r' }).catch((e: unknown) => e);
    await until(() => runs.filter((r) => r.startsWith('slow')).length === 2, 'both steps to start');
    await first.close();
    expect(await run).toBeInstanceOf(Error);
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.output).toEqual([2, 4]);
    expect(runs.filter((r) => r.startsWith('slow'))).toHaveLength(2);
    expect(await ns.list('wf:resume-closed:r:gone:*')).toEqual([]);
  });

  it('a submission listed as abandoned whose marker survived (the driver died in between) is submitted again under a fresh id', async () => {
    const { ns } = await freshNamespace('resume-half-abandoned');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('half-abandoned', (w) => w.run(double, { x: 5 }, { key: 'd' }));
    // as left by a driver that died inside abandon(): listed as gone, its submitted marker still there, no task
    const oldId = stepTaskId('half-abandoned', 'r', 'd');
    await ns.put('wf:half-abandoned:r:gone:d', oldId);
    await ns.put('wf:half-abandoned:r:sub:d', JSON.stringify({ id: oldId, queue: 'default' }));
    const report = await Promise.race([
      runWorkflow(wf, { client: clientOn(ns), runId: 'r' }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resumed run waited for the abandoned task')), 10_000)),
    ]);
    expect(report.output).toBe(10);
    expect(report.steps[0]?.taskId).not.toBe(oldId);
    expect(report.steps[0]?.taskId).toMatch(/\.1$/);
  });
  it('steps called in another order on resume (await inside async callbacks) each get their own saved output', async () => {
    const { ns } = await freshNamespace('resume-order');
    await startWorker(ns, { tasks, concurrency: 4 });
    // the second call of slowDouble is made by whichever item finishes its first step first: item 2 in the
    // first run, item 1 (whose first step is cached) when resumed
    const wf = workflow('resume-order', async (w) => {
      const out = await Promise.all(
        [1, 2].map(async (x) => {
          const a = await w.run(slowDouble, { x, ms: x === 1 ? 400 : 20 });
          return w.run(double, { x: a });
        }),
      );
      await w.waitFor('go', z.literal('go')); // the first run stops here, unfinished
      return out;
    });
    runs.length = 0;
    const abort = new AbortController();
    const first = runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(async () => (await ns.list('wf:resume-order:r:out:wf-double.*')).length === 2, 'both second steps to be saved');
    abort.abort(new Error('driver killed'));
    await first;
    await ns.put('go', 'go');
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.output).toEqual([4, 8]);
    expect(report.resumed).toBe(4);
  });

  it('a run resumed with other arguments runs its steps for those arguments, not the saved ones', async () => {
    const { ns } = await freshNamespace('resume-args');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('resume-args', (w, args: { x: number; y: number }) => ({ d: w.run(double, { x: args.x }), e: w.run(explode, { x: args.y }) }), { failurePolicy: 'continue' });
    globalThis.__explode = true;
    await expect(runWorkflow(wf, { client: clientOn(ns), args: { x: 1, y: 2 } })).rejects.toThrow(/boom at 2/);
    globalThis.__explode = false;
    const report = await runWorkflow(wf, { client: clientOn(ns), args: { x: 100, y: 5 } });
    expect(report.output).toEqual({ d: 200, e: 5 });
    expect(report.resumed).toBe(0);
  });

  it('a named step resumed with another input fails clearly instead of reusing the saved output', async () => {
    const { ns } = await freshNamespace('resume-named');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('resume-named', (w, args: { x: number }) => ({ d: w.run(double, { x: args.x }, { key: 'd' }), e: w.run(explode, { x: 1 }) }), { failurePolicy: 'continue' });
    globalThis.__explode = true;
    await expect(runWorkflow(wf, { client: clientOn(ns), args: { x: 1 } })).rejects.toThrow(/boom at 1/);
    globalThis.__explode = false;
    const err = await runWorkflow(wf, { client: clientOn(ns), args: { x: 2 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).failures).toEqual([{ step: 'd', error: expect.stringMatching(/step "d" ran before with another input/) }]);
    expect(((err as WorkflowFailedError & { report: { steps: { key: string; error?: string }[] } }).report.steps.find((s) => s.key === 'd')?.error)).toMatch(/another runId/);
  });

  it('a driver whose client closes cancels its queued steps: they are not left to run beside their resubmission', async () => {
    const { ns } = await freshNamespace('resume-closed-queued');
    await startWorker(ns, { tasks, concurrency: 1, prefetch: 0 });
    const wf = workflow('closed-queued', (w) => w.map(slowDouble, [1, 2, 3].map((x) => ({ x, ms: 300 }))));
    runs.length = 0;
    const first = clientOn(ns);
    const run = runWorkflow(wf, { client: first, runId: 'r' }).catch((e: unknown) => e);
    await until(() => runs.length === 1, 'the first step to start');
    await first.close();
    expect(await run).toBeInstanceOf(Error);
    const gone = await ns.list('wf:closed-queued:r:gone:*');
    expect(gone).toHaveLength(2);
    const cancelled = await ns.list('q:{default}:cancel:*');
    const goneIds = await Promise.all(gone.map(async (g) => (await ns.tryRead(g))!.toString('utf8')));
    expect(cancelled.map((n) => n.slice('q:{default}:cancel:'.length)).sort()).toEqual(goneIds.sort());
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.output).toEqual([2, 4, 6]);
  });
});
