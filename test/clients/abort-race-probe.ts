/**
 * Reproduction of an aborted get that still consumes its value (Redis Cluster): many rounds of
 *   start a waiting get on an empty name; put a value there; abort the get at once
 * (every 4th round aborts before the put) and then, if the get was rejected with AbortError, the value must
 * still be there (count 1), at once and a moment later.
 *
 *   race { namespace, rounds }  ->  race:done { rounds, aborted, took, lostNow, lostLater }
 */
import { Broker } from '@tsdbr/core';
import { on } from './fixture.js';

const broker = new Broker();

on<{ type: 'race'; namespace: string; rounds: number }>('race', async (m) => {
  const ns = await broker.open(m.namespace);
  let aborted = 0;
  let took = 0;
  let lostNow = 0;
  let lostLater = 0;
  const examples: string[] = [];
  for (let i = 0; i < m.rounds; i++) {
    const name = `race:${i}`;
    const ac = new AbortController();
    const waiting = ns.get(name, { timeout: 'infinite', signal: ac.signal });
    waiting.catch(() => undefined); // awaited below; an early rejection is not unhandled
    if (i % 4 === 3) {
      // an abort before any value exists: always withdrawn, so every backend exercises that path too
      ac.abort();
      await ns.put(name, `v${i}`);
    } else {
      await ns.put(name, `v${i}`);
      ac.abort();
    }
    try {
      await waiting;
      took++;
      continue;
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'AbortError') throw err;
      aborted++;
    }
    const now = await ns.count(name);
    if (now !== 1) {
      lostNow++;
      await new Promise((resolve) => setTimeout(resolve, 200));
      const later = await ns.count(name);
      if (later !== 1) lostLater++;
      if (examples.length < 3) examples.push(`${name}: count ${now} at once, ${later} after 200 ms`);
    }
    await ns.remove(name).catch(() => undefined);
  }
  await broker.close();
  return { rounds: m.rounds, aborted, took, lostNow, lostLater, examples };
});
