import { describe, expect, it } from 'vitest';
import { peekResult, runWorkflow, TaskClient, workflow, WorkflowFailedError } from '../src/index.js';
import { slowDouble, tasks } from './fixtures/workflow-tasks.js';
import { freshNamespace, startWorker, until } from './support/harness.js';

describe('workflow abort while a step is being submitted', () => {
  it('the step submitted as the abort lands is cancelled and abandoned like the queued ones', async () => {
    const { ns } = await freshNamespace('abort-in-submit');
    const abort = new AbortController();
    /** A client whose submit reply comes back after the caller aborted. */
    class AbortingClient extends TaskClient {
      override async submit(...args: Parameters<TaskClient['submit']>): ReturnType<TaskClient['submit']> {
        const handle = await super.submit(...args);
        abort.abort(new Error('Ctrl-C'));
        await new Promise((r) => setTimeout(r, 5));
        return handle as never;
      }
    }
    const wf = workflow('abort-in-submit', (w) => w.run(slowDouble, { x: 1, ms: 10 }, { key: 's' }));
    const err = await runWorkflow(wf, { client: new AbortingClient({ namespace: ns }), runId: 'r', signal: abort.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const id = (err as WorkflowFailedError & { report: { steps: { taskId?: string }[] } }).report.steps[0]!.taskId!;
    expect(await ns.list('q:{default}:cancel:*')).toEqual([`q:{default}:cancel:${id}`]);
    expect((await ns.tryRead('wf:abort-in-submit:r:gone:s'))?.toString('utf8')).toBe(id);
    await startWorker(ns, { tasks, concurrency: 1 });
    await until(async () => (await peekResult(ns, 'default', id)) !== undefined, 'the cancelled task to end');
    expect((await peekResult(ns, 'default', id))?.cancelled).toBe(true);
  });
});
