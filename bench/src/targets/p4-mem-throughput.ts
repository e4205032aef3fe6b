/**
 * P4: put+get pairs of 64 B per second through the embedded backend, from one Node thread.
 * Peer: the same pairs driven from C through the same library, in the same run.
 */
import { Broker } from '@tsdbr/core';
import { cPeer, opsPerSecond } from '../measure.js';
import type { Target } from '../target.js';

const BATCH = 20_000;

export const p4: Target = {
  id: 'P4',
  title: 'mem backend: put+get pairs of 64 B per second, one Node thread',
  backends: ['mem'],
  async run({ seconds }) {
    const broker = new Broker();
    const name = `bench-p4-${process.pid}`;
    const ns = await broker.create(name);
    const value = Buffer.alloc(64, 1);
    const pairs = async () => {
      for (let i = 0; i < BATCH; i++) {
        await ns.put('k', value);
        await ns.get('k');
      }
    };
    await opsPerSecond(Math.min(1, seconds / 4), BATCH, pairs); // warm-up
    const ours = await opsPerSecond(seconds, BATCH, pairs);
    await ns.close();
    await broker.delete(name);
    const peer = cPeer('putget', 64, 1, seconds);
    return {
      unit: 'pairs/s',
      peerName: 'C driver of libdbr (dbrPut + dbrGet)',
      goal: '>= 1,000,000 pairs/s',
      met: ours >= 1_000_000,
      details: [{ case: 'put+get 64 B, 1 in flight', ours, peer, ratio: ours / peer }],
    };
  },
};
