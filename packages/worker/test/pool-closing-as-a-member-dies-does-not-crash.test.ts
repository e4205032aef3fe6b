/**
 * A pool asks its members to shut down by message. A member that died a moment before (killed, out of memory)
 * but whose exit the pool has not seen yet still looks connected, so the message is written to a closed
 * channel: the ChildProcess then emits 'error' (EPIPE), which, unheard, crashes the pool's process instead of
 * letting it shut down. Processes only (Redis): threads take messages through a port.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WorkerPool } from '../src/pool.js';
import { freshNamespace, onCleanup, onRedis, silent, until } from './support/harness.js';

const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));

describe('closing a pool', () => {
  it.skipIf(!onRedis)('as a member dies, the pool neither crashes nor hangs (Redis, processes)', async () => {
    const { ns, name } = await freshNamespace('pool-close-race');
    const pool = new WorkerPool({ member: { tasksModule, concurrency: 1, namespace: name, logLevel: 'silent' }, size: 1, kind: 'processes', log: silent, restartDelayMs: 60_000 });
    pool.start();
    onCleanup(() => pool.forceKill());
    await until(async () => (await ns.list('worker:*')).length === 1, 'the member to beat');
    const [pid] = pool.pids();
    process.kill(pid as number, 'SIGKILL');
    // the member is gone, but the pool has not run its exit handler yet (this thread is busy)
    const end = Date.now() + 500;
    while (Date.now() < end) {
      /* busy */
    }
    const errors: unknown[] = [];
    const onUncaught = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      await pool.close();
      await new Promise((r) => setTimeout(r, 100)); // an 'error' event is emitted a tick later
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(errors).toEqual([]);
    expect(pool.pids().length).toBe(1); // the member was not restarted
  });
});
