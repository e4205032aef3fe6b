/**
 * A worker's periodic maintenance of a queue is several chores: recovering dead workers' tasks, dropping
 * expired results, promoting delayed tasks, ringing for the hi and lo bands. One that fails on every pass
 * (here, recovery's listing of claim slots) must not stop the others: expired results are still dropped.
 */
import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { expireBucketOf, QueueNames } from '../src/protocol.js';
import { Worker } from '../src/index.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { freshNamespace, onCleanup, silent, until } from './support/harness.js';

const names = new QueueNames('default');

/** `ns` whose listing of claim slots always fails. */
function failingRecovery(ns: Namespace): Namespace {
  return new Proxy(ns, {
    get: (target, prop) => {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop !== 'list' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (pattern: string, ...rest: unknown[]) => (pattern === names.runPattern() ? Promise.reject(new Error('listing failed')) : (value as (...a: unknown[]) => unknown).call(target, pattern, ...rest));
    },
  });
}

describe('worker maintenance', () => {
  it('drops expired results although recovery fails on every pass', async () => {
    const { ns } = await freshNamespace('chores');
    const result = names.result('old-task');
    await ns.put(result, '{"k":"r"}');
    await ns.put(names.expire(expireBucketOf(Date.now() - 120_000)), result);
    const errors: string[] = [];
    const worker = new Worker({ tasks: [add], namespace: failingRecovery(ns), logger: silent, recoveryInterval: '50ms' });
    worker.on('error', (e) => errors.push(e.message));
    await worker.start();
    onCleanup(() => worker.close({ graceMs: 0 }));
    await until(async () => !(await ns.has(result)), 'the expired result to be dropped', 20_000);
    expect(errors).toContain('listing failed');
  });
});
