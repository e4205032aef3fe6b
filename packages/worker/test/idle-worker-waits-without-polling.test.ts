import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The commands Redis receives that name `namespace` during `ms` (redis-cli monitor: tests may look at Redis). */
async function commandsNaming(namespace: string, ms: number): Promise<string[]> {
  const port = (process.env.DBR_SERVER as string).split(':').pop() as string;
  const password = readFileSync(process.env.DBR_AUTHFILE as string, 'utf8').trim();
  const monitor = spawn('redis-cli', ['-p', port, '--no-auth-warning', '-a', password, 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  monitor.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await until(() => out.startsWith('OK'), 'redis-cli monitor to start', 10_000);
  await sleep(ms);
  monitor.kill();
  return out.split('\n').filter((line) => line.includes(namespace));
}

describe('an idle worker', () => {
  // one node: MONITOR sees one server's traffic
  it.runIf(process.env.TSDBR_TEST_BACKEND === 'redis')('does not poll the delayed buckets while no task is delayed', async () => {
    const { ns, name } = await freshNamespace('idle');
    await startWorker(ns, { tasks: [add], leaseTtl: '60s', recoveryInterval: '30s' });
    await sleep(2500); // the blocking claim's first 2 s are server-side pops re-sent in slices (libdbr)
    const sent = (await commandsNaming(name, 3000)).filter((line) => !line.includes('[0 lua]'));
    expect(sent.filter((line) => line.includes(':delayed:'))).toEqual([]);
    // what is left is libdbr's safety re-check of its two waits (the claim, the delays list): one a second each
    expect(sent.length).toBeLessThanOrEqual(8);
  });

  it('counts each delayed task in the delays list until it is promoted, and walks the buckets only meanwhile', async () => {
    const { ns } = await freshNamespace('delays');
    await startWorker(ns, { tasks: [add] });
    const client = clientOn(ns);
    const one = await client.submit(add, { a: 1, b: 2 }, { delay: '300ms' });
    const many = await client.submitMany(add, [{ a: 1, b: 1 }, { a: 2, b: 2 }], { delay: '300ms' });
    expect(await ns.count('q:{default}:delays')).toBe(3);
    expect(await one.result()).toBe(3);
    expect(await Promise.all(many.map((h) => h.result()))).toEqual([2, 4]);
    expect(await ns.count('q:{default}:delays')).toBe(0);
  });

  it('still runs tasks put in buckets without their delays entries, due or not yet due (counted by the sweep at start)', async () => {
    const { ns } = await freshNamespace('legacy');
    const client = clientOn(ns);
    const due = await client.submit(add, { a: 5, b: 5 }, { delay: '100ms' });
    const later = await client.submit(add, { a: 6, b: 6 }, { delay: '1500ms' });
    await ns.remove('q:{default}:delays'); // as a writer that predates the list would leave it
    await sleep(200);
    await startWorker(ns, { tasks: [add], leaseTtl: '60s' }); // the periodic sweep: every 5 minutes
    expect(await due.result({ timeout: '8s' })).toBe(10);
    expect(await later.result({ timeout: '8s' })).toBe(12);
  });

  it('walks from where the list was last empty, so an event loop stalled past a bucket still promotes it', async () => {
    const { ns } = await freshNamespace('stall');
    await startWorker(ns, { tasks: [add], leaseTtl: '60s' }); // the periodic sweep: every 5 minutes
    await sleep(300); // the promoter waits on the empty list
    const h = await clientOn(ns).submit(add, { a: 7, b: 7 }, { delay: '20ms' });
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      // a synchronous task hogging the worker's thread: the promoter wakes long after the bucket came due
    }
    expect(await h.result({ timeout: '8s' })).toBe(14);
  });

  it('drops delays entries that count no task (left by a crash) when no bucket is left', async () => {
    const { ns } = await freshNamespace('stale');
    const staleBucket = String(Math.floor(Date.now() / 100) * 100 - 60_000);
    await ns.putMany([['q:{default}:delays', staleBucket], ['q:{default}:delays', staleBucket]]);
    await startWorker(ns, { tasks: [add] });
    await until(async () => (await ns.count('q:{default}:delays')) === 0, 'the stale entries to be dropped', 20_000);
    // and a task delayed after that is still counted and run
    const h = await clientOn(ns).submit(add, { a: 1, b: 1 }, { delay: '150ms' });
    expect(await h.result({ timeout: '20s' })).toBe(2);
  });
});
