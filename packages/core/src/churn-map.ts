/**
 * A map for entries that come and go all the time (requests in flight, running tasks), without the GC cliff
 * a Map falls into under that load.
 *
 * A Map that keeps adding and deleting entries replaces its hash table every few dozen operations, and each
 * replaced table keeps a link to its successor and, until collected, its entries. Once one table is promoted
 * to V8's old space (it was live through two young collections: a pause, a burst of module loading), that dead
 * table keeps its successor alive through every young collection, which promotes it in turn, and so on: every
 * entry ever stored survives until the next full collection. Measured with 32 puts in flight in a process
 * that had imported zod: ~4 MB promoted per young collection, each taking 13 ms instead of 0.3, and the JS
 * thread spending 4.2 us per request instead of 2.2. An object in dictionary mode replaces its backing store
 * without such links.
 *
 * Iteration order: integer keys ascending, then other keys in insertion order.
 */
export class ChurnMap<K extends string | number, V> {
  private entries: Record<string | number, V> = Object.create(null) as Record<string | number, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    return this.entries[key];
  }

  has(key: K): boolean {
    return this.entries[key] !== undefined;
  }

  /** Stores `value` (not undefined) under `key`. */
  set(key: K, value: V): this {
    if (this.entries[key] === undefined) this.count++;
    this.entries[key] = value;
    return this;
  }

  delete(key: K): boolean {
    if (this.entries[key] === undefined) return false;
    this.count--;
    delete this.entries[key];
    return true;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<string | number, V>;
    this.count = 0;
  }

  *values(): IterableIterator<V> {
    for (const key in this.entries) yield this.entries[key] as V;
  }

  /** Keys come back as strings: a number key as its decimal form. */
  *keys(): IterableIterator<string> {
    for (const key in this.entries) yield key;
  }
}
