/**
 * P7: cost grows no faster than the work.
 *  (a) tasks/s with 1, 2 and 4 worker processes (concurrency 16 each) on this 2-core box, ours vs BullMQ:
 *      ours must not drop from 1 to 2 to 4 (each step >= 0.9x the previous, for noise); medians of 3
 *      interleaved rounds after a warm-up of all four processes.
 *  (b) submit -> result latency (one at a time) with 1k, 100k and (full run) 1M tasks waiting in another
 *      queue of the same namespace / Redis: flat (p50 at the largest <= 1.5x p50 at the smallest).
 *      BullMQ is measured up to 100k waiting jobs (enqueueing 1M with addBulk alone takes over a minute).
 *  (c) walking a namespace of 1M names (200k in --quick) with Namespace.keys(): ms per 1,000 names at the
 *      start and at the end of the walk (median of 10 chunks each), on mem and on redis: end/start <= 1.5.
 */
import { Queue } from 'bullmq';
import { Broker } from '@tsdbr/core';
import { median, percentile } from '../measure.js';
import { BATCH, Systems } from '../queues.js';
import { BACKLOG_QUEUE, parked } from '../peers/tasks.js';
import type { Measurement } from '../result.js';
import type { Target, TargetContext } from '../target.js';

const PAYLOAD = 'x'.repeat(100);
/** Interleaved rounds of (a); each case compares medians. */
const ROUNDS = 3;
const CHUNK = 1000;

async function walk(ctx: TargetContext): Promise<Measurement> {
  const total = ctx.quick ? 200_000 : 1_000_000;
  const broker = new Broker();
  const name = `bench-p7c-${process.pid}`;
  const ns = await broker.create(name);
  const value = Buffer.from('v');
  try {
    for (let i = 0; i < total; i += 10_000) {
      await ns.putMany(Array.from({ length: Math.min(10_000, total - i) }, (_, j) => [`n${(i + j).toString().padStart(8, '0')}`, value] as const));
    }
    const marks: number[] = [performance.now()];
    let seen = 0;
    for await (const _ of ns.keys()) {
      if (++seen % CHUNK === 0) marks.push(performance.now());
    }
    if (seen !== total) throw new Error(`keys() walked ${seen} names of ${total}`);
    const chunks = marks.slice(1).map((t, i) => t - (marks[i] as number));
    const k = Math.max(10, Math.floor(chunks.length / 20)); // median of the first and last 5% of the walk
    const start = median(chunks.slice(0, k));
    const end = median(chunks.slice(-k));
    return { case: `(c) ${ctx.backend}: keys() ms per 1,000 names, end of the walk vs start (${total / 1000}k names; ratio end/start)`, ours: end, peer: start, ratio: end / start };
  } finally {
    await ns.remove({ template: '*' }).catch(() => undefined);
    await ns.close();
    await broker.delete(name).catch(() => undefined);
    await broker.close();
  }
}

