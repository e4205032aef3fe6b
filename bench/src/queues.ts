/**
 * Drivers shared by the task-queue targets (P3, P6, P7): worker processes for tsdbr and BullMQ on the same
 * Redis, throughput over a fixed number of pre-submitted no-op tasks, and submit -> result latency.
 *
 * Fairness (see the notes of each target):
 * - Tasks are submitted before the workers start; the clock starts when every worker process is told to go
 *   (they are forked, imported and connected before), and stops when the last task is done.
 * - Neither side keeps unbounded state: ours consumes every result with TaskHandle.result() (a get, which
 *   removes it) in the producer; BullMQ jobs are added with removeOnComplete/removeOnFail, so a finished job
 *   is deleted by the worker, and the producer either receives every result as QueueEvents 'completed'
 *   events (P3) or polls the queue's counts until nothing is waiting or active.
 * - Bulk submit: TaskClient.submitMany vs Queue.addBulk, batches of 1,000, default options otherwise.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Broker, type Namespace } from '@tsdbr/core';
import { TaskClient, type TaskHandle } from '@tsdbr/worker';
import type { HostCommand, HostStart } from './peers/worker-host.js';
import { BENCH_QUEUE, noop } from './peers/tasks.js';

export const BATCH = 1000;

export interface RedisInfo {
  host: string;
  port: number;
  password: string;
}

/** Host, port and password of the bench Redis (from DBR_SERVER / DBR_AUTHFILE). */
export function redisInfo(server: string): RedisInfo {
  const port = Number(server.split(':').pop());
  const authFile = process.env.DBR_AUTHFILE;
  return { host: '127.0.0.1', port, password: authFile ? readFileSync(authFile, 'utf8').trim() : '' };
}

const hostPath = fileURLToPath(new URL('./peers/worker-host.ts', import.meta.url));

