import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidInputError, TaskFailedError } from '../src/index.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { returnsBadOutput } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('submit and result', () => {
  it('types flow from the schemas to submit() and result(), and the result is consumed', async () => {
    const { ns } = await freshNamespace('submit');
    await startWorker(ns, { tasks: [add], concurrency: 2 });
    const client = clientOn(ns);
    const handle = await client.submit(add, { a: 2, b: 40 });
    const out = await handle.result({ timeout: '60s' });
    expectTypeOf(out).toEqualTypeOf<number>();
    expect(out).toBe(42);
    expect(await handle.result()).toBe(42); // cached on the handle
    expect(await ns.has(client.names('default').result(handle.id))).toBe(false);
    expect((await handle.status()).state).toBe('completed');
  });

  it('rejects invalid input at submit with the zod issues, storing nothing', async () => {
    const { ns } = await freshNamespace('invalid');
    const client = clientOn(ns);
    // @ts-expect-error: b must be a number
    const err = await client.submit(add, { a: 1, b: 'two' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues[0]?.path).toEqual(['b']);
    expect(await ns.list('*')).toEqual([]);
  });

  it('submitMany queues a batch and every task gets its result', async () => {
    const { ns } = await freshNamespace('many');
    await startWorker(ns, { tasks: [add], concurrency: 4 });
    const client = clientOn(ns);
    const handles = await client.submitMany(add, Array.from({ length: 200 }, (_, i) => ({ a: i, b: 1 })));
    const outs = await Promise.all(handles.map((h) => h.result()));
    expect(outs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(handles.map((h) => h.id)).size).toBe(200);
  });

  it('an output that does not match the schema fails the attempt', async () => {
    const { ns } = await freshNamespace('badout');
    await startWorker(ns, { tasks: [returnsBadOutput] });
    const handle = await clientOn(ns).submit(returnsBadOutput, {});
    const err = (await handle.result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.remoteName).toBe('InvalidOutputError');
    expect(err.attempts).toBe(2);
  });

  it('answers a JSON envelope put by a foreign program with a JSON result', async () => {
    const { ns } = await freshNamespace('json');
    await startWorker(ns, { tasks: [add] });
    await ns.put('q:{default}:pending', JSON.stringify({ id: 'from-c-1', task: 'add', input: { a: 20, b: 22 } }));
    const bytes = await ns.get('q:{default}:result:from-c-1', { timeout: '60s' });
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ k: 'r', id: 'from-c-1', ok: true, output: 42, attempts: 1 });
  });
});
