/**
 * Demo: a Monte-Carlo ensemble over the embedded tuple space.
 *
 * The main thread puts 32 parameter sets under the tuple name "task"; four worker_threads block on get("task"),
 * estimate pi with the given number of samples and seed, and put each estimate under "result:<i>". The main
 * thread collects the results by glob template and prints a table. All threads share one in-process
 * namespace: no server, no polling.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Broker, codecs } from '@tsdbr/core';
import { z } from 'zod';

const Task = z.object({ id: z.number().int(), samples: z.number().int().positive(), seed: z.number().int() });
const Result = z.object({ id: z.number().int(), estimate: z.number(), samples: z.number().int(), thread: z.number().int(), ms: z.number() });
const NAMESPACE = 'demo-ensemble';
const TASKS = 32;
const THREADS = 4;

/** A small deterministic generator, so the ensemble is reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function worker(thread: number): Promise<void> {
  const broker = new Broker();
  const ns = await broker.attach(NAMESPACE);
  const tasks = ns.channel('task', Task.nullable());
  for (;;) {
    const task = await tasks.get({ timeout: '30s' });
    if (task === null) break;
    const started = performance.now();
    const random = mulberry32(task.seed);
    let inside = 0;
    for (let i = 0; i < task.samples; i++) {
      const x = random();
      const y = random();
      if (x * x + y * y <= 1) inside++;
    }
    const result = { id: task.id, estimate: (4 * inside) / task.samples, samples: task.samples, thread, ms: performance.now() - started };
    await ns.channel(`result:${task.id}`, Result).put(result);
  }
  await broker.close();
  parentPort?.postMessage('done');
}

async function main(): Promise<void> {
  const broker = new Broker();
  await broker.delete(NAMESPACE).catch(() => undefined);
  const ns = await broker.create(NAMESPACE);
  console.log(`tsdbr demo: ${TASKS} Monte-Carlo estimates of pi on ${THREADS} worker threads, backend: ${broker.backend}\n`);

  // The threads run this same file; tsx's loader is registered in each of them first.
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const exited = Array.from({ length: THREADS }, (_, i) => {
    const thread = new Worker(bootstrap, { eval: true, workerData: { thread: i } });
    return new Promise((resolve, reject) => {
      thread.once('error', reject);
      thread.once('exit', resolve);
    });
  });
  const tasks = ns.channel('task', Task.nullable());
  for (let id = 0; id < TASKS; id++) await tasks.put({ id, samples: 50_000 * 2 ** (id % 6), seed: 1000 + id });
  for (let i = 0; i < THREADS; i++) await tasks.put(null);

  const results: z.infer<typeof Result>[] = [];
  for (let i = 0; i < TASKS; i++) {
    const value = await ns.get({ template: 'result:*' }, { timeout: '60s', codec: codecs.json });
    results.push(Result.parse(value));
    if (process.stdout.isTTY) process.stdout.write(`\r  collected ${i + 1}/${TASKS}`);
  }
  process.stdout.write(process.stdout.isTTY ? '\n\n' : `  collected ${TASKS}/${TASKS} results\n\n`);
  await Promise.all(exited);

  results.sort((a, b) => a.id - b.id);
  console.log('  task   samples    estimate    error      thread  ms');
  for (const r of results) {
    console.log(
      `  ${String(r.id).padStart(4)}  ${String(r.samples).padStart(9)}  ${r.estimate.toFixed(6)}  ${(r.estimate - Math.PI).toExponential(2).padStart(9)}  ${String(r.thread).padStart(6)}  ${r.ms.toFixed(1).padStart(6)}`,
    );
  }
  const total = results.reduce((s, r) => s + r.samples, 0);
  const pooled = results.reduce((s, r) => s + r.estimate * r.samples, 0) / total;
  console.log(`\n  pooled estimate over ${total.toLocaleString('en')} samples: ${pooled.toFixed(6)} (pi = ${Math.PI.toFixed(6)})`);
  await ns.close();
  await broker.delete(NAMESPACE);
}

if (isMainThread) await main();
else await worker((workerData as { thread: number }).thread);
