/**
 * A worker judges others' liveness by the heartbeats of the workers whose slots it finds, keeping the last
 * heartbeat it saw of each (with up to 256 running tasks). A worker that leaves cleanly takes its slots with
 * it, so it is never looked at again: what was kept about it must go too, or a long-running worker watching a
 * fleet that comes and goes (batch jobs, pool restarts) grows by one heartbeat per worker that ever ran.
 */
import { describe, expect, it } from 'vitest';
import { type HeartbeatValue, LivenessTracker } from '../src/lease.js';
import { freshNamespace } from './support/harness.js';

const LEASE_MS = 1_000;

function beat(id: string, seq: number, now: number): string {
  const hb: HeartbeatValue = { id, host: 'h', pid: 1, startedAt: 0, lastBeat: now, seq, leaseTtlMs: LEASE_MS, queues: ['default'], concurrency: 1, tasks: [{ id: `${id}-task`, task: 'add', queue: 'default', attempt: 1, startedAt: now }], stats: { claimed: 1, completed: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, recovered: 0 } };
  return JSON.stringify(hb);
}

describe('the liveness tracker', () => {
  it('forgets a worker it has not looked at for many leases', async () => {
    const { ns } = await freshNamespace('liveness-forgets');
    const tracker = new LivenessTracker(ns, LEASE_MS);
    const t0 = Date.now();
    await ns.put('worker:gone', beat('gone', 1, t0));
    expect(await tracker.isAlive('gone', t0)).toBe(true);
    expect(tracker.runningAtLastBeat('gone').has('gone-task')).toBe(true);
    await ns.remove('worker:gone'); // it left cleanly, with its slots: nobody asks about it again
    // an hour of recovery passes over another worker's slots
    for (let k = 1; k <= 7200; k += 100) {
      const now = t0 + k * (LEASE_MS / 2);
      await ns.remove('worker:busy');
      await ns.put('worker:busy', beat('busy', k, now));
      expect(await tracker.isAlive('busy', now)).toBe(true);
    }
    expect(tracker.runningAtLastBeat('gone').size).toBe(0);
  });
});
