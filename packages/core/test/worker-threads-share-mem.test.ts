import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { testBroker, uniqueName } from './support/broker.js';

const distIndex = new URL('../dist/index.js', import.meta.url).href;

function runThread(source: string, data: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: data });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`thread exited with ${code}`)));
  });
}

describe('worker_threads share the embedded backend', () => {
  it.skipIf(process.env.DBR_SERVER)('a put in one thread wakes a get blocked in another', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import('${distIndex}').then(async ({ Broker }) => {
         const ns = await new Broker().attach(workerData.name);
         const pending = ns.get('ping', { timeout: 20000 });
         parentPort.postMessage('waiting');
         parentPort.postMessage((await pending).toString());
       });`,
      { eval: true, workerData: { name } },
    );
    const messages: string[] = [];
    const next = () => new Promise<string>((resolve) => w.once('message', (m: string) => resolve(m)));
    messages.push(await next());
    const reply = next();
    await ns.put('ping', 'from the main thread');
    messages.push(await reply);
    expect(messages).toEqual(['waiting', 'from the main thread']);
    await w.terminate();
    await broker.close();
    await broker.delete(name).catch(() => undefined);
  });

  it.skipIf(process.env.DBR_SERVER)('four threads consume 4,000 values exactly once', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    const threads = Array.from({ length: 4 }, () =>
      runThread(
        `const { workerData, parentPort } = require('node:worker_threads');
         import('${distIndex}').then(async ({ Broker }) => {
           const broker = new Broker();
           const ns = await broker.attach(workerData.name);
           const got = [];
           for (;;) {
             const v = (await ns.get('work', { timeout: 20000 })).toString();
             if (v === 'stop') break;
             got.push(Number(v));
           }
           await broker.close();
           parentPort.postMessage(got);
         });`,
        { name },
      ),
    );
    await ns.putMany(Array.from({ length: 4000 }, (_, i) => ['work', String(i)] as const));
    await ns.putMany(Array.from({ length: 4 }, () => ['work', 'stop'] as const));
    const all = ((await Promise.all(threads)) as number[][]).flat();
    expect(all).toHaveLength(4000);
    expect(new Set(all).size).toBe(4000);
    await broker.close();
    await broker.delete(name);
  });

  it.skipIf(process.env.DBR_SERVER)('a terminated thread leaves no waiting get behind to take values', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import('${distIndex}').then(async ({ Broker }) => {
         const ns = await new Broker().attach(workerData.name);
         ns.get('work', { timeout: 'infinite' });
         parentPort.postMessage('waiting');
       });`,
      { eval: true, workerData: { name } },
    );
    await new Promise((resolve) => w.once('message', resolve));
    await w.terminate();
    await ns.put('work', 'for a live consumer');
    expect(await ns.count('work')).toBe(1);
    await broker.close();
    await broker.delete(name).catch(() => undefined);
  });
});
