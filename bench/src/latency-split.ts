/**
 * Where one task's submit -> result latency goes, next to the floor under it. Every iteration runs, in turn, a
 * no-op task on worker A, the same task on worker B (another process, its own queue) and a bare ping-pong
 * (put -> get in an echo process -> put back -> get), so the machine's drift hits all three alike. Prints p50s
 * of the whole round trip and of its legs (CLOCK_MONOTONIC is shared by all processes):
 *   out   submit() or put() returns (the producer's put is acknowledged);
 *   seen  from "out" to the worker's run() or the echo's get returning;
 *   back  from there to the result or the pong reaching the producer.
 * A profiling aid, not a pass/fail bench:
 *   eval "$(dbr redis up --dir /tmp/split-redis)"; tsx bench/src/latency-split.ts [ITERATIONS] [--b-env K=V,...]
 * --b-env starts worker B with extra environment variables, for A/B runs of an experimental switch.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Broker } from '@tsdbr/core';
import { createLogger, defineTask, TaskClient, Worker } from '@tsdbr/worker';
import { z } from 'zod';
import { Echo } from './peers/echo.js';

const now = () => Number(process.hrtime.bigint()) / 1e3; // microseconds, CLOCK_MONOTONIC
const taskOn = (queue: string) =>
  defineTask({ name: 'stamp', queue, input: z.object({}), output: z.number(), retries: 0, run: () => now() });

const [role, nsName, queue] = process.argv.slice(2);

if (role === '--worker' || role === '--echo') {
  let done: () => Promise<void>;
  if (role === '--worker') {
    const worker = new Worker({ tasks: [taskOn(queue as string)], concurrency: 1, namespace: nsName as string, logger: createLogger({ level: 'silent', pretty: false }) });
    await worker.start();
    done = () => worker.close({ graceMs: 1000 });
  } else {
    const echo = new Echo(nsName as string, () => {
      const pong = Buffer.alloc(8);
      pong.writeDoubleLE(now());
      return pong;
    });
    echo.start();
    done = () => echo.stop();
  }
  process.once('message', async () => {
    await done();
    process.exit(0);
  });
  process.send?.('ready');
} else {
  if (process.argv.includes('--help')) {
    console.log('usage: tsx bench/src/latency-split.ts [ITERATIONS=3000] [--b-env K=V,...]   (set DBR_SERVER/DBR_AUTHFILE for Redis)');
    process.exit(0);
  }
  if (!process.env.DBR_SERVER) {
    console.error('latency-split needs a Redis shared by its processes: eval "$(dbr redis up --dir /tmp/split-redis)" first (sets DBR_SERVER and DBR_AUTHFILE).');
    process.exit(2);
  }
  const iterations = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3000);
  const bEnvArg = process.argv[process.argv.indexOf('--b-env') + 1];
  const bEnv = process.argv.includes('--b-env') && bEnvArg ? Object.fromEntries(bEnvArg.split(',').map((kv) => kv.split('=') as [string, string])) : {};
  const name = `latency-split-${process.pid}`;
  const broker = new Broker();
  const ns = await broker.create(name);
  const client = new TaskClient({ namespace: ns });
  const self = fileURLToPath(import.meta.url);
  const start = async (args: string[], env: Record<string, string> = {}) => {
    const child = fork(self, args, { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env } });
    await new Promise((resolve) => child.once('message', resolve));
    return child;
  };
  const children = [await start(['--worker', name, 'split-a']), await start(['--worker', name, 'split-b'], bEnv), await start(['--echo', name])];
  const tasks = { A: taskOn('split-a'), B: taskOn('split-b') };
  const ping = Buffer.alloc(64, 1);
  type Case = 'A' | 'B' | 'echo';
  const legs: Record<Case, { total: number[]; out: number[]; seen: number[]; back: number[] }> = {
    A: { total: [], out: [], seen: [], back: [] },
    B: { total: [], out: [], seen: [], back: [] },
    echo: { total: [], out: [], seen: [], back: [] },
  };
  const once = async (c: Case, record: boolean) => {
    const t0 = now();
    let out: number;
    let mark: number;
    if (c === 'echo') {
      await ns.put('ping', ping);
      out = now();
      mark = (await ns.get('pong', { timeout: '60s' })).readDoubleLE(0);
    } else {
      const handle = await client.submit(tasks[c], {});
      out = now();
      mark = await handle.result({ timeout: '60s' });
    }
    const t1 = now();
    if (!record) return;
    const l = legs[c];
    l.total.push(t1 - t0);
    l.out.push(out - t0);
    l.seen.push(mark - out);
    l.back.push(t1 - mark);
  };
  const order: Case[][] = [
    ['A', 'B', 'echo'],
    ['B', 'echo', 'A'],
    ['echo', 'A', 'B'],
  ];
  for (let i = 0; i < 300; i++) for (const c of order[0] as Case[]) await once(c, false);
  for (let i = 0; i < iterations; i++) {
    for (const c of order[i % 3] as Case[]) await once(c, true);
    if (i % 500 === 499) process.stderr.write(`  ${i + 1}/${iterations}\n`);
  }
  const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
  console.log(`p50 in microseconds over ${iterations} iterations${Object.keys(bEnv).length ? ` (B with ${JSON.stringify(bEnv)})` : ''}`);
  console.log('case   total    out   seen   back');
  for (const c of ['A', 'B', 'echo'] as Case[]) {
    const l = legs[c];
    console.log(`${c.padEnd(5)} ${[l.total, l.out, l.seen, l.back].map((xs) => p50(xs).toFixed(0).padStart(6)).join(' ')}`);
  }
  for (const child of children) child.send('stop');
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  await client.close();
  await ns.close();
  await broker.delete(name).catch(() => undefined);
  await broker.close();
}
