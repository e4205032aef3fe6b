/**
 * One loop per tuple name, each putting a value and getting it back at a modest pace, while the test kills
 * a cluster master (R3). Every call is logged with its start time, duration and outcome, so the test can
 * tell the names served by the dead master from the others.
 *
 *   start { namespace, names, pauseMs, timeoutMs }  ->  start:done
 *   stop { }  ->  stop:done { events, acked, failedPuts, got, drained, drainErrors, firstMessage }
 */
import { Broker, type Namespace } from '@tsdbr/core';
import { codeOf, on, sleep } from './fixture.js';

interface Start {
  type: 'start';
  namespace: string;
  names: string[];
  pauseMs: number;
  timeoutMs: number;
}

const broker = new Broker();
let ns: Namespace;
let running = false;
let names: string[] = [];
const loops: Promise<void>[] = [];
/** [start time, name index, op, 'ok' or error code, duration ms] */
const events: [number, number, string, string, number][] = [];
const acked: string[] = [];
const failedPuts: string[] = [];
const got: string[] = [];
/** Up to 3 distinct messages per error code, to check that they are clear. */
const firstMessage: Record<string, string[]> = {};

async function call<T>(i: number, op: string, f: () => Promise<T>): Promise<T | undefined> {
  const t0 = Date.now();
  try {
    const v = await f();
    events.push([t0, i, op, 'ok', Date.now() - t0]);
    return v;
  } catch (err) {
    const code = codeOf(err);
    const msgs = (firstMessage[code] ??= []);
    const msg = err instanceof Error ? err.message : String(err);
    // the same message for another tuple name is not new
    if (msgs.length < 3 && !msgs.some((m) => m.replace(/"[^"]*"/g, '"_"') === msg.replace(/"[^"]*"/g, '"_"'))) msgs.push(msg);
    events.push([t0, i, op, code, Date.now() - t0]);
    return undefined;
  }
}

async function loop(i: number, pauseMs: number, timeoutMs: number): Promise<void> {
  const name = names[i] as string;
  for (let seq = 0; running; seq++) {
    const value = `${i}:${seq}`;
    const ok = await call(i, 'put', () => ns.put(name, value).then(() => true));
    (ok ? acked : failedPuts).push(value);
    const v = await call(i, 'get', () => ns.get(name, { timeout: timeoutMs }));
    if (v !== undefined) got.push(v.toString());
    await sleep(pauseMs);
  }
}

on<Start>('start', async (m) => {
  ns = await broker.open(m.namespace);
  names = m.names;
  running = true;
  for (let i = 0; i < names.length; i++) loops.push(loop(i, m.pauseMs, m.timeoutMs));
  return {};
});

on('stop', async () => {
  running = false;
  await Promise.all(loops);
  const drained: string[] = [];
  const drainErrors: Record<string, string> = {};
  // names on a master that is still dead cannot be drained: report them, do not wait for them
  for (const name of names) {
    for (;;) {
      try {
        const v = await ns.tryGet(name);
        if (v === undefined) break;
        drained.push(v.toString());
      } catch (err) {
        drainErrors[name] = codeOf(err);
        break;
      }
    }
  }
  return { events, acked, failedPuts, got, drained, drainErrors, firstMessage };
});
