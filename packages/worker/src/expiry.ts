/**
 * Bounded storage: names that may be dropped after a time (unread results, stale cancel markers) are listed in
 * expiry buckets `q:{Q}:expire:<ms>`; workers remove the names of buckets whose time has passed. A line may
 * carry the stamp of the value it was written for (`<name> <ms>`): then only that value is dropped, and an
 * unread result leaves a tombstone for as long again.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { classify, encode, isJson, type ResultEnvelope, type Stored } from './envelope.js';
import { expiryEntry } from './outcome.js';
import { EXPIRE_BUCKET_MS, type QueueNames } from './protocol.js';

/** When a value that expires was written: a result's finishedAt, a cancel marker's at. */
function stampOf(stored: Stored): number | undefined {
  const v = stored.kind === 'result' ? stored.env.finishedAt : stored.kind === 'unknown' ? (stored.value as { at?: unknown } | null)?.at : undefined;
  return typeof v === 'number' ? v : undefined;
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

  private async sweep(bucket: number): Promise<number> {
    let dropped = 0;
    for (;;) {
      const v = await this.ns.tryGet(this.names.expire(bucket));
      if (v === undefined) return dropped;
      // one line, or several separated by '\n' (a worker lists the results of one event-loop turn together)
      for (const line of v.toString('utf8').split('\n')) {
        const [name = '', stamp] = line.split(' ');
        if (!name.startsWith(this.names.prefix) || name.includes('*')) continue;
        if (stamp === undefined) await this.ns.remove(name);
        else if (!(await this.expire(name, Number(stamp), bucket))) continue;
        dropped++;
      }
    }
  }

  /**
   * Expires the value under `name` if it is the one its entry was written for (stamped `stamp`): a value
   * written since under the same name (a retried dead letter's new result) is left to its own entry. An
   * unread result is replaced by a tombstone that lives as long again, so a result() still waiting, or a
   * workflow resumed later, learns that the outcome is gone (ResultExpiredError) instead of waiting for good;
   * anything else (a tombstone, a cancel marker) is removed.
   */
  private async expire(name: string, stamp: number, bucket: number): Promise<boolean> {
    const bytes = await this.ns.tryRead(name);
    if (bytes === undefined) return false;
    const stored = classify(bytes);
    if (stampOf(stored) !== stamp) return false;
    if (stored.kind !== 'result' || stored.env.expired === true) {
      await this.ns.remove(name); // a value replaced between the read and this remove goes too: a retry takes a claim and a run, not one round trip
      return true;
    }
    const now = Date.now();
    const r = stored.env;
    const tombstone: ResultEnvelope = { k: 'r', id: r.id, task: r.task, ok: false, expired: true, error: { name: 'ResultExpiredError', message: `The result of task ${r.id} expired unread; its outcome is unknown.` }, attempts: r.attempts, finishedAt: now };
    // the tombstone's entry first: a crash in between leaves an entry that names nothing
    await this.ns.put(...expiryEntry(this.names, name, Math.max(bucket - stamp, EXPIRE_BUCKET_MS), now));
    await this.ns.popPut(name, name, encode(tombstone, isJson(bytes))); // nothing if result() took it meanwhile
    return true;
  }
}
