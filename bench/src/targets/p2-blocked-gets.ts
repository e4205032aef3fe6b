/**
 * P2: 1,000 concurrent blocked gets in one process, on Redis: extra native threads, CPU while idle, and the
 * p50 delay from a put (by another client) to the waiter's wake-up.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Broker } from '@tsdbr/core';
import { percentile } from '../measure.js';
import type { Target } from '../target.js';

const WAITERS = 1000;

function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

export const p2: Target = {
  id: 'P2',
  title: '1,000 concurrent blocked gets in one process: extra threads, idle CPU, wake latency',
  backends: ['redis'],
  async run({ seconds, server }) {
    const broker = new Broker();
    const name = `bench-p2-${process.pid}`;
    const ns = await broker.create(name);
    await ns.put('warm', 'x');
    await ns.get('warm');
    const threadsBefore = threadCount();
    const woken = new Map<number, number>();
    const gets = Array.from({ length: WAITERS }, (_, i) =>
      ns.get(`w${i}`, { timeout: 'infinite' }).then(() => woken.set(i, performance.now())),
    );
    await sleep(500);
    const threadsDuring = threadCount() - threadsBefore;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(Math.max(2, seconds) * 1000);
    const cpu = process.cpuUsage(cpu0);
    const idleCorePct = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;

    // Wake-ups: another client (redis-cli, a separate process) puts; the put time is taken when it returns,
    // so the measured delay is an upper bound of put -> wake.
    const port = server.split(':').pop() as string;
    const auth = process.env.DBR_AUTHFILE ? ['-a', execFileSync('cat', [process.env.DBR_AUTHFILE], { encoding: 'utf8' }).trim(), '--no-auth-warning'] : [];
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const before = performance.now();
      execFileSync('redis-cli', ['-p', port, ...auth, 'RPUSH', `${name}::w${i}`, 'v']);
      const after = performance.now();
      while (!woken.has(i)) await sleep(0);
      delays.push(Math.max(0, (woken.get(i) as number) - after));
      void before;
    }
    // And from this process: put here, wake there.
    const local: number[] = [];
    for (let i = 100; i < WAITERS; i++) {
      const before = performance.now();
      await ns.put(`w${i}`, 'v');
      while (!woken.has(i)) await sleep(0);
      local.push((woken.get(i) as number) - before);
    }
    await Promise.all(gets);
    delays.sort((a, b) => a - b);
    local.sort((a, b) => a - b);
    await ns.close();
    await broker.delete(name);
    const p50 = percentile(delays, 50);
    const met = threadsDuring <= 8 && idleCorePct < 2 && percentile(local, 50) <= 1;
    return {
      unit: 'see case',
      peerName: 'the goals of DESIGN.md (no peer runs 1,000 blocked gets without a thread or connection each)',
      goal: '<= 8 extra threads, < 2% of a core idle, p50 wake <= 1 ms',
      met,
      details: [
        { case: 'redis: extra native threads with 1,000 gets waiting', ours: threadsDuring, peer: 8, ratio: 8 / Math.max(1, threadsDuring) },
        { case: 'redis: CPU while 1,000 gets wait, % of a core', ours: idleCorePct, peer: 2, ratio: 2 / Math.max(0.01, idleCorePct) },
        { case: 'redis: p50 put (this process) -> wake, ms', ours: percentile(local, 50), peer: 1, ratio: 1 / Math.max(0.001, percentile(local, 50)) },
        { case: 'redis: p50 RPUSH by redis-cli returned -> wake, ms', ours: p50, peer: 1, ratio: 1 / Math.max(0.001, p50) },
      ],
      notes: `threads before the gets: ${threadsBefore}; p99 local wake ${percentile(local, 99).toFixed(3)} ms`,
    };
  },
};
