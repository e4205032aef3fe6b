/**
 * P1: put/read/get through TypeScript against the same operations driven from C, 64 B values, with 1 and 32
 * requests in flight. Goal: every ratio >= 0.8.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import { cPeer, median, opsPerSecond, rawRedis } from '../measure.js';
import type { Target } from '../target.js';
import type { Measurement } from '../result.js';

const BATCH = 20_000;
const ROUNDS = 5;
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
  // get refills untimed from one prepared batch, as the C driver refills from one packed buffer
  const refill = op === 'get' ? Array.from({ length: BATCH }, () => ['k', value] as const) : [];
  const untimed = op === 'get' ? () => ns.putMany(refill) : op === 'put' ? () => ns.remove('k') : undefined;
  if (op === 'read') await ns.put('k', value);
  const rate = await opsPerSecond(seconds, BATCH, batch, untimed);
  await ns.remove('k');
  return rate;
}

export const p1: Target = {
  id: 'P1',
  title: 'TS put/read/get through libdbr vs the same operations driven from C (64 B; 1 and 32 in flight)',
  backends: ['mem', 'redis'],
  async run(ctx) {
    const broker = new Broker();
    const name = `bench-p1-${process.pid}`;
    const ns = await broker.create(name);
    const details: Measurement[] = [];
    for (const depth of [1, 32]) {
      for (const op of ['put', 'read', 'get'] as const) {
        // Interleaved rounds, medians of each side: this shared box drifts by a third within seconds, and a
        // drift that lands on one side's only window would decide the ratio.
        const ours: number[] = [];
        const peer: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          ours.push(await tsRate(ns, op, depth, ctx.seconds / ROUNDS));
          peer.push(cPeer(op, SIZE, depth, ctx.seconds / ROUNDS));
        }
        const o = median(ours);
        const p = median(peer);
        details.push({ case: `${ctx.backend}: ${op} ${SIZE} B, ${depth} in flight`, ours: o, peer: p, ratio: o / p });
      }
    }
    await ns.close();
    await broker.delete(name);
    const onMem = ctx.backend === 'mem';
    let raw = '';
    if (!onMem) {
      const rates = rawRedis(ctx.server, process.env.DBR_AUTHFILE, 32, ['rpush', 'lpop']);
      raw = ` Raw Redis on the same server (redis-benchmark, one connection, -P 32, 64 B): RPUSH ${Math.round(rates.RPUSH ?? 0)}/s, LPOP ${Math.round(rates.LPOP ?? 0)}/s.`;
    }
    return {
      unit: 'ops/s',
      peerName: 'C driver of libdbr, same library, same run',
      goal: 'ratio >= 0.8 on Redis (mem: informational)',
      met: onMem || details.every((d) => d.ratio >= 0.8),
      details,
      notes: onMem
        ? 'On the embedded backend one C call costs tens of nanoseconds, so the ratio measures the cost of a JS promise and a koffi call per operation; the 0.8 goal applies where the backend does I/O.'
        : raw.trim(),
    };
  },
};
