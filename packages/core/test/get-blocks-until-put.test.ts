import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { testBroker, uniqueName, withNamespace } from './support/broker.js';

describe('blocking get and read', () => {
  it('a get waits until a put arrives', async () => {
    await withNamespace(async (ns) => {
      let done = false;
      const pending = ns.get('later', { timeout: 10_000 }).then((v) => {
        done = true;
        return v.toString();
      });
      await sleep(50);
      expect(done).toBe(false);
      await ns.put('later', 'here');
      expect(await pending).toBe('here');
    });
  });

  it('a read waits and does not consume', async () => {
    await withNamespace(async (ns) => {
      const pending = ns.read('later', { timeout: 10_000 });
      await sleep(20);
      await ns.put('later', 'v');
      expect((await pending).toString()).toBe('v');
      expect(await ns.count('later')).toBe(1);
    });
  });

  it('a put from another attach of the namespace wakes the waiter', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const a = await broker.create(name);
    const b = await broker.attach(name);
    const pending = a.get('x', { timeout: 10_000 });
    await b.put('x', 'from b');
    expect((await pending).toString()).toBe('from b');
    await broker.close();
    await broker.delete(name);
  });

  it('times out with DBR_ERR_TIMEOUT and a hint', async () => {
    await withNamespace(async (ns) => {
      const started = Date.now();
      await expect(ns.get('never', { timeout: '150ms' })).rejects.toMatchObject({
        code: 'DBR_ERR_TIMEOUT',
        message: expect.stringMatching(/raise the timeout/),
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    });
  });

  it('an AbortSignal withdraws the request, and the next value is not lost', async () => {
    await withNamespace(async (ns) => {
      const ac = new AbortController();
      const pending = ns.get('x', { timeout: 'infinite', signal: ac.signal });
      await sleep(20);
      ac.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await ns.put('x', 'kept');
      expect((await ns.get('x', { timeout: 1000 })).toString()).toBe('kept');
    });
  });

  it('many waits can share one signal: one abort withdraws those still waiting, with no listener pile-up', async () => {
    await withNamespace(async (ns) => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        const ac = new AbortController();
        const waits = Array.from({ length: 50 }, (_, i) => ns.get(`shared-${i}`, { timeout: 'infinite', signal: ac.signal }).then(String, (e: Error) => e.name));
        for (let i = 0; i < 10; i++) await ns.put(`shared-${i}`, `v${i}`);
        await Promise.all(waits.slice(0, 10));
        ac.abort();
        const outcomes = await Promise.all(waits);
        expect(outcomes.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
        expect(new Set(outcomes.slice(10))).toEqual(new Set(['AbortError']));
        await ns.put('shared-20', 'kept');
        expect((await ns.get('shared-20', { timeout: 1000 })).toString()).toBe('kept');
        await new Promise((r) => setImmediate(r));
        expect(warnings).not.toContain('MaxListenersExceededWarning');
      } finally {
        process.off('warning', onWarning);
      }
    });
  });

  it('an already-aborted signal rejects at once', async () => {
    await withNamespace(async (ns) => {
      await expect(ns.get('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  // Strict arrival order holds in process; on Redis waiters are retried in order but their replies may
  // overtake each other (each still gets exactly one value: see put-get-fifo.test.ts).
  it.skipIf(process.env.DBR_SERVER)('waiters are served in arrival order (embedded backend)', async () => {
    await withNamespace(async (ns) => {
      const order: number[] = [];
      const waiters = [0, 1, 2].map((i) => ns.get('fifo', { timeout: 10_000 }).then(() => order.push(i)));
      await sleep(20);
      for (let i = 0; i < 3; i++) await ns.put('fifo', String(i));
      await Promise.all(waiters);
      expect(order).toEqual([0, 1, 2]);
    });
  });

  it('the process can exit while nothing is pending (the completion pipe does not hold it)', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `import { Broker } from '${new URL('../src/index.ts', import.meta.url).pathname}';
      const b = new Broker(); const ns = await b.create('exit-${process.pid}');
      const p = ns.get('x', { timeout: '100ms' }).catch(() => 'timeout');
      console.log(await p);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('timeout');
  });
});