/** One forked worker process, driven over IPC. */
class Host {
  readonly proc: ChildProcess;
  private readonly replies: { ok: string; error?: string }[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<void>;

  constructor() {
    this.proc = fork(hostPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: { ok: string; error?: string }) => {
      this.replies.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
  }

  async next(expect: string): Promise<void> {
    while (this.replies.length === 0) {
      if (this.proc.exitCode !== null) throw new Error('worker host exited');
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const m = this.replies.shift()!;
    if (m.ok !== expect) throw new Error(`worker host answered ${m.ok} (wanted ${expect}): ${m.error ?? ''}`);
  }

  send(cmd: HostCommand): void {
    this.proc.send(cmd);
  }
}

/** A set of worker processes, forked once and reused across cases. */
export class Hosts {
  private readonly hosts: Host[] = [];

  async ensure(n: number): Promise<void> {
    while (this.hosts.length < n) {
      const h = new Host();
      this.hosts.push(h);
      await h.next('ready');
    }
  }

  /** Prepares `n` workers (imports, connections) and returns a function that starts them all at once. */
  async prepare(n: number, start: Omit<HostStart, 'cmd'>): Promise<{ go: () => Promise<void>; stop: () => Promise<void> }> {
    await this.ensure(n);
    const used = this.hosts.slice(0, n);
    for (const h of used) h.send({ cmd: 'start', ...start });
    await Promise.all(used.map((h) => h.next('prepared')));
    return {
      go: async () => {
        for (const h of used) h.send({ cmd: 'go' });
        await Promise.all(used.map((h) => h.next('started')));
      },
      stop: async () => {
        for (const h of used) h.send({ cmd: 'stop' });
        await Promise.all(used.map((h) => h.next('stopped')));
      },
    };
  }

  async close(): Promise<void> {
    for (const h of this.hosts) h.send({ cmd: 'exit' });
    await Promise.all(this.hosts.map((h) => Promise.race([h.exited, new Promise((r) => setTimeout(r, 3000))])));
    for (const h of this.hosts) if (h.proc.exitCode === null) h.proc.kill('SIGKILL');
    this.hosts.length = 0;
  }
}

/** Both systems on one Redis: our namespace and client, BullMQ's queue and a plain ioredis for INFO. */
export class Systems {
  readonly hosts = new Hosts();
  readonly redis: RedisInfo;
  readonly broker = new Broker();
  ns!: Namespace;
  client!: TaskClient;
  readonly nsName = `bench-q-${process.pid}`;
  readonly bullQueue: Queue;
  readonly admin: Redis;
  private events: QueueEvents | undefined;

  constructor(server: string) {
    this.redis = redisInfo(server);
    this.bullQueue = new Queue(BENCH_QUEUE, { connection: { ...this.redis } });
    this.admin = new Redis({ ...this.redis });
  }

  async open(): Promise<void> {
    this.ns = await this.broker.create(this.nsName);
    this.client = new TaskClient({ namespace: this.ns });
    await this.bullQueue.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.hosts.close();
    await this.events?.close();
    await this.bullQueue.close();
    this.admin.disconnect();
    await this.ns.remove({ template: '*' }).catch(() => undefined);
    await this.ns.close();
    await this.broker.delete(this.nsName).catch(() => undefined);
    await this.broker.close();
  }

  startOf(system: HostStart['system'], concurrency: number): Omit<HostStart, 'cmd'> {
    return { system, concurrency, namespace: this.nsName, queue: BENCH_QUEUE, redis: this.redis };
  }

  /** Redis used_memory in bytes. */
  async usedMemory(): Promise<number> {
    const info = await this.admin.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)?.[1]);
  }

  // ---- tsdbr ----

  /** Submits n no-op tasks with submitMany in batches; returns the handles and the submit rate (tasks/s). */
  async oursSubmit(n: number): Promise<{ handles: TaskHandle<number>[]; rate: number }> {
    const handles: TaskHandle<number>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ i: i + j }));
      handles.push(...(await this.client.submitMany(noop, inputs)));
    }
    return { handles, rate: n / ((performance.now() - t0) / 1000) };
  }

  /** tasks/s of `procs` worker processes at `concurrency` over n pre-submitted tasks, every result consumed. */
  async oursThroughput(procs: number, concurrency: number, n: number, window = 512): Promise<{ rate: number; submitRate: number }> {
    const { handles, rate: submitRate } = await this.oursSubmit(n);
    const w = await this.hosts.prepare(procs, this.startOf('ours', concurrency));
    const t0 = performance.now();
    await w.go();
    let next = 0;
    let sum = 0;
    const lane = async () => {
      while (next < handles.length) {
        const h = handles[next++]!;
        const v = await h.result({ timeout: '120s' });
        sum += v;
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, n) }, lane));
    const secs = (performance.now() - t0) / 1000;
    await w.stop();
    if (sum !== (n * (n - 1)) / 2) throw new Error(`ours: wrong results (sum ${sum})`);
    const left = await this.ns.count(`q:{${BENCH_QUEUE}}:pending`);
    if (left !== 0) throw new Error(`ours: ${left} tasks left pending`);
    return { rate: n / secs, submitRate };
  }

  /**
   * tasks/s of fire-and-forget tasks (ignoreResult: no result stored, like BullMQ's removeOnComplete), the
   * producer polling the queue every 5 ms until nothing is pending or claimed, as the BullMQ driver does.
   */
  async oursFireAndForget(procs: number, concurrency: number, n: number): Promise<number> {
    for (let i = 0; i < n; i += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ i: i + j }));
      await this.client.submitMany(noop, inputs, { ignoreResult: true });
    }
    const w = await this.hosts.prepare(procs, this.startOf('ours', concurrency));
    const t0 = performance.now();
    await w.go();
    const pending = `q:{${BENCH_QUEUE}}:pending`;
    while ((await this.ns.count(pending)) > 0 || (await this.ns.list(`q:{${BENCH_QUEUE}}:run:*`, { limit: 1 })).length > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const secs = (performance.now() - t0) / 1000;
    await w.stop();
    const dead = await this.ns.count(`q:{${BENCH_QUEUE}}:dead`);
    if (dead !== 0) throw new Error(`ours: ${dead} dead letters`);
    return n / secs;
  }

  /** submit -> result latencies (ms, sorted) of one task at a time, one worker process at concurrency 1. */
  async oursLatency(samples: number, warmup = 50): Promise<number[]> {
    const w = await this.hosts.prepare(1, this.startOf('ours', 1));
    await w.go();
    const lat: number[] = [];
    for (let i = 0; i < samples + warmup; i++) {
      const t0 = performance.now();
      const h = await this.client.submit(noop, { i });
      const out = await h.result({ timeout: '60s' });
      const dt = performance.now() - t0;
      if (out !== i) throw new Error(`ours: wrong result ${out} for ${i}`);
      if (i >= warmup) lat.push(dt);
    }
    await w.stop();
    return lat.sort((a, b) => a - b);
  }

  /**
   * Round trips (ms, sorted) of a bare put -> get in another process -> put back -> get, through @tsdbr/core
   * with no task machinery: the floor under oursLatency on this machine.
   */
  async pingPongLatency(samples: number, warmup = 300): Promise<number[]> {
    const w = await this.hosts.prepare(1, this.startOf('echo', 1));
    await w.go();
    const value = Buffer.alloc(64, 1);
    const lat: number[] = [];
    for (let i = 0; i < samples + warmup; i++) {
      const t0 = performance.now();
      await this.ns.put('ping', value);
      await this.ns.get('pong', { timeout: '60s' });
      if (i >= warmup) lat.push(performance.now() - t0);
    }
    await w.stop();
    return lat.sort((a, b) => a - b);
  }

  // ---- BullMQ ----

  async bullSubmit(n: number, opts: Record<string, unknown> = { removeOnComplete: true, removeOnFail: true }): Promise<number> {
    const t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const jobs = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts }));
      await this.bullQueue.addBulk(jobs);
    }
    return n / ((performance.now() - t0) / 1000);
  }

  /** The QueueEvents of the bench queue, opened once (it reads the queue's event stream). */
  private async queueEvents(): Promise<QueueEvents> {
    this.events ??= new QueueEvents(BENCH_QUEUE, { connection: { ...this.redis } });
    await this.events.waitUntilReady();
    return this.events;
  }

  /**
   * tasks/s of `procs` BullMQ worker processes over n pre-added jobs. `readResults`: the producer receives every
   * result, as BullMQ delivers them (QueueEvents 'completed', the mechanism of job.waitUntilFinished), and stops
   * at the n-th; otherwise it polls the queue's counts every 5 ms.
   */
  async bullThroughput(procs: number, concurrency: number, n: number, readResults = false): Promise<{ rate: number; submitRate: number }> {
    await this.bullQueue.obliterate({ force: true });
    const events = readResults ? await this.queueEvents() : undefined;
    const submitRate = await this.bullSubmit(n);
    const w = await this.hosts.prepare(procs, this.startOf('bull', concurrency));
    let received = 0;
    let sum = 0;
    let allReceived: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    const onCompleted = ({ returnvalue }: { returnvalue: unknown }) => {
      sum += Number(returnvalue);
      if (++received === n) allReceived();
    };
    events?.on('completed', onCompleted);
    const t0 = performance.now();
    await w.go();
    if (events) await this.bullResults(done, () => received, n);
    else await this.bullDrained();
    const secs = (performance.now() - t0) / 1000;
    events?.off('completed', onCompleted);
    if (events && sum !== (n * (n - 1)) / 2) throw new Error(`bullmq: wrong results (sum ${sum})`);
    await w.stop();
    const failed = await this.bullQueue.getFailedCount();
    if (failed !== 0) throw new Error(`bullmq: ${failed} failed jobs`);
    await this.bullQueue.obliterate({ force: true });
    return { rate: n / secs, submitRate };
  }

  /** Polls the queue's counts every 5 ms until nothing is waiting, active or delayed. */
  private async bullDrained(): Promise<void> {
    for (;;) {
      const c = await this.bullQueue.getJobCounts('wait', 'active', 'prioritized', 'delayed');
      if (Object.values(c).reduce((a, b) => a + b, 0) === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits for the n-th 'completed' event; fails when none comes for 5 s (a trimmed event stream loses some). */
  private async bullResults(done: Promise<void>, received: () => number, n: number): Promise<void> {
    let last = -1;
    for (;;) {
      const tick = await Promise.race([done.then(() => 'done' as const), new Promise<'tick'>((r) => setTimeout(() => r('tick'), 5000))]);
      if (tick === 'done') return;
      if (received() === last) throw new Error(`bullmq: ${n - received()} 'completed' events never came`);
      last = received();
    }
  }

  async bullLatency(samples: number, warmup = 50): Promise<number[]> {
    await this.bullQueue.obliterate({ force: true });
    await this.queueEvents();
    const w = await this.hosts.prepare(1, this.startOf('bull', 1));
    await w.go();
    const lat: number[] = [];
    for (let i = 0; i < samples + warmup; i++) {
      const t0 = performance.now();
      const job = await this.bullQueue.add('noop', { i });
      const out = (await job.waitUntilFinished(this.events!, 60_000)) as number;
      const dt = performance.now() - t0;
      if (out !== i) throw new Error(`bullmq: wrong result ${out} for ${i}`);
      if (i >= warmup) lat.push(dt);
    }
    await w.stop();
    await this.bullQueue.obliterate({ force: true });
    return lat.sort((a, b) => a - b);
  }
}
