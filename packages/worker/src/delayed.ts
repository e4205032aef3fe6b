/**
 * Delayed tasks (submit delays, run-at, retry backoff) wait in time buckets `q:{Q}:delayed:<ms>`, each counted
 * by one entry in `q:{Q}:delays`. Workers move due buckets' tasks to their bands through a promotion slot of
 * their own, so a crash mid-way leaves the task leased (and recovered) rather than lost. They walk the buckets
 * every DELAY_BUCKET_MS only while the delays list holds entries, and otherwise wait on it: an idle worker sends
 * Redis nothing for delayed tasks. The periodic sweep of listed buckets promotes what the walk missed and
 * counts tasks written without their entry (a writer that predates the list).
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
/** Buckets behind the time the delays list was last seen empty that a worker still walks (clocks run apart). */
const SKEW_BUCKETS = 10;
/** Up to this many delays entries, a waking worker reads them all and walks from the earliest bucket they name. */
const WAKE_ENTRIES = 32;
/** After a failed tick, the next try waits this long. */
const ERROR_BACKOFF_MS = 500;

/** Moves due delayed tasks of one queue to their bands. */
export class DelayedPromoter {
  private cursor = Math.floor(Date.now() / DELAY_BUCKET_MS) * DELAY_BUCKET_MS;
  /** A promotion failed midway: our promotion slot may hold its task. */
  private interrupted = false;
  private promoting: Promise<unknown> = Promise.resolve();
  /** Our promotion slot. */
  private readonly slot: string;

  constructor(
    private readonly ns: Namespace,
    private readonly names: QueueNames,
    workerId: string,
    private readonly log: Logger,
  ) {
    this.slot = names.run(workerId, PROMOTION_SLOT);
  }

