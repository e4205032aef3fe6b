/**
 * P6: Redis memory per waiting task with a 100-byte payload, no worker: INFO used_memory before and after
 * enqueueing N tasks, divided by N; ours (TaskClient.submitMany) vs BullMQ (Queue.addBulk, default job options).
 * Goal: ours <= 0.4x BullMQ's.
 */
import { Queue } from 'bullmq';
import { BATCH, Systems } from '../queues.js';
import { BACKLOG_QUEUE, parked } from '../peers/tasks.js';
import type { Target } from '../target.js';

const PAYLOAD = 'x'.repeat(100);

export const p6: Target = {
  id: 'P6',
  title: 'Redis memory per waiting task (100-byte payload), vs BullMQ',
  backends: ['redis'],
  async run({ quick, server }) {
    const n = quick ? 20_000 : 100_000;
    const sys = new Systems(server);
    await sys.open();
    const queue = new Queue(BACKLOG_QUEUE, { connection: { ...sys.redis } });
    let ours = NaN;
    let bull = NaN;
    try {
      await queue.waitUntilReady();
      await queue.add('warm', {}); // BullMQ's per-queue keys (meta, id counter, events) exist before the count
      await queue.obliterate({ force: true });
      await queue.add('warm', {});
      await queue.drain();

      const before = await sys.usedMemory();
      for (let i = 0; i < n; i += BATCH) await sys.client.submitMany(parked, Array.from({ length: Math.min(BATCH, n - i) }, () => ({ p: PAYLOAD })));
      ours = ((await sys.usedMemory()) - before) / n;
      await sys.ns.remove(`q:{${BACKLOG_QUEUE}}:pending`);

      const before2 = await sys.usedMemory();
      for (let i = 0; i < n; i += BATCH) await queue.addBulk(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ name: 'parked', data: { p: PAYLOAD } })));
      bull = ((await sys.usedMemory()) - before2) / n;
      if ((await queue.getWaitingCount()) !== n) throw new Error('bullmq: not every job is waiting');
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      await sys.close();
    }
    return {
      unit: 'bytes/task',
      peerName: 'BullMQ Queue.addBulk, default job options, same Redis',
      goal: 'ratio <= 0.4',
      met: ours / bull <= 0.4,
      details: [{ case: `redis: used_memory per waiting task, 100-byte payload (${n} tasks)`, ours, peer: bull, ratio: ours / bull }],
      notes:
        'Ours: a msgpack envelope {id, task, input, att, at} appended to q:{Q}:pending (one list). BullMQ: a job hash + an entry in the wait list + ' +
        'its share of the events stream (capped at ~10,000 entries). addBulk stores the same per job as add.',
    };
  },
};
