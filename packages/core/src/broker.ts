/**
 * The entry point of the idiomatic API: a connection to the Data Broker that creates, attaches and deletes
 * namespaces.
 * @module
 */
import { ErrorCode, PersistLevel } from './constants.js';
import { DbrError } from './errors.js';
import { Namespace } from './namespace.js';
import { type BrokerOptions, compileBrokerOptions, type CompiledBrokerOptions } from './options.js';
import { type BackendKind, checkName, checkPattern, runtime, type Runtime } from './runtime.js';
import { splitNames } from './namespace.js';

/** Options of Broker.create. */
export interface CreateOptions {
  /** Persistence level 0..5 (accepted and ignored by libdbr). */
  level?: number;
}

/**
 * A connection to the Data Broker. It uses the embedded in-process backend unless `server` (or DBR_SERVER)
 * names a Redis server. Close it, or use `await using`, to detach every namespace it opened.
 */
export class Broker implements AsyncDisposable {
  /** The options in force. */
  readonly options: CompiledBrokerOptions;
  private readonly rt: Runtime;
  private readonly attached = new Set<Namespace>();

  /** Connects (loading libdbr on first use). Throws a DbrError naming the problem if the backend is unreachable. */
  constructor(options: BrokerOptions = {}) {
    this.options = compileBrokerOptions(options);
    this.rt = runtime(this.options);
  }

  /** The backend in use: 'mem' (embedded), 'redis', 'redis-cluster', or 'foreign' (another Data Broker library). */
  get backend(): BackendKind {
    return this.rt.backend;
  }

  /** Path of the native library in use. */
  get libraryPath(): string {
    return this.rt.lib.path;
  }

  /** Creates a namespace and attaches to it. Rejects with DBR_ERR_EXISTS if it exists. */
  async create(name: string, options: CreateOptions = {}): Promise<Namespace> {
    checkName(name, 'Namespace name');
    const level = options.level ?? PersistLevel.DBR_PERST_VOLATILE_SIMPLE;
    const h = this.rt.lib.abi.dbrCreate(name, level, null);
    if (h === null) throw this.lastError(ErrorCode.DBR_ERR_EXISTS, `create namespace "${name}"`);
    return this.track(h, name);
  }

  /** Attaches to an existing namespace. Rejects with DBR_ERR_UNAVAIL if there is none. */
  async attach(name: string): Promise<Namespace> {
    checkName(name, 'Namespace name');
    const h = this.rt.lib.abi.dbrAttach(name);
    if (h === null) throw this.lastError(ErrorCode.DBR_ERR_UNAVAIL, `attach to namespace "${name}"`);
    return this.track(h, name);
  }

  /** Attaches to a namespace, creating it first if needed (safe when several processes race). */
  async open(name: string, options: CreateOptions = {}): Promise<Namespace> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attach(name);
      } catch (err) {
        if (!(err instanceof DbrError) || err.code !== 'DBR_ERR_UNAVAIL' || attempt > 3) throw err;
      }
      try {
        return await this.create(name, options);
      } catch (err) {
        if (!(err instanceof DbrError) || err.code !== 'DBR_ERR_EXISTS') throw err;
      }
    }
  }

  /**
   * Deletes a namespace and its tuples. While other clients are attached it rejects with DBR_ERR_NSBUSY and
   * the namespace goes away when the last one detaches.
   */
  async delete(name: string): Promise<void> {
    checkName(name, 'Namespace name');
    this.rt.check(this.rt.lib.abi.dbrDelete(name), `delete namespace "${name}"`);
  }

  /** Names of the namespaces matching a glob (libdbr only). */
  async namespaces(pattern = '*'): Promise<string[]> {
    checkPattern(pattern, 'Namespace pattern');
    const ext = this.rt.lib.ext;
    if (ext === undefined) throw new DbrError(ErrorCode.DBR_ERR_NOTIMPL, `Listing namespaces needs libdbr; ${this.rt.lib.path} is a plain Data Broker library (DBR_ERR_NOTIMPL).`);
    const retSize = new BigInt64Array(1);
    for (let size = 64 * 1024; ; size *= 4) {
      const buf = Buffer.allocUnsafe(size);
      const rc = ext.dbrxNamespaces(pattern, 0, buf, size, retSize);
      if (rc === ErrorCode.DBR_ERR_UBUFFER && size < 1 << 30) continue;
      this.rt.check(rc, `list namespaces "${pattern}"`);
      return splitNames(buf, Number(retSize[0]));
    }
  }

  /** Detaches every namespace this broker opened. */
  async close(): Promise<void> {
    const all = [...this.attached];
    this.attached.clear();
    await Promise.all(all.map((ns) => ns.close()));
  }

  /** Same as close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private track(handle: bigint, name: string): Namespace {
    const ns = new Namespace(this.rt, handle, name, this.options.timeoutMs, (n) => this.attached.delete(n));
    this.attached.add(ns);
    return ns;
  }

  private lastError(fallback: number, what: string): DbrError {
    const code = this.rt.lib.ext?.dbrxLastErrorCode() || fallback;
    return this.rt.error(code, what);
  }
}
