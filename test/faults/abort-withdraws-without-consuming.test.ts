/**
 * An aborted get is withdrawn and never consumes a value (core's TakeOptions.signal contract). A get waits
 * on an empty name, a put lands there, and the get is aborted at once: either the get took the value (it won
 * the race), or it rejects with AbortError and the value stays in the tuple space.
 *
 * Known libdbr defect, measured (figure abortedButValueMissingAtOnce), not asserted, since it is a race: on
 * Redis (single and cluster) the AbortError can
 * arrive while the value is still out of its list: dbrCancel withdraws the request at once, but an LPOP
 * attempt already in flight takes the value, and give_back() (backend-redis-wait.c) LPUSHes it back
 * asynchronously. For those few milliseconds count/has/tryGet do not see the value. It is never lost: it is
 * back 200 ms later, and also when the process exits right after the abort.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientProcess, clientEnv, startClient } from '../src/client-process.js';
import { byMode, mode } from '../src/mode.js';
import { recordFigures } from '../src/results.js';
import { type Servers, startServers, stopAllServers } from '../src/servers.js';

const rounds = byMode({ quick: 200, full: 500, soak: 2000 });

interface Race {
  type: string;
  rounds: number;
  aborted: number;
  took: number;
  lostNow: number;
  lostLater: number;
  examples: string[];
}

describe.each(['redis', 'cluster'] as const)('an aborted get never consumes a value (%s)', (backend) => {
  let servers: Servers;
  let race: Race;

  beforeAll(async () => {
    servers = await startServers({ clusterMasters: backend === 'cluster' ? 3 : 0 });
    const client = startClient('abort-race-probe', servers);
    try {
      race = await client.request<Race>({ type: 'race', namespace: `abort-${randomBytes(4).toString('hex')}`, rounds }, 120_000);
    } finally {
      await client.kill();
    }
    recordFigures(`abort-race-${backend}`, {
      rounds: race.rounds,
      aborted: race.aborted,
      tookTheValue: race.took,
      // KNOWN DEFECT, measured rather than asserted (a race: it does not show in every run): when the abort
      // rejects, the value may still be on its way back (libdbr gives it back one round trip later).
      abortedButValueMissingAtOnce: race.lostNow,
      abortedAndValueMissing200msLater: race.lostLater,
      examples: race.examples,
    });
  });
  afterAll(stopAllServers);

  it('abort racing a put: the value is never lost (taken, or back in its list)', () => {
    expect(race.aborted).toBeGreaterThan(0);
    expect(race.lostLater).toBe(0);
  });

  it.skipIf(mode === 'quick' || backend === 'cluster')('a process exiting right after such an abort still gives the value back', async () => {
    const namespace = `abort-exit-${randomBytes(4).toString('hex')}`;
    const counter = startClient('blocked-getter', servers);
    const outcomes: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = new ClientProcess('abort-then-exit', clientEnv(servers, { ABORT_NAMESPACE: namespace }));
        await c.exited;
        const out = JSON.parse(c.stdout.find((l) => l.line.startsWith('{'))?.line ?? '{}') as { name?: string | null };
        if (!out.name) continue;
        await sleep(300);
        const r = await counter.request<{ type: string; value?: unknown }>({ type: 'probe', namespace, op: 'count', name: out.name });
        outcomes.push(`${out.name}: ${String(r.value)}`);
        expect(r.value, `${out.name} after the process exited`).toBe(1);
      }
    } finally {
      await counter.kill();
    }
    recordFigures('abort-then-exit-redis', { exitedWhileValueWasOut: outcomes.length, countAfterExit: outcomes });
    expect(outcomes.length).toBeGreaterThan(0);
  });
});
