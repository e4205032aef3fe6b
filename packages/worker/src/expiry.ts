/**
 * Bounded storage: names that may be dropped after a time (unread results, stale cancel markers) are listed in
 * expiry buckets `q:{Q}:expire:<ms>`; workers remove the names of buckets whose time has passed. A line may
 * carry the stamp of the value it was written for (`<name> <ms>`): then only that value is dropped.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { decode } from './envelope.js';
import { EXPIRE_BUCKET_MS, type QueueNames } from './protocol.js';

/** When a value that expires was written: a result's finishedAt, a cancel marker's at. */
function stampOf(bytes: Buffer): number | undefined {
  try {
    const v = decode(bytes) as { k?: unknown; finishedAt?: unknown; at?: unknown } | null;
    const stamp = v?.k === 'r' ? v.finishedAt : v?.at;
    return typeof stamp === 'number' ? stamp : undefined;
  } catch {
    return undefined;
  }
}

/** Drops expired names of one queue. */
export class ExpirySweeper {
  private cursor = Math.floor(Date.now() / EXPIRE_BUCKET_MS) * EXPIRE_BUCKET_MS;

  constructor(
    private readonly ns: Namespace,
    private readonly names: QueueNames,
  ) {}

  /** Sweeps the buckets that came due since the last tick. */
  async tick(now = Date.now()): Promise<number> {
    const last = Math.floor(now / EXPIRE_BUCKET_MS) * EXPIRE_BUCKET_MS;
    let dropped = 0;
    if (last - this.cursor > 60 * EXPIRE_BUCKET_MS) {
      this.cursor = last;
      return this.sweepListed(now);
    }
    for (let b = this.cursor + EXPIRE_BUCKET_MS; b <= last; b += EXPIRE_BUCKET_MS) dropped += await this.sweep(b);
    this.cursor = Math.max(this.cursor, last);
    return dropped;
  }

  /** Sweeps every listed bucket that is due. */
  async sweepListed(now = Date.now()): Promise<number> {
    let dropped = 0;
    for (const name of await this.ns.list(this.names.expirePattern())) {
      const b = this.names.parseBucket(name, 'expire');
      if (b !== undefined && b <= now) dropped += await this.sweep(b);
    }
    return dropped;
  }

  /**
   * True if the value under `name` is the one its entry was written for: a value written since under the same
   * name (a retried dead letter's new result) is left to its own entry. A value replaced between this read and
   * the remove that follows is dropped all the same; a retry takes a claim and a run, not one round trip.
   */
  private async holdsStamp(name: string, stamp: number): Promise<boolean> {
    const bytes = await this.ns.tryRead(name);
    return bytes !== undefined && stampOf(bytes) === stamp;
  }

  private async sweep(bucket: number): Promise<number> {
    let dropped = 0;
    for (;;) {
      const v = await this.ns.tryGet(this.names.expire(bucket));
      if (v === undefined) return dropped;
      // one line, or several separated by '\n' (a worker lists the results of one event-loop turn together)
      for (const line of v.toString('utf8').split('\n')) {
        const [name = '', stamp] = line.split(' ');
        if (!name.startsWith(this.names.prefix) || name.includes('*')) continue;
        if (stamp !== undefined && !(await this.holdsStamp(name, Number(stamp)))) continue;
        await this.ns.remove(name);
        dropped++;
      }
    }
  }
}
