/**
 * Where the CPU of a no-op task goes: submits N tasks, runs one worker process at concurrency C, consumes every
 * result (512 result() calls in flight, as P3 does) and prints tasks/s and microseconds of CPU per task in the
 * worker, in this producer process and in redis-server (INFO cpu). A profiling aid, not a pass/fail bench:
 *   eval "$(dbr redis up --dir /tmp/cpu-redis)"; tsx bench/src/cpu-per-task.ts 20000 64
 * It also prints each process's CPU ticks by thread (node = the JS thread, dbr-io = libdbr's I/O thread).
 * PROF=1 also writes a V8 CPU profile of the worker to /tmp/prof; PREFETCH=N sets the worker's prefetch.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Broker } from '@tsdbr/core';
import { createLogger, TaskClient, type TaskHandle, Worker } from '@tsdbr/worker';
import { noop } from './peers/tasks.js';

const NS = 'cpu-per-task';

/** CPU ticks (user + system) of each thread of a process, by thread name (dbr-io, dbr-timer, node, ...). */
function threadTicks(pid: number): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

function ticksSince(pid: number, base: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of threadTicks(pid)) if (t - (base.get(name) ?? 0) > 0) out[name] = t - (base.get(name) ?? 0);
  return out;
}
const [first, second] = process.argv.slice(2);

if (first === '--worker') {
  const worker = new Worker({ tasks: [noop], concurrency: Number(second), namespace: NS, ...(process.env.PREFETCH ? { prefetch: Number(process.env.PREFETCH) } : {}), logger: createLogger({ level: 'silent', pretty: false }) });
  let base: NodeJS.CpuUsage | undefined;
  process.on('message', async (m: string) => {
    if (m === 'go') {
      base = process.cpuUsage();
      await worker.start();
      process.send?.('started');
    } else if (m === 'stop') {
      await worker.close({ graceMs: 1000 });
      process.send?.(JSON.stringify(process.cpuUsage(base)));
      process.exit(0);
    }
  });
  process.send?.('ready');
} else {
  const n = Number(first ?? 20_000);
  const concurrency = Number(second ?? 64);
  const server = process.env.DBR_SERVER;
  if (!server) throw new Error('Set DBR_SERVER (and DBR_AUTHFILE) to a Redis: eval "$(dbr redis up)"');
  const password = process.env.DBR_AUTHFILE ? readFileSync(process.env.DBR_AUTHFILE, 'utf8').trim() : undefined;
  const redis = new Redis({ port: Number(server.split(':').pop()), password });
  const redisCpu = async () => {
    const info = await redis.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  };
  const broker = new Broker();
  await broker.delete(NS).catch(() => undefined);
  const ns = await broker.create(NS);
  const client = new TaskClient({ namespace: ns });
  const handles: TaskHandle<number>[] = [];
  for (let i = 0; i < n; i += 1000) handles.push(...(await client.submitMany(noop, Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ i: i + j })))));
  const execArgv = ['--import', 'tsx', ...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', '--cpu-prof-interval=100'] : [])];
  const child = fork(fileURLToPath(import.meta.url), ['--worker', String(concurrency)], { execArgv });
  const next = () => new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  await next();
  const redis0 = await redisCpu();
  const workerThreads0 = threadTicks(child.pid as number);
  const selfThreads0 = threadTicks(process.pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  child.send('go');
  await next();
  let k = 0;
  let wrong = 0;
  await Promise.all(
    Array.from({ length: 512 }, async () => {
      while (k < handles.length) {
        const i = k++;
        if ((await (handles[i] as TaskHandle<number>).result({ timeout: '60s' })) !== i) wrong++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const redisUs = ((await redisCpu()) - redis0) * 1e6;
  const self = process.cpuUsage(self0);
  const threads = { worker: ticksSince(child.pid as number, workerThreads0), producer: ticksSince(process.pid, selfThreads0) };
  child.send('stop');
  const worker = JSON.parse(await next()) as NodeJS.CpuUsage;
  const per = (us: number) => Number((us / n).toFixed(1));
  console.log(JSON.stringify({ tasksPerSecond: Math.round(n / secs), wrongResults: wrong, usPerTask: { worker: per(worker.user + worker.system), producer: per(self.user + self.system), redis: per(redisUs) }, ticksByThread: threads }));
  await ns.close();
  await broker.delete(NS).catch(() => undefined);
  await broker.close();
  redis.disconnect();
}
