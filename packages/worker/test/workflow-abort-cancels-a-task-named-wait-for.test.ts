import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, runWorkflow, workflow } from '../src/index.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const started: number[] = [];
const completed: number[] = [];
/** A task that happens to share its name with wf.waitFor steps. */
const namedWaitFor = defineTask({
  name: 'waitFor',
  input: z.object({ x: z.number() }),
  output: z.number(),
  run: async ({ x }, ctx) => {
    started.push(x);
    await new Promise((r) => setTimeout(r, 300));
    if (!ctx.signal.aborted) completed.push(x);
    return x;
  },
});

describe('workflow abort and a task named "waitFor"', () => {
  it('queued steps of a task named "waitFor" are cancelled on abort like any other', async () => {
    const { ns } = await freshNamespace('named-waitfor');
    await startWorker(ns, { tasks: [namedWaitFor], concurrency: 1, prefetch: 0 });
    const wf = workflow('named-waitfor', (w) => w.map(namedWaitFor, [1, 2, 3, 4].map((x) => ({ x }))), { failurePolicy: 'continue' });
    const abort = new AbortController();
    const run = runWorkflow(wf, { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => started.length >= 1, 'the first step to start');
    abort.abort(new Error('stop'));
    await run;
    expect((await ns.list('q:{default}:cancel:*')).length).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(completed.length).toBeLessThanOrEqual(2); // the one running at the abort, perhaps one claimed just then
  });
});
