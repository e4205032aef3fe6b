import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { Claimer, type ClaimHost } from '../src/claimer.js';
import { QueueNames } from '../src/protocol.js';
import { freshNamespace, onCleanup, until } from './support/harness.js';

/** A Claimer on a real namespace whose host records what it dispatches and frees each slot at once. */
function claimerOn(ns: Namespace, slotCount: number, capacity = slotCount) {
  const names = new QueueNames('claims');
  const dispatched: string[] = [];
  let stopping = false;
  let held = 0;
  const host: ClaimHost = {
    namespace: ns,
    stopping: () => stopping,
    wanted: (free) => Math.max(0, Math.min(capacity - held, free)),
    dispatch: (slots, values) => {
      held += slots.length;
      for (const [k, v] of values.entries()) {
        dispatched.push(v.toString());
        const slot = slots[k] as number;
        // the task ran and finished: empty its slot, then hand the slot back
        void ns.tryGet(claimer.slots[slot] as string).then(() => {
          held--;
          claimer.release(slot);
        });
      }
    },
    afterFinishesSent: () => new Promise((r) => setImmediate(r)),
    fail: (err) => {
      throw err;
    },
  };
  const claimer = new Claimer(names, 'w1', slotCount, host);
  const running = claimer.run();
  const stop = async () => {
    stopping = true;
    claimer.stop(new Error('stopped'));
    await running;
  };
  onCleanup(stop);
  return { names, dispatched, stop, running };
}

describe('the claimer', () => {
  it('takes the hi band first, then normal, then lo', async () => {
    const { ns } = await freshNamespace('claim-order');
    const names = new QueueNames('claims');
    await ns.putMany([
      [names.pending('lo'), 'lo1'],
      [names.pending('normal'), 'n1'],
      [names.pending('hi'), 'hi1'],
      [names.pending('normal'), 'n2'],
      [names.pending('hi'), 'hi2'],
    ]);
    const { dispatched } = claimerOn(ns, 8);
    await until(() => dispatched.length === 5, 'five claims');
    expect(dispatched).toEqual(['hi1', 'hi2', 'n1', 'n2', 'lo1']);
  });

  it('claims no more than its host wants, and again as slots come back', async () => {
    const { ns } = await freshNamespace('claim-capacity');
    const names = new QueueNames('claims');
    await ns.putMany(Array.from({ length: 20 }, (_, i) => [names.pending('normal'), `t${i}`] as [string, string]));
    const { dispatched } = claimerOn(ns, 4, 2);
    await until(() => dispatched.length === 20, 'all twenty claimed two at a time');
    expect(dispatched).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    expect(await ns.count(names.pending('normal'))).toBe(0);
  });

  it('blocks on the normal band when every band is empty, and a bell sends it back to look at the hi band', async () => {
    const { ns } = await freshNamespace('claim-block');
    const { names, dispatched } = claimerOn(ns, 4);
    await new Promise((r) => setTimeout(r, 100)); // it has looked, found nothing, and blocks
    await ns.put(names.pending('normal'), 'late');
    await until(() => dispatched.includes('late'), 'the blocked claim takes a late task');
    await new Promise((r) => setTimeout(r, 100)); // blocked again
    await ns.put(names.pending('hi'), 'urgent');
    await new Promise((r) => setTimeout(r, 150));
    expect(dispatched).not.toContain('urgent'); // the blocked claim watches the normal band only
    await ns.put(names.pending('normal'), 'bell');
    await until(() => dispatched.includes('urgent'), 'the bell wakes the claim and the next look takes the hi task');
    expect(dispatched).toEqual(['late', 'bell', 'urgent']);
  });

  it('stop() ends a blocked claim; a task put afterwards stays queued', async () => {
    const { ns } = await freshNamespace('claim-stop');
    const { names, dispatched, stop } = claimerOn(ns, 2);
    await new Promise((r) => setTimeout(r, 100));
    await stop();
    await ns.put(names.pending('normal'), 'after');
    await new Promise((r) => setTimeout(r, 100));
    expect(dispatched).toEqual([]);
    expect(await ns.count(names.pending('normal'))).toBe(1);
  });
});