export const p7: Target = {
  id: 'P7',
  title: 'cost grows no faster than the work: worker processes 1/2/4, latency with 1k..1M waiting, namespace walk',
  backends: ['redis', 'mem'],
  async run(ctx) {
    const details: Measurement[] = [];
    let met = true;
    if (ctx.backend === 'redis') {
      const n = ctx.quick ? 5_000 : 20_000;
      const samples = ctx.quick ? 200 : 1_000;
      const sys = new Systems(ctx.server);
      await sys.open();
      const backlog = new Queue(BACKLOG_QUEUE, { connection: { ...sys.redis } });
      try {
        // (a)
        await sys.hosts.ensure(4);
        // a discarded warm-up on all four processes, then interleaved rounds: a process's first tasks run
        // unoptimized code, and only the 4-process case would otherwise start on two cold processes
        await sys.oursThroughput(4, 16, n / 4);
        await sys.bullThroughput(4, 16, n / 4);
        const rates: Record<number, { ours: number[]; bull: number[] }> = { 1: { ours: [], bull: [] }, 2: { ours: [], bull: [] }, 4: { ours: [], bull: [] } };
        for (let round = 0; round < ROUNDS; round++) {
          for (const procs of [1, 2, 4]) {
            rates[procs]!.ours.push((await sys.oursThroughput(procs, 16, n)).rate);
            rates[procs]!.bull.push((await sys.bullThroughput(procs, 16, n)).rate);
          }
        }
        const tps: Record<number, { ours: number; bull: number }> = {};
        for (const procs of [1, 2, 4]) {
          const ours = median(rates[procs]!.ours);
          const bull = median(rates[procs]!.bull);
          tps[procs] = { ours, bull };
          details.push({ case: `(a) tasks/s, ${procs} worker process${procs > 1 ? 'es' : ''} x concurrency 16 (${n} tasks, median of ${ROUNDS})`, ours, peer: bull, ratio: ours / bull });
        }
        const s = (who: 'ours' | 'bull', a: number, b: number) => (tps[a] as Record<string, number>)[who]! / (tps[b] as Record<string, number>)[who]!;
        details.push({ case: '(a) scaling tasks/s(4 processes)/tasks/s(1): ours vs BullMQ', ours: s('ours', 4, 1), peer: s('bull', 4, 1), ratio: s('ours', 4, 1) / s('bull', 4, 1) });
        details.push({ case: '(a) scaling tasks/s(2 processes)/tasks/s(1): ours vs BullMQ', ours: s('ours', 2, 1), peer: s('bull', 2, 1), ratio: s('ours', 2, 1) / s('bull', 2, 1) });
        met &&= s('ours', 2, 1) >= 0.9 && s('ours', 4, 2) >= 0.9;

        // (b)
        const sizes = ctx.quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
        const bullMax = ctx.quick ? 20_000 : 100_000;
        const p50: { ours: number[]; bull: number[] } = { ours: [], bull: [] };
        let oursWaiting = 0;
        let bullWaiting = 0;
        for (const size of sizes) {
          for (; oursWaiting < size; oursWaiting += BATCH) await sys.client.submitMany(parked, Array.from({ length: BATCH }, () => ({ p: PAYLOAD })));
          const ours = percentile(await sys.oursLatency(samples), 50);
          let bull = NaN;
          const bullSize = Math.min(size, bullMax);
          if (bullWaiting < bullSize) {
            for (; bullWaiting < bullSize; bullWaiting += BATCH) await backlog.addBulk(Array.from({ length: BATCH }, () => ({ name: 'parked', data: { p: PAYLOAD } })));
            bull = percentile(await sys.bullLatency(samples), 50);
            p50.bull.push(bull);
          }
          p50.ours.push(ours);
          details.push({ case: `(b) submit->result p50 ms, ${size / 1000}k tasks waiting in another queue${bullSize < size ? ` (BullMQ: ${bullSize / 1000}k)` : ''}`, ours, peer: bull, ratio: ours / bull });
        }
        const flatOurs = (p50.ours.at(-1) as number) / (p50.ours[0] as number);
        const flatBull = (p50.bull.at(-1) as number) / (p50.bull[0] as number);
        details.push({ case: `(b) p50 at ${sizes.at(-1)! / 1000}k waiting / p50 at 1k: ours vs BullMQ (at ${bullMax / 1000}k)`, ours: flatOurs, peer: flatBull, ratio: flatOurs / flatBull });
        met &&= flatOurs <= 1.5;
        if ((await sys.ns.count(`q:{${BACKLOG_QUEUE}}:pending`)) !== oursWaiting) throw new Error('ours: backlog changed');
      } finally {
        await backlog.obliterate({ force: true }).catch(() => undefined);
        await backlog.close();
        await sys.close();
      }
    }
    // (c)
    const c = await walk(ctx);
    details.push(c);
    met &&= c.ratio <= 1.5;
    return {
      unit: 'see case',
      peerName: '(a, b) BullMQ on the same Redis; (c) our own cost at the start of the walk',
      goal: '(a) ours no drop 1->2->4 (>= 0.9x/step); (b), (c) <= 1.5',
      met,
      details,
      notes:
        ctx.backend === 'redis'
          ? '(a) as P3 (results consumed / removeOnComplete), 2 cores: the producer, Redis and the workers share them. (b) backlog: parked tasks in queue "backlog" (no worker); latency as in P3. (c) keys() walks SCAN pages of 1,000.'
          : '(c) mem: keys() walks the hash table in bucket order.',
    };
  },
};
