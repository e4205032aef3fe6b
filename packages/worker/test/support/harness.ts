/** Test helpers: a fresh namespace per test, silent loggers, workers that are always closed. */
import { Broker, type Namespace } from '@tsdbr/core';
import { afterEach } from 'vitest';
import { createLogger, TaskClient, Worker, type WorkerOptions } from '../../src/index.js';

export const silent = createLogger({ level: (process.env.TEST_LOG_LEVEL as 'silent') ?? 'silent', pretty: false });

/** True when the tests run against Redis (DBR_SERVER set). */
export const onRedis = (process.env.DBR_SERVER ?? '').length > 0 && !process.env.DBR_SERVER!.startsWith('mem://');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

let counter = 0;

/** A namespace unique to this test (deleted afterwards). */
export async function freshNamespace(label = 't'): Promise<{ broker: Broker; ns: Namespace; name: string }> {
  const broker = new Broker();
  const name = `wt-${label}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const ns = await broker.create(name);
  cleanups.push(async () => {
    await ns.remove({ template: '*' }).catch(() => undefined);
    await broker.close();
    await new Broker().delete(name).catch(() => undefined);
  });
  return { broker, ns, name };
}

/** A started worker on `ns`, closed after the test. */
export async function startWorker(ns: Namespace, options: Omit<WorkerOptions, 'namespace'>): Promise<Worker> {
  const w = new Worker({ logger: silent, leaseTtl: '2s', ...options, namespace: ns });
  await w.start();
  cleanups.push(() => w.close({ graceMs: 0 }));
  return w;
}

/** A client on `ns`. */
export function clientOn(ns: Namespace): TaskClient {
  return new TaskClient({ namespace: ns });
}

/** Registers a cleanup. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(async () => fn());
}

/** Waits until cond() is true, checking every `everyMs` (test helper only). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
