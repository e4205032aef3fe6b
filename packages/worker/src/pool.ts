/**
 * Worker pools: N child processes (Redis: they share the tuple space through the server) or N worker_threads
 * (embedded mem backend: threads of one process share it). Crashed members are restarted with backoff.
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

/** What each pool member runs. Serialized to the member (workerData or an environment variable). */
export interface PoolMemberConfig {
  /** Path of the tasks module. */
  tasksModule: string;
  concurrency: number;
  queues?: string[];
  namespace?: string;
  leaseTtl?: string;
  shutdownGrace?: string;
  logLevel?: string;
}

/** Options of a pool. */
export interface PoolOptions {
  member: PoolMemberConfig;
  /** Number of members. */
  size: number;
  /** 'processes' (needs a shared backend such as Redis) or 'threads' (one process). */
  kind: 'processes' | 'threads';
  log: Logger;
  /** First restart delay (default 500 ms), doubled per quick crash up to maxRestartDelayMs (default 30 s). */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Extra environment of child processes. */
  env?: NodeJS.ProcessEnv;
}

/** The environment variable that carries a member's config to a child process. */
export const POOL_CONFIG_ENV = 'DBR_POOL_MEMBER';

interface Member {
  index: number;
  proc?: ChildProcess;
  thread?: ThreadWorker;
  startedAt: number;
  delayMs: number;
  restarts: number;
  exited: Promise<void>;
  /** Settles once the member's worker has started (its 'ready' message) or it exited. */
  started: Promise<void>;
}

/** Where the member entry lives: the compiled .js next to this file, else the .ts source (run through tsx). */
function entry(): { path: string; ts: boolean } {
  const js = fileURLToPath(new URL('./pool-entry.js', import.meta.url));
  if (existsSync(js)) return { path: js, ts: false };
  return { path: fileURLToPath(new URL('./pool-entry.ts', import.meta.url)), ts: true };
}

function tsxApi(): string {
  return pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
}

function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** A pool of worker processes or threads. Events: 'exit' (index, code), 'restart' (index, delayMs). */
export class WorkerPool extends EventEmitter {
  private readonly members: Member[] = [];
  private closing = false;

  constructor(private readonly o: PoolOptions) {
    super();
  }

  /** Starts every member. */
  start(): void {
    for (let i = 0; i < this.o.size; i++) this.spawn(i, this.o.restartDelayMs ?? 500, 0);
  }

  /** Number of members running. */
  get size(): number {
    return this.members.filter(Boolean).length;
  }

  /** Process ids of the child processes (kind 'processes'). */
  pids(): number[] {
    return this.members.map((m) => m?.proc?.pid).filter((p): p is number => p !== undefined);
  }

  /** Per member: the pid of its process, or the threadId of its thread (undefined while restarting). */
  memberIds(): (number | undefined)[] {
    return this.members.map((m) => m?.proc?.pid ?? m?.thread?.threadId);
  }

  private spawn(index: number, delayMs: number, restarts: number): void {
    const { path, ts } = entry();
    const m: Member = { index, startedAt: Date.now(), delayMs, restarts, exited: Promise.resolve(), started: Promise.resolve() };
    let onReady: () => void = () => undefined;
    m.started = new Promise<void>((resolve) => (onReady = resolve));
    const onMessage = (msg: { type?: string } | null) => {
      if (msg?.type === 'ready') onReady();
    };
    let onExit: (code: number | null) => void = () => undefined;
    m.exited = new Promise<void>((resolve) => {
      onExit = (code) => {
        onReady();
        resolve();
        this.exited(m, code);
      };
    });
    const execArgv = ts ? ['--import', tsxLoader()] : [];
    if (this.o.kind === 'processes') {
      m.proc = fork(path, [], {
        execArgv: [...process.execArgv.filter((a) => !a.startsWith('--inspect')), ...execArgv],
        env: { ...process.env, ...this.o.env, [POOL_CONFIG_ENV]: JSON.stringify({ ...this.o.member, index }) },
        stdio: 'inherit',
      });
      m.proc.on('exit', (code, signal) => onExit(signal ? null : code));
      m.proc.on('message', onMessage);
      // unheard, an 'error' crashes the pool: e.g. the shutdown message written to a member that just died (EPIPE)
      m.proc.on('error', (err) => this.o.log.error({ err, member: index }, 'pool member process error'));
    } else {
      // A thread cannot take --import: a .ts entry is loaded through tsx's API from a small bootstrap.
      const target = ts ? `import(${JSON.stringify(tsxApi())}).then((m) => m.tsImport(${JSON.stringify(pathToFileURL(path).href)}, ${JSON.stringify(import.meta.url)}))` : path;
      m.thread = new ThreadWorker(target, { eval: ts, workerData: { ...this.o.member, index }, env: { ...process.env, ...this.o.env } });
      m.thread.on('error', (err) => this.o.log.error({ err, member: index }, 'pool thread crashed'));
      m.thread.on('exit', (code) => onExit(code));
      m.thread.on('message', onMessage);
    }
    this.members[index] = m;
  }

  private exited(m: Member, code: number | null): void {
    this.emit('exit', m.index, code);
    if (this.closing) return;
    const ranLong = Date.now() - m.startedAt > 60_000;
    const delay = ranLong ? (this.o.restartDelayMs ?? 500) : m.delayMs;
    this.o.log.warn({ member: m.index, code, restartInMs: delay }, `pool member ${m.index} exited (code ${code}); restarting`);
    this.emit('restart', m.index, delay);
    setTimeout(() => {
      if (!this.closing) this.spawn(m.index, Math.min(delay * 2, this.o.maxRestartDelayMs ?? 30_000), m.restarts + 1);
    }, delay).unref();
  }

  /**
   * Kills one member abruptly (SIGKILL, or terminate() for a thread); it is restarted. For fault tests.
   * A thread is terminated only once it has started: terminated inside koffi's library load, it aborts the
   * whole process (koffi then throws an error V8 refuses while terminating, which node-addon-api makes fatal).
   */
  async kill(index: number): Promise<void> {
    const m = this.members[index];
    if (m === undefined) return;
    if (m.proc !== undefined) m.proc.kill('SIGKILL');
    else if (m.thread !== undefined) {
      await m.started;
      await m.thread.terminate();
    }
    await m.exited;
  }

  /**
   * Asks every member to shut down gracefully and waits for them. By message (see pool-entry.ts): a member that
   * got the same signal from the process group counts the pool's request as no second signal.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const m of this.members) {
      const proc = m?.proc;
      if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
        if (proc.connected) proc.send({ type: 'shutdown' });
        else proc.kill('SIGTERM');
      }
      m?.thread?.postMessage({ type: 'shutdown' });
    }
    await Promise.all(this.members.map((m) => m?.exited));
  }

  /** Kills every member at once (second signal). */
  forceKill(): void {
    this.closing = true;
    for (const m of this.members) {
      m?.proc?.kill('SIGKILL');
      void m?.thread?.terminate();
    }
  }
}
