/**
 * Writes tuples exactly as @tsdbr/worker does (docs/protocol.md), with its tuple names: task envelopes in the
 * bands, a worker that claims them into its slot, beats its heartbeat, puts results and dead letters. The
 * dashboard's task views are tested step by step against it (browser-real-workers.test.ts runs real workers).
 */
import { hostname } from 'node:os';
import { msgpack, type Namespace } from '@tsdbr/core';
import { QueueNames } from '@tsdbr/worker';

const mp = msgpack<unknown>();

/** Tuple names of a queue (@tsdbr/worker's). */
export const q = (queue: string) => new QueueNames(queue);

/** Submits tasks (msgpack envelopes) like TaskClient.submit. */
export async function submit(ns: Namespace, queue: string, task: string, inputs: unknown[], prefix = 't'): Promise<string[]> {
  const ids = inputs.map((_, i) => `${prefix}${i}`);
  await ns.putMany(inputs.map((input, i): [string, Uint8Array] => [q(queue).pending(), mp.encode({ id: ids[i], task, input, att: 1, at: Date.now() })]));
  return ids;
}

/** Appends a dead letter like a worker whose task failed for good. */
export async function deadLetter(ns: Namespace, queue: string, id: string, message: string, input: unknown): Promise<void> {
  const env = { id, task: 'render-frame', input, att: 3, at: Date.now() - 5000 };
  await ns.put(q(queue).dead(), mp.encode({ k: 'd', id, task: 'render-frame', queue, error: { name: 'RangeError', message, stack: `RangeError: ${message}\n    at render (render.ts:1:1)` }, attempts: 3, failedAt: Date.now(), env }));
}

/** A worker simulated in-process: claims tasks one at a time when step() is called. */
export class SimWorker {
  private seq = 0;
  private readonly startedAt = Date.now();
  readonly stats = { claimed: 0, completed: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, recovered: 0 };
  running: { id: string; task: string; queue: string; attempt: number; startedAt: number; progress?: unknown }[] = [];

  constructor(
    readonly ns: Namespace,
    readonly id: string,
    readonly queue: string,
    readonly leaseTtlMs = 30_000,
  ) {}

  /** Writes the heartbeat (put the new value, pop the old). */
  async beat(): Promise<void> {
    const name = `worker:${this.id}`;
    const value = { id: this.id, host: hostname(), pid: process.pid, startedAt: this.startedAt, lastBeat: Date.now(), seq: ++this.seq, leaseTtlMs: this.leaseTtlMs, queues: [this.queue], concurrency: 1, tasks: this.running, stats: this.stats };
    await this.ns.put(name, JSON.stringify(value));
    while ((await this.ns.count(name)) > 1) await this.ns.tryGet(name);
  }

  /** Claims one task into the slot (atomic move); undefined if none waits. */
  async claim(): Promise<string | undefined> {
    try {
      const bytes = await this.ns.moveValue(q(this.queue).pending(), this.ns, q(this.queue).run(this.id, 0), { timeout: 0 });
      const env = mp.decode(bytes) as { id: string; task: string; att: number };
      this.stats.claimed++;
      this.running = [{ id: env.id, task: env.task, queue: this.queue, attempt: env.att, startedAt: Date.now(), progress: { current: 1, total: 4 } }];
      await this.beat();
      return env.id;
    } catch {
      return undefined;
    }
  }

  /** Finishes the claimed task: result out, slot emptied. */
  async finish(): Promise<void> {
    const t = this.running[0];
    if (!t) return;
    await this.ns.get(q(this.queue).run(this.id, 0), { timeout: 0 });
    await this.ns.put(q(this.queue).result(t.id), mp.encode({ k: 'r', id: t.id, task: t.task, ok: true, output: 1, attempts: 1, finishedAt: Date.now() }));
    this.stats.completed++;
    this.running = [];
    await this.beat();
  }

  async stop(): Promise<void> {
    await this.ns.remove(`worker:${this.id}`);
  }
}
