/**
 * Every task in a delayed bucket is counted by an entry in `q:{Q}:delays`; workers walk the buckets only while
 * the list holds entries. A promotion takes a task's entry just before it moves the task from its promotion
 * slot to its band. When that move fails (a dropped connection), the task stays in the slot, its entry already
 * taken; the next promotion forwards it first, and must not take a second entry for it: that entry counts
 * another delayed task, which would then be walked to only by the periodic sweep (minutes late).
 */
import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { DelayedPromoter, PROMOTION_SLOT } from '../src/delayed.js';
import { encode } from '../src/envelope.js';
import { DELAY_BUCKET_MS, QueueNames } from '../src/protocol.js';
import { freshNamespace, silent } from './support/harness.js';

const names = new QueueNames('default');

/** `ns`, whose first move to the normal band fails before it runs. */
function failingFirstMoveToBand(ns: Namespace): Namespace {
  let failed = false;
  return new Proxy(ns, {
    get: (target, prop) => {
      if (prop === 'moveValue') {
        return (from: string, dst: Namespace, to: string, options: object) => {
          if (!failed && to === names.pending()) {
            failed = true;
            return Promise.reject(new Error('connection lost'));
          }
          return target.moveValue(from, dst, to, options);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a promotion that fails midway', () => {
  it('leaves every task still delayed counted in the delays list', async () => {
    const { ns } = await freshNamespace('promote-resume');
    const promoter = new DelayedPromoter(failingFirstMoveToBand(ns), names, 'w-promotes', silent);
    const now = Date.now();
    const due = Math.floor(now / DELAY_BUCKET_MS) * DELAY_BUCKET_MS + DELAY_BUCKET_MS; // the walk's next bucket
    const later = due + 600_000; // ten minutes on
    await ns.putMany<Uint8Array | string>([
      [names.delayed(due), encode({ id: 'due-now', task: 'add', input: {}, att: 1, at: now, due })],
      [names.delays(), String(due)],
      [names.delayed(later), encode({ id: 'due-later', task: 'add', input: {}, att: 1, at: now, due: later })],
      [names.delays(), String(later)],
    ]);
    await expect(promoter.tick(due)).rejects.toThrow(/connection lost/);
    expect(await ns.count(names.run('w-promotes', PROMOTION_SLOT))).toBe(1);
    await promoter.tick(due + DELAY_BUCKET_MS); // forwards what the failed promotion left
    expect(await ns.count(names.pending())).toBe(1);
    expect(await ns.count(names.run('w-promotes', PROMOTION_SLOT))).toBe(0);
    expect(await ns.count(names.delayed(later))).toBe(1);
    expect(await ns.count(names.delays())).toBeGreaterThanOrEqual(1);
  });
});
