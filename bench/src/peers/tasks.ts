/**
 * The tasks the task-queue benchmarks run, for tsdbr and for BullMQ: a no-op that returns its input's `i`.
 */
import { defineTask } from '@tsdbr/worker';
import { z } from 'zod';

/** Queue of the measured tasks. */
export const BENCH_QUEUE = 'bench';
/** Queue that only holds waiting tasks (P7b): nobody serves it. */
export const BACKLOG_QUEUE = 'backlog';

/** The no-op task of P3/P7 (tsdbr). */
export const noop = defineTask({
  name: 'noop',
  queue: BENCH_QUEUE,
  input: z.object({ i: z.number() }),
  output: z.number(),
  retries: 0,
  run: ({ i }) => i,
});

/** A task nobody runs: the backlog of P7b and the waiting tasks of P6. */
export const parked = defineTask({
  name: 'parked',
  queue: BACKLOG_QUEUE,
  input: z.object({ p: z.string() }),
  output: z.null(),
  run: () => null,
});

/** The BullMQ processor of the same no-op. */
export async function bullNoop(job: { data: { i: number } }): Promise<number> {
  return job.data.i;
}
