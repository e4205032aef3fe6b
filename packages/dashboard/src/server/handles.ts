/**
 * Namespace handles of the dashboard. Browsing keeps a namespace attached while it is in use and detaches it
 * after an idle period, so the dashboard does not hold up another client's delete for long. Sweeps over all
 * namespaces (the overview) attach and detach at once.
 * @module
 */
import { type Broker, isDbrError, type Namespace } from '@tsdbr/core';
import { DashboardHttpError } from '../errors.js';

interface Entry {
  ns: Promise<Namespace>;
  leases: number;
  lastUsed: number;
  /** Dropped from the cache (idle or deleted): close when the last lease ends. */
  retired: boolean;
}

/** A namespace held by the caller until release(). */
export interface NamespaceLease {
  readonly ns: Namespace;
  release(): void;
}

/** Attached namespaces, shared by routes, cursors and live updates. */
export class NamespaceHandles {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly broker: Broker,
    private readonly idleMs: number,
  ) {
    this.timer = setInterval(() => this.sweep(), Math.max(250, Math.min(idleMs / 2, 10_000)));
    this.timer.unref();
  }

  /** Number of namespaces held attached now. */
  get size(): number {
    return this.entries.size;
  }

  /** True if the dashboard holds `name` attached (its attach then shows in the namespace's count). */
  holds(name: string): boolean {
    return this.entries.has(name);
  }

  /** Attaches (or reuses) a namespace until the lease is released. Missing namespaces are a 404. */
  async acquire(name: string): Promise<NamespaceLease> {
    if (this.closed) throw new DashboardHttpError(503, 'CLOSING', 'The dashboard is shutting down.');
    let entry = this.entries.get(name);
    if (entry === undefined) {
      const ns = this.broker.attach(name);
      entry = { ns, leases: 0, lastUsed: Date.now(), retired: false };
      this.entries.set(name, entry);
      ns.catch(() => {
        if (this.entries.get(name) === entry) this.entries.delete(name);
      });
    }
    entry.leases++;
    entry.lastUsed = Date.now();
    let ns: Namespace;
    try {
      ns = await entry.ns;
    } catch (err) {
      entry.leases--;
      throw notFound(name, err);
    }
    let released = false;
    const e = entry;
    return {
      ns,
      release: () => {
        if (released) return;
        released = true;
        e.leases--;
        e.lastUsed = Date.now();
        if (e.retired && e.leases === 0) void ns.close().catch(() => undefined);
      },
    };
  }

  /** Runs fn with the namespace attached (kept attached for a while afterwards). */
  async use<T>(name: string, fn: (ns: Namespace) => Promise<T>): Promise<T> {
    const lease = await this.acquire(name);
    try {
      return await fn(lease.ns);
    } finally {
      lease.release();
    }
  }

  /** Runs fn on a namespace without keeping it attached (unless it already is). Undefined if it does not exist. */
  async peek<T>(name: string, fn: (ns: Namespace, held: boolean) => Promise<T>): Promise<T | undefined> {
    if (this.entries.has(name)) {
      try {
        return await this.use(name, (ns) => fn(ns, true));
      } catch (err) {
        if (err instanceof DashboardHttpError && err.statusCode === 404) return undefined;
        throw err;
      }
    }
    let ns: Namespace;
    try {
      ns = await this.broker.attach(name);
    } catch (err) {
      if (isDbrError(err, 'DBR_ERR_UNAVAIL') || isDbrError(err, 'DBR_ERR_NSINVAL')) return undefined;
      throw err;
    }
    try {
      return await fn(ns, false);
    } finally {
      await ns.close().catch(() => undefined);
    }
  }

  /** Detaches a namespace now (e.g. it is pending deletion), once nobody uses it. */
  retire(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    this.entries.delete(name);
    entry.retired = true;
    if (entry.leases === 0) void entry.ns.then((ns) => ns.close()).catch(() => undefined);
  }

  /** Detaches namespaces idle for longer than the idle period. */
  sweep(now = Date.now()): void {
    for (const [name, entry] of this.entries) {
      if (entry.leases === 0 && now - entry.lastUsed >= this.idleMs) this.retire(name);
    }
  }

  /** Detaches everything. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.ns.then((ns) => ns.close()).catch(() => undefined)));
  }
}

function notFound(name: string, err: unknown): Error {
  if (isDbrError(err, 'DBR_ERR_UNAVAIL') || isDbrError(err, 'DBR_ERR_NSINVAL')) {
    return new DashboardHttpError(404, 'NAMESPACE_NOT_FOUND', `Namespace "${name}" does not exist (or is being deleted): pick one from the overview.`);
  }
  return err as Error;
}
