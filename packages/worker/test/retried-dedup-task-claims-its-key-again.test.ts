/**
 * A task with a dedup key releases the key when it fails for good. Retrying its dead letter makes it live
 * again, so the retry claims the key again: a submit with the key then gets the retried task. If another live
 * task owns the key by then, the retried task is requeued without the key, and the retry says so.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { classify, encode } from '../src/envelope.js';
import { defineTask, retryDeadLetter } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace } from './support/harness.js';

const names = new QueueNames('dedup-retry');

const keyed = defineTask({ name: 'dedup-retry-keyed', queue: 'dedup-retry', retries: 0, input: z.object({}), output: z.string(), run: () => 'ok' });

function letter(id: string): Uint8Array {
  const env = { id, task: keyed.name, input: {}, att: 1, at: Date.now(), ddp: 'K' };
  return encode({ k: 'd', id, task: keyed.name, queue: 'dedup-retry', error: { name: 'Error', message: 'x' }, attempts: 1, failedAt: Date.now(), env });
}

describe('retrying a dead letter whose task had a dedup key', () => {
  it('claims the key again: a submit with the key gets the retried task', async () => {
    const { ns } = await freshNamespace('dedup-retry');
    await ns.put(names.dead(), letter('first'));
    const retried = await retryDeadLetter(ns, 'dedup-retry', 'first');
    expect((await ns.tryRead(names.dedup('K')))?.toString('utf8')).toBe('first');
    expect(retried).toEqual({ env: expect.objectContaining({ id: 'first', ddp: 'K' }) });
    const again = await clientOn(ns).submit(keyed, {}, { dedupKey: 'K', id: 'second' });
    expect(again.id).toBe('first');
    expect(await ns.count(names.pending())).toBe(1);
  });

  it('requeues it without the key when another live task owns the key, and says which', async () => {
    const { ns } = await freshNamespace('dedup-retry-taken');
    await ns.put(names.dead(), letter('first'));
    const other = await clientOn(ns).submit(keyed, {}, { dedupKey: 'K', id: 'other' });
    const retried = await retryDeadLetter(ns, 'dedup-retry', 'first');
    expect(retried?.dedupKeyTakenBy).toBe(other.id);
    expect(retried?.env.ddp).toBeUndefined();
    expect((await ns.tryRead(names.dedup('K')))?.toString('utf8')).toBe('other');
    const requeued = [];
    for (let i = 0; i < (await ns.count(names.pending())); i++) {
      const s = classify((await ns.tryRead(names.pending(), { index: i }))!);
      if (s.kind === 'task' && s.env.id === 'first') requeued.push(s.env);
    }
    expect(requeued).toHaveLength(1);
    expect(requeued[0]!.ddp).toBeUndefined();
  });
});
