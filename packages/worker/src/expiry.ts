/**
 * Bounded storage: names that may be dropped after a time (unread results, stale cancel markers) are listed in
 * expiry buckets `q:{Q}:expire:<ms>`; workers remove the names of buckets whose time has passed.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { EXPIRE_BUCKET_MS, type QueueNames } from './protocol.js';

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

  private async sweep(bucket: number): Promise<number> {
    let dropped = 0;
    for (;;) {
      const v = await this.ns.tryGet(this.names.expire(bucket));
      if (v === undefined) return dropped;
      // one name, or several separated by '\n' (a worker lists the results of one event-loop turn together)
      for (const name of v.toString('utf8').split('\n')) {
        if (name.startsWith(this.names.prefix) && !name.includes('*')) {
          await this.ns.remove(name);
          dropped++;
        }
      }
    }
  }
}
