/**
 * A worker's periodic chores on each of its queues: recovering dead workers' tasks, dropping expired results,
 * promoting delayed tasks the walk missed, and ringing for the hi and lo bands. One pass at a time; each chore
 * on its own, so one that keeps failing (say, on a value it cannot handle) starves no other.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { BELL } from './envelope.js';
import type { QueueState } from './execution.js';

/** The listing sweeps (of expiry and delayed buckets) run every this many passes. */
const SWEEP_EVERY = 10;

/** Runs the passes of one worker. */
export class Maintenance {
  private pass: Promise<void> | undefined;
  private passes = 0;

  constructor(
    private readonly ns: Namespace,
    private readonly queues: readonly QueueState[],
    private readonly stopping: () => boolean,
    private readonly fail: (err: unknown, where: string) => void,
  ) {}

  /** Runs a pass, or joins the one under way. */
  run(): Promise<void> {
    this.pass ??= this.runPass().finally(() => (this.pass = undefined));
    return this.pass;
  }

  /** Resolves when no pass is under way. */
  async idle(): Promise<void> {
    await this.pass;
  }

  private async runPass(): Promise<void> {
    const sweeps = this.passes++ % SWEEP_EVERY === 0;
    for (const q of this.queues) {
      const chores: [string, () => Promise<unknown>][] = [
        ["recovering dead workers' tasks", () => q.recovery.tick()],
        ['dropping expired results', () => (sweeps ? q.sweeper.tick().then(() => q.sweeper.sweepListed()) : q.sweeper.tick())],
        ['promoting delayed tasks', () => (sweeps ? q.promoter.sweepListed() : Promise.resolve())],
        ['ringing for the hi and lo bands', () => this.ringForBands(q)],
      ];
      for (const [what, chore] of chores) {
        if (this.stopping()) return;
        await chore().catch((err: unknown) => this.fail(err, `maintenance of queue ${q.names.queue}: ${what}`));
      }
    }
  }

  /** Wakes a blocked claim if the hi or lo band holds tasks nobody rang for (e.g. after a crash). */
  private async ringForBands(q: QueueState): Promise<void> {
    for (const band of ['hi', 'lo'] as const) {
      if ((await this.ns.count(q.names.pending(band))) > 0 && (await this.ns.count(q.names.pending('normal'))) === 0) {
        await this.ns.put(q.names.pending('normal'), BELL);
      }
    }
  }
}
