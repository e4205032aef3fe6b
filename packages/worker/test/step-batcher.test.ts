import type { Namespace, PopPutStep, StepOutcome } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { StepBatcher } from '../src/step-batcher.js';

/** A namespace that records its popPutMany requests (the only call the batcher makes). */
function recordingNamespace(log: string[]): Namespace {
  return {
    popPutMany: (steps: PopPutStep<Uint8Array>[]): Promise<StepOutcome[]> => {
      log.push(`request of ${steps.length}`);
      return Promise.resolve(steps.map(() => 'done' as StepOutcome));
    },
  } as unknown as Namespace;
}

describe('the step batcher', () => {
  it('sends the steps of one turn in one request', async () => {
    const log: string[] = [];
    const batcher = new StepBatcher(recordingNamespace(log));
    const outcomes = await Promise.all([batcher.run([{ pop: 'a' }]), batcher.run([{ pop: 'b' }, { pop: 'c' }])]);
    expect(log).toEqual(['request of 3']);
    expect(outcomes).toEqual([['done'], ['done', 'done']]);
  });

  it('resolves afterNextFlush once the request has left, with the steps queued after it in the same turn', async () => {
    const log: string[] = [];
    const batcher = new StepBatcher(recordingNamespace(log));
    const after = batcher.afterNextFlush().then(() => log.push('after the flush'));
    await Promise.resolve(); // a task finishes a few microtasks later
    const finished = batcher.run([{ pop: 'slot', put: 'result', value: Buffer.from('42') }]);
    await Promise.all([after, finished]);
    expect(log).toEqual(['request of 1', 'after the flush']);
  });

  it('resolves afterNextFlush with nothing to send, without a request', async () => {
    const log: string[] = [];
    const batcher = new StepBatcher(recordingNamespace(log));
    await batcher.afterNextFlush();
    expect(log).toEqual([]);
  });
});
