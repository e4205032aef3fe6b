import { ConfigError } from '@tsdbr/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { ClientClosedError, defineTask, locateTask, runWorkflow, type TaskLocation, TaskClient, Worker, workflow, WorkflowFailedError, type WorkflowRunInfo, workflowRun } from '../src/index.js';
import { clientOn, freshNamespace, silent, startWorker, until } from './support/harness.js';

const echo = defineTask({ name: 'api-echo', queue: 'api', input: z.any(), output: z.any(), run: (x) => x, retries: 0 });
const base = { name: 'api-bad', input: z.any(), output: z.any(), run: () => 1 };
// biome-ignore lint: plain-JS callers pass anything
const any = (v: unknown): any => v;
const DAY = 86_400_000;

describe('result() waits', () => {
  it('concurrent result() calls on one handle share one wait and both resolve', async () => {
    const { ns } = await freshNamespace('res2');
    const client = clientOn(ns);
    const h = await client.submit(echo, 42);
    const both = Promise.all([h.result(), h.result(), h.result({ timeout: '30s' })]);
    await startWorker(ns, { tasks: [echo] });
    await expect(both).resolves.toEqual([42, 42, 42]);
  });

  it('a joined call still honours its own timeout', async () => {
    const { ns } = await freshNamespace('res3');
    const h = await clientOn(ns).submit(echo, 1);
    const first = h.result({ timeout: '5s' }).catch((e: unknown) => e);
    const err = await h.result({ timeout: 100 }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('ResultTimeoutError');
    await startWorker(ns, { tasks: [echo] });
    expect(await first).toBe(1);
  });

  it('close() rejects a waiting result() with ClientClosedError, and later submits say to create a new TaskClient', async () => {
    const { ns } = await freshNamespace('close');
    const client = clientOn(ns);
    const h = await client.submit(echo, 1);
    const waiting = h.result().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await client.close();
    const err = await waiting;
    expect(err).toBeInstanceOf(ClientClosedError);
    expect((err as Error).message).toMatch(/create a new TaskClient/);
    await expect(client.submit(echo, 1)).rejects.toThrow(/create a new TaskClient/);
  });

  it('close() of a client that owns its broker rejects a waiting result() too', async () => {
    const { name } = await freshNamespace('close2');
    const client = new TaskClient({ namespace: name });
    const h = await client.submit(echo, 1);
    const waiting = h.result().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await client.close();
    expect(await waiting).toBeInstanceOf(ClientClosedError);
  });
});

describe('durations that would overflow Node timers, and interval bounds', () => {
  it('defineTask rejects timeouts above 2^31-1 ms and 0; accepts infinite', () => {
    expect(() => defineTask({ ...base, timeout: 30 * DAY })).toThrow(/at most|between.*2147483647/);
    expect(() => defineTask({ ...base, timeout: 0 })).toThrow(ConfigError);
    expect(defineTask({ ...base, timeout: 'infinite' }).timeoutMs).toBe(Infinity);
  });

  it('rateLimit.per above 2^31-1 ms is rejected', () => {
    expect(() => defineTask({ ...base, rateLimit: { max: 1, per: 30 * DAY } })).toThrow(/rateLimit.per.*2147483647/);
    expect(() => defineTask({ ...base, rateLimit: any(null) })).toThrow(/rateLimit must be an options object/);
  });

  it('Worker rejects a huge leaseTtl, a 0 heartbeat and a 0 recovery interval', () => {
    expect(() => new Worker({ tasks: [echo], leaseTtl: 100 * DAY, logger: silent })).toThrow(/leaseTtl must be between/);
    expect(() => new Worker({ tasks: [echo], heartbeatInterval: 0, logger: silent })).toThrow(/heartbeatInterval must be between 10 ms/);
    expect(() => new Worker({ tasks: [echo], recoveryInterval: 0, logger: silent })).toThrow(/recoveryInterval must be between 10 ms/);
  });

  it('submit rejects a timeout override above 2^31-1 ms', async () => {
    const { ns } = await freshNamespace('tmo');
    await expect(clientOn(ns).submit(echo, 1, { timeout: 30 * DAY })).rejects.toThrow(ConfigError);
  });
});

describe('Worker options', () => {
  it('queues must be an array, concurrency is capped, start() after close() rejects', async () => {
    expect(() => new Worker({ tasks: [echo], queues: any('render'), logger: silent })).toThrow(/queues.*array/);
    expect(() => new Worker({ tasks: [echo], concurrency: 1e9, logger: silent })).toThrow(/concurrency must be at most 10000/);
    expect(() => new Worker(any(null))).toThrow(/options object/);
    const { ns } = await freshNamespace('closed');
    const w = new Worker({ tasks: [echo], namespace: ns, logger: silent, leaseTtl: '2s' });
    await w.start();
    await w.close({ graceMs: 0 });
    await expect(w.start()).rejects.toThrow(/worker is closed; create a new Worker/);
  });
});

describe('values accepted then misbehaving', () => {
  it('priority must be a finite integer in range', async () => {
    for (const p of [Number.NaN, 'high', 1e308, 1.5]) expect(() => defineTask({ ...base, priority: any(p) })).toThrow(/priority must be an integer/);
    const { ns } = await freshNamespace('pri');
    await expect(clientOn(ns).submit(echo, 1, { priority: Number.NaN })).rejects.toThrow(/priority must be an integer/);
  });

  it('runAt must be a valid Date or number, and delay/runAt at most a year ahead', async () => {
    const { ns } = await freshNamespace('runat');
    const c = clientOn(ns);
    await expect(c.submit(echo, 1, { runAt: Number.NaN })).rejects.toThrow(/runAt must be a valid Date/);
    await expect(c.submit(echo, 1, { runAt: new Date('nope') })).rejects.toThrow(/runAt must be a valid Date/);
    await expect(c.submit(echo, 1, { runAt: any('2020-01-01') })).rejects.toThrow(/new Date\("2020-01-01"\)/);
    await expect(c.submit(echo, 1, { runAt: 1e300 })).rejects.toThrow(/more than a year ahead/);
    await expect(c.submit(echo, 1, { runAt: 8.64e15 })).rejects.toThrow(/more than a year ahead/);
    await expect(c.submit(echo, 1, { delay: 'infinite' })).rejects.toThrow(/more than a year ahead/);
  });

  it('queue names and task ids "." and ".." are refused (the dashboard links to them by URL path)', async () => {
    expect(() => defineTask({ ...base, queue: '.' })).toThrow(/Queue name "\." is invalid.*other than "\." and "\.\."/);
    expect(() => defineTask({ ...base, queue: '..' })).toThrow(/Queue name "\.\." is invalid/);
    expect(() => defineTask({ ...base, queue: '...' })).not.toThrow();
    const { ns } = await freshNamespace('dots');
    await expect(clientOn(ns).submit(echo, 1, { id: '..' })).rejects.toThrow(/Task id "\.\." is invalid/);
    await expect(clientOn(ns).submit(echo, 1, { dedupKey: '.' })).rejects.toThrow(/Dedup key "\." is invalid/);
  });

  it('backoff types other than exponential and fixed are rejected', () => {
    expect(() => defineTask({ ...base, backoff: { type: any('linear') } })).toThrow(/backoff.type must be 'exponential' or 'fixed'/);
    expect(() => defineTask({ ...base, backoff: any(null) })).toThrow(/backoff must be/);
  });

  it('workflow() checks its name, function and failurePolicy at definition', () => {
    expect(() => workflow(any(5), () => 1)).toThrow(/Workflow name 5 is invalid/);
    expect(() => workflow('nf', any(42))).toThrow(/fn must be a function/);
    expect(() => workflow('wf', () => 1, { failurePolicy: any('whatever') })).toThrow(/failurePolicy must be/);
    expect(() => workflow('wf', () => 1, any(null))).toThrow(/options object/);
  });
});

describe('error messages name the problem', () => {
  it('submit with a task name, undefined, or null options; submitMany with a non-array; a cyclic input', async () => {
    const { ns } = await freshNamespace('msg');
    const c = clientOn(ns);
    await expect(c.submit(any('api-echo'), 1)).rejects.toThrow(/task object returned by defineTask\(\), got the string "api-echo"/);
    await expect(c.submit(any(undefined), 1)).rejects.toThrow(/task object returned by defineTask/);
    await expect(c.submit(echo, 1, any(null))).rejects.toThrow(/submit\(\) options must be an options object/);
    await expect(c.submitMany(echo, any('abc'))).rejects.toThrow(/array of inputs/);
    await expect(c.submitMany(echo, [1], any(null))).rejects.toThrow(/options object/);
    const cyclic: Record<string, unknown> = { a: { b: 1 } };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    await expect(c.submit(echo, cyclic)).rejects.toThrow(/cannot be serialized: it refers to itself at a.back/);
    const h = await c.submit(echo, 1);
    await expect(h.result(any(null))).rejects.toThrow(/result\(\) options must be an options object/);
    expect(() => defineTask(any(null))).toThrow(/definition object/);
  });

  it('runWorkflow without a client, and wf.run with a task name', async () => {
    const wf = workflow('api-wf', (w) => w.run(any('add'), 1));
    await expect(runWorkflow(wf, any({}))).rejects.toThrow(/needs a TaskClient/);
    const { ns } = await freshNamespace('wfmsg');
    const err = (await runWorkflow(wf, { client: clientOn(ns) }).catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.message).toMatch(/task object returned by defineTask\(\), got the string "add"/);
  });
});

describe('workflow abort', () => {
  it("aborting a 'continue' run cancels its queued steps instead of letting them run", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const slow = defineTask({
      name: 'api-slow',
      queue: 'api-slow',
      input: z.number(),
      output: z.number(),
      retries: 0,
      run: async (x, ctx) => {
        started.push(x);
        await new Promise((r, j) => {
          const t = setTimeout(r, 300);
          ctx.signal.addEventListener('abort', () => (clearTimeout(t), j(ctx.signal.reason)));
        });
        finished.push(x);
        return x;
      },
    });
    const { ns } = await freshNamespace('abort');
    await startWorker(ns, { tasks: [slow], concurrency: 1, prefetch: 0 });
    const ac = new AbortController();
    const wf = workflow('api-abort', (w) => w.map(slow, [1, 2, 3, 4, 5]), { failurePolicy: 'continue' });
    const run = runWorkflow(wf, { client: clientOn(ns), signal: ac.signal }).catch((e: unknown) => e);
    await until(() => started.length >= 1, 'first step started');
    ac.abort(new Error('stop'));
    expect(await run).toBeInstanceOf(WorkflowFailedError);
    await new Promise((r) => setTimeout(r, 1500));
    // the step running at the abort finishes (a resumed run waits for it); the queued ones are cancelled (a
    // cancelled task may still be started, its marker being looked for as it starts, but is aborted at once)
    expect(finished.filter((x) => x !== started[0])).toEqual([]);
  });
});

describe('exports and types', () => {
  it('locateTask and TaskLocation are exported; a finished run reports status completed', async () => {
    expectTypeOf(locateTask).returns.resolves.toEqualTypeOf<TaskLocation | undefined>();
    expectTypeOf<WorkflowRunInfo['status']>().toEqualTypeOf<'running' | 'completed' | 'failed' | 'unknown'>();
    const { ns } = await freshNamespace('info');
    await startWorker(ns, { tasks: [echo] });
    await runWorkflow(workflow('api-info', (w) => w.run(echo, 1)), { client: clientOn(ns) });
    expect((await workflowRun(ns, 'api-info', 'api-info'))?.info?.status).toBe('completed');
  });
});
