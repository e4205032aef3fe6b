/**
 * Delayed tasks (submit delays, run-at, retry backoff) wait in time buckets `q:{Q}:delayed:<ms>`, each counted
 * by one entry in `q:{Q}:delays`. Workers move due buckets' tasks to their bands through a promotion slot of
 * their own, so a crash mid-way leaves the task leased (and recovered) rather than lost. They walk the buckets
 * every DELAY_BUCKET_MS only while the delays list holds entries, and otherwise wait on it: an idle worker sends
 * Redis nothing. A task put in a bucket without its entry (a writer that predates the list, or a crash between
 * the two) is still promoted, by the periodic sweep of listed buckets.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDbrError, type Namespace } from '@tsdbr/core';
import type { Logger } from 'pino';
import { BELL, classify } from './envelope.js';
import { DELAY_BUCKET_MS, type QueueNames } from './protocol.js';
import { destinationOf } from './outcome.js';

/** The slot delayed tasks pass through on their way to a band. */
export const PROMOTION_SLOT = 'p';
/** Buckets behind the wake-up that a worker still walks (clients' clocks run a little apart). */
const SKEW_BUCKETS = 10;
/** After a failed tick, the next try waits this long. */
const ERROR_BACKOFF_MS = 500;

/** Moves due delayed tasks of one queue to their bands. */
export class DelayedPromoter {
  private cursor = Math.floor(Date.now() / DELAY_BUCKET_MS) * DELAY_BUCKET_MS;

  constructor(
    private readonly ns: Namespace,
    private readonly names: QueueNames,
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  /**
   * Until `signal` aborts: waits (a blocking read, no polling) for the delays list to hold an entry, then walks
   * the buckets as they come due until it is empty again.
   */
  async run(signal: AbortSignal, fail: (err: unknown) => void): Promise<void> {
    const delays = this.names.delays();
    while (!signal.aborted) {
      try {
        await this.ns.read(delays, { timeout: 'infinite', signal });
        // nothing was delayed while we waited, so only buckets from about now on can hold tasks
        this.cursor = Math.max(this.cursor, (Math.floor(Date.now() / DELAY_BUCKET_MS) - SKEW_BUCKETS) * DELAY_BUCKET_MS);
        do {
          await this.tick();
          await sleep(DELAY_BUCKET_MS, undefined, { signal });
        } while ((await this.ns.count(delays)) > 0);
      } catch (err) {
        if (signal.aborted) return;
        fail(err);
        await sleep(ERROR_BACKOFF_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

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

  /**
   * Promotes every listed bucket that is due (buckets written by other clocks, before we started, or without
   * their delays entry). With no bucket listed, drops the delays entries a crash left behind (they would keep
   * every worker walking the buckets).
   */
  async sweepListed(now = Date.now()): Promise<number> {
    let moved = 0;
    const buckets = await this.ns.list(this.names.delayedPattern());
    for (const name of buckets) {
      const b = this.names.parseBucket(name, 'delayed');
      if (b !== undefined && b <= now) moved += await this.promote(b);
    }
    if (buckets.length === 0) await this.dropStaleEntries(now - SKEW_BUCKETS * DELAY_BUCKET_MS);
    return moved;
  }

  /**
   * With no bucket listed, an entry for a bucket before `cutoff` counts no task. One for a later bucket may
   * count a task delayed since the listing (its bucket is after its submission), so the drop stops there.
   * Entries only count, so one taken by a promotion meanwhile leaves the count right.
   */
  private async dropStaleEntries(cutoff: number): Promise<void> {
    const delays = this.names.delays();
    for (;;) {
      const head = await this.ns.tryRead(delays);
      if (head === undefined) return;
      const bucket = Number(head.toString('utf8'));
      if (Number.isFinite(bucket) && bucket >= cutoff) return;
      await this.ns.tryGet(delays);
    }
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
      // uncounted before it can be claimed (entries only count, so any one); a crash before the move leaves the
      // task in our promotion slot, from which recovery forwards it
      await ns.tryGet(names.delays());
      await ns.moveValue(slot, ns, dest.to, { timeout: 0 });
      if (dest.bell) await ns.put(names.pending('normal'), BELL);
      moved++;
    }
  }
}
