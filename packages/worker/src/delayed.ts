/**
 * Delayed tasks (submit delays, run-at, retry backoff) wait in time buckets `q:{Q}:delayed:<ms>`. Workers
 * move due buckets' tasks to their bands through a promotion slot of their own, so a crash mid-way leaves
 * the task leased (and recovered) rather than lost.
 * @module
 */
import { isDbrError, type Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { BELL, classify } from './envelope.js';
import { DELAY_BUCKET_MS, type QueueNames } from './protocol.js';
import { destinationOf } from './outcome.js';

/** The slot delayed tasks pass through on their way to a band. */
export const PROMOTION_SLOT = 'p';

/** Moves due delayed tasks of one queue to their bands. */
export class DelayedPromoter {
  private cursor = Math.floor(Date.now() / DELAY_BUCKET_MS) * DELAY_BUCKET_MS;

  constructor(
    private readonly ns: Namespace,
    private readonly names: QueueNames,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  /** Checks the buckets that came due since the last tick. */
  async tick(now = Date.now()): Promise<number> {
    const last = Math.floor(now / DELAY_BUCKET_MS) * DELAY_BUCKET_MS;
    if (last - this.cursor > 100 * DELAY_BUCKET_MS) {
      // we slept long (or started late): a listing finds the buckets faster than walking them
      this.cursor = last;
      return this.sweepListed(now);
    }
    let moved = 0;
    for (let b = this.cursor + DELAY_BUCKET_MS; b <= last; b += DELAY_BUCKET_MS) moved += await this.promote(b);
    this.cursor = Math.max(this.cursor, last);
    return moved;
  }

  /** Promotes every listed bucket that is due (buckets written by other clocks, or before we started). */
  async sweepListed(now = Date.now()): Promise<number> {
    let moved = 0;
    for (const name of await this.ns.list(this.names.delayedPattern())) {
      const b = this.names.parseBucket(name, 'delayed');
      if (b !== undefined && b <= now) moved += await this.promote(b);
    }
    return moved;
  }

  private async promote(bucket: number): Promise<number> {
    const { ns, names } = this;
    const from = names.delayed(bucket);
    const slot = names.run(this.workerId, PROMOTION_SLOT);
    let moved = 0;
    for (;;) {
      let bytes: Buffer;
      try {
        bytes = await ns.moveValue(from, ns, slot, { timeout: 0 });
      } catch (err) {
        if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return moved;
        throw err;
      }
      const stored = classify(bytes);
      // due <= bucket <= now, so a task goes to its band
      const dest = stored.kind === 'task' ? destinationOf(names, { kind: 'task', env: { ...stored.env, due: undefined } }) : destinationOf(names, stored);
      if (dest === undefined) {
        this.log.error({ name: from }, 'dropping a value that is not a task from a delayed bucket');
        await ns.tryGet(slot);
        continue;
      }
      await ns.moveValue(slot, ns, dest.to, { timeout: 0 });
      if (dest.bell) await ns.put(names.pending('normal'), BELL);
      moved++;
    }
  }
}
