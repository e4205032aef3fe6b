/**
 * `dbr tasks retry` takes the dead letter into `q:{Q}:retrying:<id>` before it requeues the task. A retry that
 * fails or dies after that (a lost connection, a killed process) must not strand the task: the next retry of
 * the id finds the letter there and requeues it.
 */
import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { classify, encode } from '../src/envelope.js';
import { retryDeadLetter } from '../src/index.js';
import { locateTask } from '../src/inspect.js';
import { QueueNames } from '../src/protocol.js';
import { freshNamespace } from './support/harness.js';

const names = new QueueNames('interrupted');

function letter(id: string): Uint8Array {
  const env = { id, task: 't', input: { n: 1 }, att: 3, at: Date.now() };
  return encode({ k: 'd', id, task: 't', queue: 'interrupted', error: { name: 'Error', message: 'x' }, attempts: 3, failedAt: Date.now(), env });
}

/** `ns`, but every write that would requeue a task fails as a dropped connection does. */
function losingTheConnectionOnRequeue(ns: Namespace): Namespace {
  return new Proxy(ns, {
    get(target, prop, receiver) {
      if (prop === 'putMany' || prop === 'popPut') return async () => { throw new Error('simulated: connection lost'); };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('a retry interrupted after it took the dead letter', () => {
  it('is finished by the next retry of the id: the task is requeued once, with fresh attempts', async () => {
    const { ns } = await freshNamespace('retry-interrupted');
    await ns.put(names.dead(), letter('t1'));
    await expect(retryDeadLetter(losingTheConnectionOnRequeue(ns), 'interrupted', 't1')).rejects.toThrow('simulated');
    expect(await locateTask(ns, 'interrupted', 't1')).toEqual({ where: 'retrying' });

    const retried = await retryDeadLetter(ns, 'interrupted', 't1');
    expect(retried?.env).toMatchObject({ id: 't1', att: 1 });
    expect(await ns.count(names.pending())).toBe(1);
    expect(classify(await ns.read(names.pending(), { timeout: 0 }))).toMatchObject({ kind: 'task', env: { id: 't1', att: 1, input: { n: 1 } } });
    expect(await ns.has(names.retrying('t1'))).toBe(false);
    expect(await ns.count(names.dead())).toBe(0);
    expect(await retryDeadLetter(ns, 'interrupted', 't1')).toBeUndefined();
  });

  it('a letter a killed retry left in the scratch tuple is requeued by the next retry', async () => {
    const { ns } = await freshNamespace('retry-killed');
    await ns.put(names.retrying('t2'), letter('t2'));
    expect((await retryDeadLetter(ns, 'interrupted', 't2'))?.env.id).toBe('t2');
    expect(await locateTask(ns, 'interrupted', 't2')).toEqual({ where: 'pending', band: 'normal' });
    expect(await ns.has(names.retrying('t2'))).toBe(false);
  });
});
