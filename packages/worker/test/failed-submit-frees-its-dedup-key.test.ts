import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, TaskClient } from '../src/index.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const bigSquare = defineTask({
  name: 'big-square',
  input: z.object({ n: z.bigint() }),
  output: z.bigint(),
  run: ({ n }) => n * n,
});

const KEY = 'q:{default}:dedup:nightly';

const PUTS = ['put', 'putMany'];

/** `ns` as a client sees it, with each of `methods` running `beforeFailing` and then rejecting. */
function withFailing(ns: Namespace, methods: string[], beforeFailing: () => Promise<void> = async () => undefined): Namespace {
  const fail = async () => {
    await beforeFailing();
    throw new Error('connection lost');
  };
  return new Proxy(ns, {
    get: (target, prop) => {
      if (methods.includes(prop as string)) return fail;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a submit that fails does not keep its dedup key', () => {
  it('an input msgpack cannot encode claims no key: the next submit with the key runs', async () => {
    const { ns } = await freshNamespace('dedup-encode');
    await startWorker(ns, { tasks: [bigSquare] });
    const client = clientOn(ns);
    await expect(client.submit(bigSquare, { n: 2n ** 80n }, { dedupKey: 'nightly' })).rejects.toThrow(/too large/);
    expect(await ns.has(KEY)).toBe(false);
    const handle = await client.submit(bigSquare, { n: 5n }, { dedupKey: 'nightly' });
    expect(await handle.result({ timeout: '20s' })).toBe(25n);
  });

  it('a put that fails releases the key it claimed', async () => {
    const { ns } = await freshNamespace('dedup-put');
    const client = new TaskClient({ namespace: withFailing(ns, PUTS) });
    await expect(client.submit(bigSquare, { n: 3n }, { dedupKey: 'nightly' })).rejects.toThrow(/connection lost/);
    expect(await ns.has(KEY)).toBe(false);
    expect(await ns.count('q:{default}:pending')).toBe(0);
  });

  it('the release leaves a key another submit claimed since', async () => {
    const { ns } = await freshNamespace('dedup-owner');
    // as if the put went through after all, and the task ended and a new submit took the key before the error came back
    const client = new TaskClient({
      namespace: withFailing(ns, PUTS, async () => {
        await ns.remove(KEY);
        await ns.put(KEY, 'later-task');
      }),
    });
    await expect(client.submit(bigSquare, { n: 3n }, { dedupKey: 'nightly' })).rejects.toThrow(/connection lost/);
    expect((await ns.tryRead(KEY))?.toString('utf8')).toBe('later-task');
  });

  it('a key that cannot be released either is named in the error, with how to free it', async () => {
    const { ns } = await freshNamespace('dedup-stuck');
    const client = new TaskClient({ namespace: withFailing(ns, [...PUTS, 'tryRead']) });
    const err = await client.submit(bigSquare, { n: 3n }, { dedupKey: 'nightly' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).message).toMatch(/connection lost.*remove q:\{default\}:dedup:nightly before submitting with that key again/);
  });
});
