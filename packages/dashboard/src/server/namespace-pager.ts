/**
 * Server-side cursors over tuple names. Each cursor is a live `Namespace.keys()` walk (the native
 * iterator), advanced one page per request, so a namespace of a million names is never listed whole: the
 * cost of a page does not depend on how far into the namespace it is.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { DashboardHttpError } from '../errors.js';
import type { NamespaceHandles, NamespaceLease } from './handles.js';

interface Cursor {
  id: string;
  namespace: string;
  pattern: string;
  walk: AsyncGenerator<string, void, undefined>;
  lease: NamespaceLease;
  lastUsed: number;
  busy: boolean;
}

/** Options of the pager. */
export interface PagerOptions {
  /** Most cursors open at once; the least recently used is dropped beyond (default 64). */
  maxCursors?: number;
  /** A cursor unused for this long is dropped (default 2 minutes). */
  ttlMs?: number;
}

/** One page of names and the cursor of the next. */
export interface RawPage {
  names: string[];
  cursor: string | null;
}

/** Largest page size accepted. */
export const MAX_PAGE = 1000;

/** Cursors over tuple names, kept between requests. */
export class NamePager {
  private readonly cursors = new Map<string, Cursor>();
  private readonly maxCursors: number;
  private readonly ttlMs: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly handles: NamespaceHandles,
    options: PagerOptions = {},
  ) {
    this.maxCursors = options.maxCursors ?? 64;
    this.ttlMs = options.ttlMs ?? 120_000;
    this.timer = setInterval(() => this.expire(), Math.min(this.ttlMs, 30_000));
    this.timer.unref();
  }

  /** Open cursors. */
  get open(): number {
    return this.cursors.size;
  }

  /** The next `limit` names: from the start when `cursorId` is undefined, else where that cursor stopped. */
  async page(namespace: string, pattern: string, cursorId: string | undefined, limit: number): Promise<RawPage> {
    let cursor: Cursor;
    if (cursorId === undefined) {
      const lease = await this.handles.acquire(namespace);
      cursor = { id: randomBytes(16).toString('base64url'), namespace, pattern, walk: lease.ns.keys(pattern), lease, lastUsed: Date.now(), busy: false };
      this.cursors.set(cursor.id, cursor);
      this.evict();
    } else {
      const found = this.cursors.get(cursorId);
      if (found === undefined || found.namespace !== namespace || found.pattern !== pattern) {
        throw new DashboardHttpError(410, 'CURSOR_EXPIRED', 'This listing cursor has expired or belongs to another listing: start again from the first page.');
      }
      if (found.busy) throw new DashboardHttpError(409, 'CURSOR_BUSY', 'This cursor is already fetching a page: wait for that page before asking for the next.');
      cursor = found;
    }
    cursor.busy = true;
    const names: string[] = [];
    let done = false;
    try {
      while (names.length < limit) {
        const r = await cursor.walk.next();
        if (r.done) {
          done = true;
          break;
        }
        names.push(r.value);
      }
    } catch (err) {
      await this.drop(cursor);
      throw err;
    } finally {
      cursor.busy = false;
      cursor.lastUsed = Date.now();
    }
    if (done) {
      await this.drop(cursor);
      return { names, cursor: null };
    }
    return { names, cursor: cursor.id };
  }

  /** Drops cursors idle for longer than the TTL. */
  expire(now = Date.now()): void {
    for (const c of this.cursors.values()) if (!c.busy && now - c.lastUsed > this.ttlMs) void this.drop(c);
  }

  /** Closes every cursor. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.cursors.values()].map((c) => this.drop(c)));
  }

  private evict(): void {
    while (this.cursors.size > this.maxCursors) {
      let oldest: Cursor | undefined;
      for (const c of this.cursors.values()) if (!c.busy && (oldest === undefined || c.lastUsed < oldest.lastUsed)) oldest = c;
      if (oldest === undefined) return;
      void this.drop(oldest);
    }
  }

  private async drop(c: Cursor): Promise<void> {
    if (!this.cursors.delete(c.id)) return;
    try {
      await c.walk.return(undefined);
    } catch {
      // the namespace went away under the walk: nothing to free
    }
    c.lease.release();
  }
}
