import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decode } from '../src/envelope.js';
import { type DeadLetter, defineTask, TaskFailedError } from '../src/index.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const runs = new Map<string, number>();
const count = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);

function cycle(): unknown {
  const c: Record<string, unknown> = { name: 'loop' };
  c.self = c;
  return c;
}

const throwsACycle = defineTask({
  name: 'throws-a-cycle',
  input: z.object({}),
  output: z.null(),
  retries: 0,
  run: (_in, ctx) => {
    count(ctx.id);
    throw cycle();
  },
});

const returnsUnstorable = defineTask({
  name: 'returns-unstorable',
  input: z.object({ kind: z.enum(['cycle', 'bigint']) }),
  output: z.any(),
  retries: 3,
  run: ({ kind }, ctx) => {
    count(ctx.id);
    return kind === 'cycle' ? cycle() : 10n ** 30n;
  },
});

const reportsBadProgress = defineTask({
  name: 'reports-bad-progress',
  input: z.object({}),
  output: z.string(),
  retries: 0,
  run: (_in, ctx) => {
    ctx.progress({ done: 1n, total: 10n } as never);
    return 'unreachable';
  },
});

const feedsInput = defineTask({
  name: 'feeds-input',
  input: z.object({ cwd: z.string().optional() }),
  output: z.number(),
  retries: 0,
  run: async ({ cwd }, ctx) => (await ctx.exec('true', [], { input: 'x'.repeat(1_000_000), ...(cwd ? { cwd } : {}) })).exitCode,
});

async function failure(p: Promise<unknown>): Promise<TaskFailedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailedError);
  return err as TaskFailedError;
}

describe('values a task cannot store', () => {
  // They used to leave the task in its claim slot for good: no result, no dead letter, and a rerun after every
  // worker restart (with retries: 0).
  it('a task that throws a cyclic object fails for good, with a dead letter that describes it', async () => {
    const { ns } = await freshNamespace('throw-cycle');
    await startWorker(ns, { tasks: [throwsACycle] });
    const h = await clientOn(ns).submit(throwsACycle, {});
    const err = await failure(h.result({ timeout: '20s' }));
    expect(err.message).toContain("name: 'loop'");
    expect(await ns.list('q:{default}:run:*')).toEqual([]);
    const dead = decode(await ns.read('q:{default}:dead', { timeout: 0 })) as DeadLetter;
    expect(dead).toMatchObject({ id: h.id, task: 'throws-a-cycle', attempts: 1 });
    expect(runs.get(h.id)).toBe(1);
  });

  it.each(['cycle', 'bigint'] as const)('an output that cannot be stored (%s) fails the task at once, not retried', async (kind) => {
    const { ns } = await freshNamespace(`unstorable-${kind}`);
    await startWorker(ns, { tasks: [returnsUnstorable] });
    const h = await clientOn(ns).submit(returnsUnstorable, { kind });
    const err = await failure(h.result({ timeout: '20s' }));
    expect(err.remoteName).toBe('UnstorableOutputError');
    expect(err.message).toMatch(/returned a value that cannot be stored as its result .*return plain data/);
    expect(err.attempts).toBe(1);
    expect(runs.get(h.id)).toBe(1);
    expect(await ns.list('q:{default}:run:*')).toEqual([]);
    expect(await ns.count('q:{default}:dead')).toBe(1);
  });

  it('ctx.progress() with values JSON cannot carry fails the attempt there, not the heartbeat', async () => {
    const { ns } = await freshNamespace('bad-progress');
    const worker = await startWorker(ns, { tasks: [reportsBadProgress] });
    const h = await clientOn(ns).submit(reportsBadProgress, {});
    const err = await failure(h.result({ timeout: '20s' }));
    expect(err.message).toContain('ctx.progress() takes a finite number or { done, total, message? }');
    expect(err.message).toContain('done: bigint');
    expect(await ns.list(`worker:${worker.id}`)).toHaveLength(1);
  });
});

describe('ctx.exec input and working directory', () => {
  it('a program that exits without reading all its input succeeds (EPIPE on its stdin is not a crash)', async () => {
    const { ns } = await freshNamespace('exec-epipe');
    await startWorker(ns, { tasks: [feedsInput] });
    expect(await (await clientOn(ns).submit(feedsInput, {})).result({ timeout: '20s' })).toBe(0);
  });

  it('a missing working directory is named as such, not as a missing program', async () => {
    const { ns } = await freshNamespace('exec-cwd');
    await startWorker(ns, { tasks: [feedsInput] });
    const err = await failure((await clientOn(ns).submit(feedsInput, { cwd: '/no/such/dir' })).result({ timeout: '20s' }));
    expect(err.message).toContain('its working directory /no/such/dir does not exist; fix the cwd option');
  });
});
