/**
 * Puts and gets continuously while the test restarts the Redis server under it (R2). Every put whose
 * promise resolved is "acknowledged"; on `stop` the fixture stops, drains what is left and reports
 * everything, so the test can check that each acknowledged value was seen exactly once.
 *
 * Consumers take with `get` (LPOP: a get whose reply is cut by the server's death may have consumed its
 * value) or with `moveValue` into `<name>:taken` (the value never leaves the tuple space).
 *
 *   start { namespace, names, putters, getters, getTimeoutMs, consume }  ->  start:done
 *   stop { names }  ->  stop:done { acked, ackedAt, failedPuts, got, drained, errors, drainErrors, ... }
 */
import { Broker, type Namespace } from '@tsdbr/core';
import { codeOf, on, sleep } from './fixture.js';

interface Start {
  type: 'start';
  namespace: string;
  names: string[];
  putters: number;
  getters: number;
  getTimeoutMs: number;
  consume: 'get' | 'moveValue';
}

const broker = new Broker();
let ns: Namespace;
let running = false;
const loops: Promise<void>[] = [];
const acked: string[] = [];
const ackedAt: number[] = [];
const failedPuts: string[] = [];
const got: string[] = [];
const okAt: number[] = [];
/** [time, op, code, call duration ms, tuple name] */
const errors: [number, string, string, number, string][] = [];
/** Up to 3 distinct messages per error code, to check that they are clear. */
const firstMessage: Record<string, string[]> = {};
let consume: Start['consume'] = 'get';

function failed(t0: number, op: string, err: unknown, name: string): string {
  const code = codeOf(err);
  errors.push([t0, op, code, Date.now() - t0, name]);
  const msgs = (firstMessage[code] ??= []);
    const msg = err instanceof Error ? err.message : String(err);
    // the same message for another tuple name is not new
    if (msgs.length < 3 && !msgs.some((m) => m.replace(/"[^"]*"/g, '"_"') === msg.replace(/"[^"]*"/g, '"_"'))) msgs.push(msg);
  return code;
}
let getTimeouts = 0;

async function putter(id: number, names: string[]): Promise<void> {
  for (let seq = 0; running; seq++) {
    const value = `p${id}:${seq}`;
    const name = names[seq % names.length] as string;
    const t0 = Date.now();
    try {
      await ns.put(name, value);
      const now = Date.now();
      acked.push(value);
      ackedAt.push(now);
      okAt.push(now);
      await sleep(1); // a steady load (~1,000 puts/s a putter), not a flood the final drain must chew through
    } catch (err) {
      failedPuts.push(value);
      failed(t0, 'put', err, name);
      await sleep(20);
    }
  }
}

async function getter(id: number, names: string[], timeoutMs: number): Promise<void> {
  for (let i = id; running; i++) {
    const name = names[i % names.length] as string;
    const t0 = Date.now();
    try {
      const v = consume === 'get' ? await ns.get(name, { timeout: timeoutMs }) : await ns.moveValue(name, ns, `${name}:taken`, { timeout: timeoutMs });
      got.push(v.toString());
      okAt.push(Date.now());
    } catch (err) {
      const code = codeOf(err);
      // an empty name times out in normal operation too: count those, keep the rest
      if (code === 'DBR_ERR_TIMEOUT' && Date.now() - t0 < timeoutMs + 1000) getTimeouts++;
      else failed(t0, consume, err, name);
      if (code !== 'DBR_ERR_TIMEOUT') await sleep(20);
    }
  }
}

on<Start>('start', async (m) => {
  ns = await broker.open(m.namespace);
  consume = m.consume;
  running = true;
  for (let i = 0; i < m.putters; i++) loops.push(putter(i, m.names));
  for (let i = 0; i < m.getters; i++) loops.push(getter(i, m.names, m.getTimeoutMs));
  return {};
});

on('stop', async (m) => {
  running = false;
  await Promise.all(loops);
  const names = (m as unknown as { names: string[] }).names.flatMap((n) => (consume === 'get' ? [n] : [n, `${n}:taken`]));
  // drain what is left, retrying while the server is still coming back
  const drained: string[] = [];
  const drainErrors: string[] = [];
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    for (;;) {
      try {
        const v = await ns.tryGet(name);
        if (v === undefined) break;
        drained.push(v.toString());
      } catch (err) {
        drainErrors.push(codeOf(err));
        if (Date.now() > deadline) break;
        await sleep(100);
      }
    }
  }
  await broker.close();
  // success times are sent as 10 ms buckets to keep the message small
  const okBuckets = [...new Set(okAt.map((t) => Math.floor(t / 10) * 10))];
  return { acked, ackedAt, failedPuts, got, drained, errors, firstMessage, drainErrors, getTimeouts, okBuckets };
});
