import { describe, expect, it } from 'vitest';
import { backoffDelay, compileBackoff } from '../src/index.js';
import { calls, failsUntilThirdAttempt } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('retries', () => {
  it('retries a failing task until an attempt succeeds', async () => {
    const { ns } = await freshNamespace('retry');
    const worker = await startWorker(ns, { tasks: [failsUntilThirdAttempt] });
    const retries: number[] = [];
    worker.on('retrying', (e) => retries.push(e.attempt));
    const handle = await clientOn(ns).submit(failsUntilThirdAttempt, { value: 'x' });
    expect(await handle.result()).toEqual({ value: 'x', attempt: 3 });
    expect(calls.get(handle.id)).toBe(3);
    expect(retries).toEqual([1, 2]);
    expect(await ns.count('q:{default}:dead')).toBe(0);
  });

  it('backoff grows exponentially, is capped, and jitter only shortens it', () => {
    const b = compileBackoff({ delay: 100, max: 1000, jitter: 0.5 }, 'test');
    expect(backoffDelay(b, 2, () => 0)).toBe(100);
    expect(backoffDelay(b, 3, () => 0)).toBe(200);
    expect(backoffDelay(b, 4, () => 0)).toBe(400);
    expect(backoffDelay(b, 10, () => 0)).toBe(1000);
    expect(backoffDelay(b, 3, () => 1)).toBe(100);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(b, 3);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
    expect(backoffDelay(compileBackoff({ type: 'fixed', delay: '2s', jitter: 0 }, 't'), 7)).toBe(2000);
  });
});
