/**
 * P1: put/read/get through TypeScript against the same operations driven from C, 64 B values, with 1 and 32
 * requests in flight. Goal: every ratio >= 0.8.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import { cPeer, opsPerSecond } from '../measure.js';
import type { Target, TargetContext } from '../target.js';
import type { Measurement } from '../result.js';

const BATCH = 20_000;
const SIZE = 64;

async function tsRate(ns: Namespace, op: 'put' | 'read' | 'get', depth: number, seconds: number): Promise<number> {
  const value = Buffer.alloc(SIZE, 2);
  const one = op === 'put' ? () => ns.put('k', value) : op === 'read' ? () => ns.read('k', { timeout: 0 }) : () => ns.get('k', { timeout: 0 });
  const batch = async () => {
    if (depth === 1) for (let i = 0; i < BATCH; i++) await one();
    else {
      const inFlight: Promise<unknown>[] = new Array(depth);
      for (let i = 0; i < BATCH; i += depth) {
        for (let j = 0; j < depth; j++) inFlight[j] = one();
        await Promise.all(inFlight);
      }
    }
  };
  const untimed =
    op === 'get' ? () => ns.putMany(Array.from({ length: BATCH }, () => ['k', value] as const)) : op === 'put' ? () => ns.remove('k') : undefined;
  if (op === 'read') await ns.put('k', value);
  const rate = await opsPerSecond(seconds, BATCH, batch, untimed);
  await ns.remove('k');
  return rate;
}

export async function compareWithC(ctx: TargetContext, backend: string, server: string): Promise<Measurement[]> {
  const broker = new Broker({ server });
  const name = `bench-p1-${process.pid}`;
  const ns = await broker.create(name);
  const details: Measurement[] = [];
  for (const depth of [1, 32]) {
    for (const op of ['put', 'read', 'get'] as const) {
      const ours = await tsRate(ns, op, depth, ctx.seconds);
      const peer = cPeer(op, SIZE, depth, ctx.seconds, { ...process.env, DBR_SERVER: server === 'mem://' ? '' : server });
      details.push({ case: `${backend}: ${op} ${SIZE} B, ${depth} in flight`, ours, peer, ratio: ours / peer });
    }
  }
  await ns.close();
  await broker.delete(name);
  return details;
}

export const p1: Target = {
  id: 'P1',
  title: 'TS put/read/get through libdbr vs the same operations driven from C (64 B; 1 and 32 in flight)',
  async run(ctx) {
    const details = await compareWithC(ctx, 'mem', 'mem://');
    return {
      unit: 'ops/s',
      peerName: 'C driver of libdbr, same library, same run',
      goal: 'ratio >= 0.8 in every case',
      met: details.every((d) => d.ratio >= 0.8),
      details,
    };
  },
};
