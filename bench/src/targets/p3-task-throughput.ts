/**
 * P3: no-op task throughput at concurrency 1, 16 and 64, in 1 and 2 worker processes, against BullMQ with the
 * same concurrency on the same Redis; submit -> result latency (one task at a time); bulk submit rate.
 * Goals: throughput >= 3x BullMQ; latency p50 <= 0.5x BullMQ's. Drivers and fairness rules: ../queues.ts.
 * The main cases deliver every result to the producer on both sides (ours: result(); BullMQ: QueueEvents
 * 'completed', what job.waitUntilFinished listens to); the fire-and-forget cases store no results on either
 * side, and both producers poll.
 */
import { median, percentile } from '../measure.js';
import { Systems } from '../queues.js';
import type { Measurement } from '../result.js';
import type { Target } from '../target.js';

/** Throughput cases run this many interleaved rounds per side and compare medians: one short window a side let drift decide. */
const ROUNDS = 3;
const LATENCY_ROUNDS = 5;
const LATENCY_WARMUP = 300;

export const p3: Target = {
  id: 'P3',
  title: 'no-op task throughput (concurrency 1/16/64, 1 and 2 worker processes), submit->result latency, bulk submit: vs BullMQ',
  backends: ['redis'],
  async run({ quick, server }) {
    const n = quick ? 4_000 : 40_000;
    const samples = quick ? 300 : 4_000;
    const sys = new Systems(server);
    await sys.open();
    const details: Measurement[] = [];
    const submit: { ours: number[]; bull: number[] } = { ours: [], bull: [] };
    let latOurs: number[] = [];
    let latBull: number[] = [];
    let floor: number[] = [];
    try {
      await sys.hosts.ensure(2);
      for (const procs of [1, 2]) {
        for (const c of [1, 16, 64]) {
          // fewer tasks at concurrency 1 in one process: the slowest case would dominate the run
          const count = c === 1 ? Math.round(n / 2) : n;
          const ours: number[] = [];
          const bull: number[] = [];
          for (let round = 0; round < ROUNDS; round++) {
            const o = await sys.oursThroughput(procs, c, count);
            const b = await sys.bullThroughput(procs, c, count, true);
            ours.push(o.rate);
            bull.push(b.rate);
            submit.ours.push(o.submitRate);
            submit.bull.push(b.submitRate);
          }
          details.push({ case: `tasks/s, concurrency ${c}, ${procs} worker process${procs > 1 ? 'es' : ''} (${count} tasks, median of ${ROUNDS})`, ours: median(ours), peer: median(bull), ratio: median(ours) / median(bull) });
        }
      }
      for (const c of [16, 64]) {
        const ours: number[] = [];
        const bull: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          ours.push(await sys.oursFireAndForget(1, c, n));
          bull.push((await sys.bullThroughput(1, c, n)).rate);
        }
        details.push({ case: `fire-and-forget tasks/s, concurrency ${c}, 1 worker process (${n} tasks, median of ${ROUNDS}; ignoreResult vs removeOnComplete, both producers polling)`, ours: median(ours), peer: median(bull), ratio: median(ours) / median(bull) });
      }
      // a discarded warm-up round each, then interleaved rounds (the box drifts within a run, and BullMQ
      // warms up more slowly than ours: sequential windows would hand one side the better minutes)
      await sys.oursLatency(LATENCY_WARMUP);
      await sys.bullLatency(LATENCY_WARMUP);
      for (let round = 0; round < LATENCY_ROUNDS; round++) {
        latOurs.push(...(await sys.oursLatency(samples / LATENCY_ROUNDS)));
        latBull.push(...(await sys.bullLatency(samples / LATENCY_ROUNDS)));
      }
      latOurs.sort((a, b) => a - b);
      latBull.sort((a, b) => a - b);
      floor = await sys.pingPongLatency(samples / 2);
    } finally {
      await sys.close();
    }
    const p50 = { ours: percentile(latOurs, 50), bull: percentile(latBull, 50) };
    const p99 = { ours: percentile(latOurs, 99), bull: percentile(latBull, 99) };
    details.push({ case: `submit->result latency p50, ms (${samples} one at a time, ${LATENCY_ROUNDS} interleaved rounds after a warm-up)`, ours: p50.ours, peer: p50.bull, ratio: p50.ours / p50.bull });
    details.push({ case: `submit->result latency p99, ms`, ours: p99.ours, peer: p99.bull, ratio: p99.ours / p99.bull });
    const floorP50 = percentile(floor, 50);
    details.push({ case: 'floor: a bare put -> get in another process -> put back -> get through @tsdbr/core, no task machinery, p50 ms (informational; peer: BullMQ submit->result p50)', ours: floorP50, peer: p50.bull, ratio: floorP50 / p50.bull });
    details.push({ case: 'bulk submit, tasks/s (submitMany vs addBulk, 1,000 a batch; median)', ours: median(submit.ours), peer: median(submit.bull), ratio: median(submit.ours) / median(submit.bull) });
    const tput = details.filter((d) => d.case.startsWith('tasks/s') || d.case.startsWith('fire-and-forget'));
    const met = tput.every((d) => d.ratio >= 3) && p50.ours / p50.bull <= 0.5;
    return {
      unit: 'see case',
      peerName: 'BullMQ (same Redis, same concurrency and worker processes)',
      goal: 'tasks/s ratio >= 3; latency p50 ratio <= 0.5 (bulk submit: informational)',
      met,
      details,
      notes:
        'Throughput: tasks submitted first, clock from "go" to the last result the producer receives. Neither side keeps state, and every result reaches ' +
        'the producer: ours consumes each with result() (a get, 512 in flight), BullMQ jobs use removeOnComplete/removeOnFail and the producer ' +
        "counts QueueEvents 'completed' events (checking the sum of the return values, as ours does). Fire-and-forget cases: ours stores no " +
        'result (ignoreResult), BullMQ removes completed jobs, and both producers poll (ours its queue, BullMQ getJobCounts) every 5 ms. ' +
        'Latency: one worker process at concurrency 1; ours submit() + result(); BullMQ add() (default options) + job.waitUntilFinished(QueueEvents); ' +
        'the floor case is two processes passing one 64 B tuple back and forth with put and a blocking get; ' +
        `a warm-up round of ${LATENCY_WARMUP} each is discarded, then ${LATENCY_ROUNDS} rounds alternate between the two. ` +
        'Worker processes are forked once and reused; ours and BullMQ alternate per case on one fresh redis-server. 2-core box shared with other work: noisy.',
    };
  },
};
