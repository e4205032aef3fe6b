/**
 * close() requeues the tasks a worker claimed ahead (prefetch) and lets running ones finish for the grace
 * period. Steps that deliver or requeue a task are repeated while they fail, until the grace ends: the requeue
 * of claimed-ahead tasks too. With the server gone for good (every request fails), close() must still end
 * soon after the grace, leaving the claimed tasks leased (recovered once its heartbeat lapses), not repeat the
 * requeue forever.
 */
import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { Worker } from '../src/index.js';
import { sleepy } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, onCleanup, silent, until } from './support/harness.js';

/** `ns` with a switch: once `down`, every call of a method rejects, as with a server that is gone. */
function severable(ns: Namespace): { ns: Namespace; cut: () => void } {
  let down = false;
  const proxy = new Proxy(ns, {
    get: (target, prop) => {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (down ? Promise.reject(new Error('connection lost')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { ns: proxy, cut: () => (down = true) };
}

describe('close() while the server is gone', () => {
  it('ends soon after the grace although a claimed-ahead task cannot be requeued', async () => {
    const { ns } = await freshNamespace('close-gone');
    const link = severable(ns);
    const worker = new Worker({ tasks: [sleepy], namespace: link.ns, logger: silent, concurrency: 1, prefetch: 1, leaseTtl: '2s' });
    onCleanup(() => worker.close({ graceMs: 0 }).catch(() => undefined));
    await clientOn(ns).submitMany(sleepy, [
      { n: 1, ms: 60_000 },
      { n: 2, ms: 60_000 },
    ]);
    await worker.start();
    await until(() => worker.activeCount === 2, 'one task running and one claimed ahead');
    link.cut();
    const closed = worker.close({ graceMs: 200 }).then(() => 'closed');
    const timedOut = new Promise<string>((resolve) => setTimeout(() => resolve('still closing'), 30_000).unref());
    expect(await Promise.race([closed, timedOut])).toBe('closed');
  });
});