  /**
   * Until `signal` aborts: waits (a blocking read, no polling) for the delays list to hold an entry, then walks
   * the buckets as they come due until it is empty again.
   */
  async run(signal: AbortSignal, fail: (err: unknown) => void): Promise<void> {
    const delays = this.names.delays();
    // when the list was last seen empty: buckets from then on (less the clocks' skew) are the ones to walk
    let emptySince: number | undefined;
    while (!signal.aborted) {
      try {
        await this.ns.read(delays, { timeout: 'infinite', signal });
        this.cursor = await this.wakeCursor(emptySince);
        emptySince = undefined;
        for (;;) {
          await this.tick();
          await sleep(DELAY_BUCKET_MS, undefined, { signal });
          const seenAt = Date.now();
          if ((await this.ns.count(delays)) === 0) {
            emptySince = seenAt;
            break;
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        fail(err);
        await sleep(ERROR_BACKOFF_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * Where a worker that wakes on the delays list walks from. The entries count the tasks in buckets, and each
   * names its task's bucket: when there are few, from the earliest they name, so a walk after a long quiet
   * spell neither lists the namespace nor misses a bucket that came due while the worker was late to wake.
   * Otherwise from when the list was last seen empty (less the clocks' skew), or on from where it was.
   */
  private async wakeCursor(emptySince: number | undefined): Promise<number> {
    const delays = this.names.delays();
    let earliest = Infinity;
    for (let i = 0; i < WAKE_ENTRIES; i++) {
      const entry = await this.ns.tryRead(delays, { index: i });
      // never past now: a task delayed less than the earliest one may come while we walk
      if (entry === undefined) return earliest === Infinity ? this.cursor : Math.min(earliest - DELAY_BUCKET_MS, Math.floor(Date.now() / DELAY_BUCKET_MS) * DELAY_BUCKET_MS);
      const bucket = Number(entry.toString('utf8'));
      if (!Number.isFinite(bucket)) break;
      earliest = Math.min(earliest, bucket);
    }
    if (emptySince === undefined) return this.cursor;
    return Math.max(this.cursor, (Math.floor(emptySince / DELAY_BUCKET_MS) - SKEW_BUCKETS) * DELAY_BUCKET_MS);
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
   * their delays entry), then makes the delays list count at least the tasks the buckets hold: a task
   * written without its entry is then walked to on time. With no bucket listed, first drops the leading
   * entries a crash left behind (they would keep every worker walking the buckets).
   */
  async sweepListed(now = Date.now()): Promise<number> {
    let moved = 0;
    let buckets = await this.ns.list(this.names.delayedPattern());
    for (const name of buckets) {
      const b = this.names.parseBucket(name, 'delayed');
      if (b !== undefined && b <= now) moved += await this.promote(b);
    }
    if (buckets.length === 0) {
      if (!(await this.dropStaleEntries(now - SKEW_BUCKETS * DELAY_BUCKET_MS))) return moved;
      // a drop racing another worker's may have taken the entry of a task delayed meanwhile: count again
      buckets = await this.ns.list(this.names.delayedPattern());
    }
    await this.countUncounted(buckets);
    return moved;
  }

  /**
   * With no bucket listed, an entry for a bucket before `cutoff` counts no task. One for a later bucket may
   * count a task delayed since the listing (its bucket is after its submission), so the drop stops there.
   * True if it dropped any.
   */
  private async dropStaleEntries(cutoff: number): Promise<boolean> {
    const delays = this.names.delays();
    let dropped = false;
    for (;;) {
      const head = await this.ns.tryRead(delays);
      if (head === undefined) return dropped;
      const bucket = Number(head.toString('utf8'));
      if (Number.isFinite(bucket) && bucket >= cutoff) return dropped;
      await this.ns.tryGet(delays);
      dropped = true;
    }
  }

  /**
   * Adds an entry for each task in `buckets` beyond the entries there are. The two counts are not taken
   * at once, but every interleaving with a submit (task and entry in one step) or a promotion (entry taken
   * before the task leaves) can only make this add too many, and an extra entry is dropped by a later sweep.
   */
  private async countUncounted(buckets: string[]): Promise<void> {
    let tasks = 0;
    let earliest = Infinity; // the entries name it: a worker that wakes on them walks from there
    for (const name of buckets) {
      tasks += await this.ns.count(name);
      earliest = Math.min(earliest, this.names.parseBucket(name, 'delayed') ?? Infinity);
    }
    const missing = tasks - (await this.ns.count(this.names.delays()));
    if (missing <= 0 || earliest === Infinity) return;
    await this.ns.putMany(Array.from({ length: missing }, (): [string, string] => [this.names.delays(), String(earliest)]));
  }

  /** Promotes one bucket's tasks; one promotion at a time (the walk and the sweep share the promotion slot). */
  private promote(bucket: number): Promise<number> {
    const promoted = this.promoting.then(() => this.promoteNow(bucket));
    this.promoting = promoted.catch(() => undefined);
    return promoted;
  }

  private async promoteNow(bucket: number): Promise<number> {
    const { ns, names } = this;
    const from = names.delayed(bucket);
    const slot = this.slot;
    let moved = 0;
    try {
      // an earlier promotion that failed midway may have left its task in our slot: it goes on first, so the
      // slot holds one task at a time. Its entry may be taken already: taking none leaves at worst one too many
      if (this.interrupted) {
        for (let bytes = await ns.tryRead(slot); bytes !== undefined; bytes = await ns.tryRead(slot)) await this.forwardPromoted(bytes, slot, false);
        this.interrupted = false;
      }
      for (;;) {
        let bytes: Buffer;
        try {
          bytes = await ns.moveValue(from, ns, slot, { timeout: 0 });
        } catch (err) {
          if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return moved;
          throw err;
        }
        if (await this.forwardPromoted(bytes, from, true)) moved++;
      }
    } catch (err) {
      this.interrupted = true;
      throw err;
    }
  }

  /** Moves the task held in our promotion slot to its band, taking a delays entry first if `uncount`; false if it was no task (dropped). */
  private async forwardPromoted(bytes: Buffer, from: string, uncount: boolean): Promise<boolean> {
    const { ns, names, slot } = this;
    const stored = classify(bytes);
    // due <= bucket <= now, so a task goes to its band
    const dest = stored.kind === 'task' ? destinationOf(names, { kind: 'task', env: { ...stored.env, due: undefined } }) : destinationOf(names, stored);
    if (dest === undefined) {
      this.log.error({ name: from }, 'dropping a value that is not a task from a delayed bucket');
      await ns.tryGet(slot);
      return false;
    }
    // uncounted before it can be claimed (entries only count, so any one); a crash before the move leaves the
    // task in our promotion slot, from which recovery forwards it
    if (uncount) await ns.tryGet(names.delays());
    await ns.moveValue(slot, ns, dest.to, { timeout: 0 });
    if (dest.bell) await ns.put(names.pending('normal'), BELL);
    return true;
  }
}
