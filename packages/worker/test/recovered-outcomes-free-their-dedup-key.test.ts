/**
 * A dedup key is released when its task ends. A worker that dies after staging a final outcome in its outbox
 * (a dead letter and a failed result, or a cancelled result) and before releasing the key leaves the key to
 * the recoverer, which forwards those outcomes: it must release the key too, or every later submit with the
 * key gets a handle on the finished task (whose result expires after resultTtl, and then waits forever).
 * The dead worker's leftovers are made here the way it leaves them; it has no heartbeat.
 */
import { describe, expect, it } from 'vitest';
import type { Namespace } from '@tsdbr/core';
import { decode, encode, type DeadLetter, type ResultEnvelope, type TaskEnvelope } from '../src/envelope.js';
import { QueueNames } from '../src/protocol.js';
import { calls, countsCalls } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const names = new QueueNames('default');
const KEY = 'nightly';

/** Claims the submitted task into the dead worker's slot 0, as its claim would have. */
async function claimedByDeadWorker(ns: Namespace): Promise<TaskEnvelope> {
  return decode(await ns.moveValue(names.pending(), ns, names.run('w-dead', 0))) as TaskEnvelope;
}

describe('recovering the staged outcome of a task with a dedup key', () => {
  it('a dead letter and failed result: the key is released, and the next submit with it runs a new task', async () => {
    const { ns } = await freshNamespace('rec-dedup-dead');
    const client = clientOn(ns);
    const first = await client.submit(countsCalls, { key: 'rec-dead' }, { dedupKey: KEY });
    const env = await claimedByDeadWorker(ns);
    const error = { name: 'Error', message: 'the disk is full' };
    const letter: DeadLetter = { k: 'd', id: env.id, task: env.task, queue: 'default', error, attempts: 1, failedAt: Date.now(), env };
    const result: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, error, attempts: 1, finishedAt: Date.now() };
    await ns.putMany([
      [names.outbox('w-dead', 0), encode(letter)],
      [names.outbox('w-dead', 0), encode(result)],
    ]);
    await ns.tryGet(names.run('w-dead', 0)); // it had popped its slot, too
    await startWorker(ns, { tasks: [countsCalls], recoveryInterval: '50ms' });
    await expect(first.result({ timeout: '20s' })).rejects.toThrow(/the disk is full/);
    // the recoverer releases the key after forwarding the outbox
    await until(async () => (await ns.list(names.outboxPattern())).length === 0 && !(await ns.has(names.dedup(KEY))), 'the outbox to be forwarded and the key released');
    const second = await client.submit(countsCalls, { key: 'rec-dead' }, { dedupKey: KEY });
    expect(second.id).not.toBe(first.id);
    expect(await second.result({ timeout: '20s' })).toBeDefined();
    expect(calls.get('rec-dead')).toBe(1);
  });

  it('a cancelled result, its task still in the slot: the key is released', async () => {
    const { ns } = await freshNamespace('rec-dedup-cancel');
    const client = clientOn(ns);
    const first = await client.submit(countsCalls, { key: 'rec-cancel' }, { dedupKey: KEY });
    const env = await claimedByDeadWorker(ns);
    const result: ResultEnvelope = { k: 'r', id: env.id, task: env.task, ok: false, error: { name: 'TaskCancelledError', message: 'cancelled' }, cancelled: true, attempts: 1, finishedAt: Date.now() };
    await ns.put(names.outbox('w-dead', 0), encode(result));
    await startWorker(ns, { tasks: [countsCalls], recoveryInterval: '50ms' });
    await expect(first.result({ timeout: '20s' })).rejects.toThrow(/cancelled/);
    // the recoverer releases the key after forwarding the outbox
    await until(async () => (await ns.list(names.outboxPattern())).length === 0 && !(await ns.has(names.dedup(KEY))), 'the outbox to be forwarded and the key released');
    expect(await ns.list(names.runPattern())).toEqual([]);
    const second = await client.submit(countsCalls, { key: 'rec-cancel' }, { dedupKey: KEY });
    expect(second.id).not.toBe(first.id);
    expect(await second.result({ timeout: '20s' })).toBeDefined();
    expect(calls.get('rec-cancel')).toBe(1);
  });
});
