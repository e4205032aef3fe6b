/**
 * P5: 64 MiB tuples, put+get through TypeScript against the same pairs driven from C, on Redis.
 * "No extra copy in TS": the value goes from the caller's Buffer to the wire, and from libdbr straight into
 * the Buffer returned by get.
 */
import { Broker } from '@tsdbr/core';
import { cPeer, opsPerSecond } from '../measure.js';
import type { Target } from '../target.js';

const SIZE = 64 << 20;

export const p5: Target = {
  id: 'P5',
  title: '64 MiB tuples: TS put+get vs C, on Redis',
  backends: ['redis'],
  async run({ seconds }) {
    const broker = new Broker();
    const name = `bench-p5-${process.pid}`;
    const ns = await broker.create(name);
    const value = Buffer.alloc(SIZE, 5);
    const pair = async () => {
      await ns.put('big', value);
      const back = await ns.get('big');
      if (back.length !== SIZE) throw new Error(`got ${back.length} bytes`);
    };
    await pair(); // warm-up
    const ours = await opsPerSecond(Math.max(seconds, 2), 1, pair);
    await ns.close();
    await broker.delete(name);
    const peer = cPeer('putget', SIZE, 1, Math.max(seconds, 2));
    return {
      unit: 'pairs/s',
      peerName: 'C driver of libdbr (dbrPut + dbrGet), same Redis',
      goal: 'ratio >= 0.8',
      met: ours / peer >= 0.8,
      details: [{ case: 'redis: put+get 64 MiB', ours, peer, ratio: ours / peer }],
    };
  },
};
