import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, runWorkflow, workflow } from '../src/index.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const ran: string[] = [];
const inQueue = (queue: string) =>
  defineTask({
    name: 'wf-moved',
    queue,
    input: z.object({ x: z.number() }),
    output: z.number(),
    run: async ({ x }) => {
      ran.push(queue);
      await new Promise((r) => setTimeout(r, 400));
      return x;
    },
  });

describe('workflow resume after a task changed queue', () => {
  it('the resumed run waits for the step on the queue its submission recorded', async () => {
    const { ns } = await freshNamespace('moved-queue');
    const inA = inQueue('wf-a');
    const inB = inQueue('wf-b');
    await startWorker(ns, { tasks: [inA], concurrency: 1 });
    const abort = new AbortController();
    const first = runWorkflow(workflow('moved', (w) => w.run(inA, { x: 1 })), { client: clientOn(ns), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    await until(() => ran.length === 1, 'the step to start on queue wf-a');
    abort.abort(new Error('driver stopped'));
    await first;
    const report = await Promise.race([
      runWorkflow(workflow('moved', (w) => w.run(inB, { x: 1 })), { client: clientOn(ns), runId: 'r' }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resumed run waited on the wrong queue')), 1500)),
    ]);
    expect(report.output).toBe(1);
    expect(ran).toEqual(['wf-a']);
    expect(await ns.list('q:*:result:*')).toEqual([]);
  });
});
