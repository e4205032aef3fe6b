/**
 * locateTask reads a task's places in the order a task moves forward (bands, then claim slots, then outboxes).
 * A task can move back: a failed attempt's retry, a release at shutdown or a recovery puts it from a slot in
 * its band again. When that happens during the search, the task is not where the search still looks: it
 * searches again before saying the task is nowhere (`tasks cancel` would say "no task", `submit --id` would
 * accept a duplicate id).
 */
import type { Namespace } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { encode } from '../src/envelope.js';
import { locateTask } from '../src/inspect.js';
import { finishSlot, taskDelivery } from '../src/outcome.js';
import { QueueNames } from '../src/protocol.js';
import { freshNamespace } from './support/harness.js';

const names = new QueueNames('mover');

describe('locateTask', () => {
  it('finds a claimed task that its worker requeues after the bands were searched', async () => {
    const { ns } = await freshNamespace('locate-mover');
    const env = { id: 'mover', task: 't', input: {}, att: 1, at: Date.now() };
    await ns.put(names.run('w1', 0), encode(env));
    let moved = false;
    // the worker's attempt fails and it requeues the task just as the search lists the claim slots
    const racing = new Proxy(ns, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === 'list') {
          return async (pattern: string, ...rest: unknown[]) => {
            if (pattern === names.runPattern() && !moved) {
              moved = true;
              await finishSlot(target, names, names.run('w1', 0), names.outbox('w1', 0), [taskDelivery(names, { ...env, att: 2 }, false)]);
            }
            return (v as Namespace['list']).call(target, pattern, ...(rest as [{ limit?: number }]));
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    expect(await locateTask(racing, 'mover', 'mover')).toEqual({ where: 'pending', band: 'normal' });
  });

  it('still says nowhere for a task that is nowhere', async () => {
    const { ns } = await freshNamespace('locate-nowhere');
    expect(await locateTask(ns, 'mover', 'nobody')).toBeUndefined();
  });
});
