/**
 * Task ids are unique per queue only. A worker's heartbeat lists the tasks it runs with their queue, so
 * status() (and `dbr tasks inspect`) of a task waiting in one queue must not report another queue's running
 * task of the same id.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, TaskHandle } from '../src/index.js';
import { QueueNames, WORKER_PATTERN } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const hangs = defineTask({
  name: 'same-id-hangs',
  queue: 'served',
  input: z.object({}),
  output: z.string(),
  run: (_input, ctx) => new Promise<string>((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
});
const unserved = defineTask({ name: 'same-id-unserved', queue: 'unserved', input: z.object({}), output: z.string(), run: () => 'x' });

describe('status() of a task whose id another queue\'s running task has too', () => {
  it('says queued for the waiting one and running for the running one', async () => {
    const { ns } = await freshNamespace('same-id');
    const client = clientOn(ns);
    await startWorker(ns, { tasks: [hangs], queues: ['served'] });
    await client.submit(hangs, {}, { id: 'same' });
    await client.submit(unserved, {}, { id: 'same' });
    await until(async () => {
      for (const name of await ns.list(WORKER_PATTERN)) if ((await ns.tryRead(name))?.toString('utf8').includes('"same"')) return true;
      return false;
    }, 'a heartbeat listing the running task', 20_000);
    expect((await new TaskHandle(ns, new QueueNames('unserved'), 'same', true).status()).state).toBe('queued');
    expect((await new TaskHandle(ns, new QueueNames('served'), 'same', true).status()).state).toBe('running');
  });
});
