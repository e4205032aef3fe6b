/**
 * A Redis node that is SIGSTOPped (alive, connected, silent) must not hang its clients:
 * - every call fails with DBR_ERR_TIMEOUT within its timeout (per-call for get/read, DBR_TIMEOUT for the
 *   others) + slack, and calls work again after SIGCONT, without restarting the client;
 * - a client process blocked in gets exits cleanly (code 0) and promptly on SIGTERM, with the server up or
 *   stopped, through a handler that closes the broker.
 *
 * Slack is generous for a noisy shared 2-core machine: 4 s over the timeout; a SIGTERMed client must be
 * gone within DBR_TIMEOUT (2 s) + 6 s.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startClient } from '../src/client-process.js';
import { recordFigures } from '../src/results.js';
import { type Servers, signal, startServers, stopAllServers } from '../src/servers.js';

const DBR_TIMEOUT_S = 2;
const SLACK_MS = 4000;
const EXIT_BOUND_MS = DBR_TIMEOUT_S * 1000 + 6000;

interface Probe {
  type: string;
  code: string;
  ms: number;
  value?: unknown;
  message?: string;
}

let servers: Servers;

describe('a SIGSTOPped Redis node', () => {
  afterAll(stopAllServers);

  it('calls time out (DBR_ERR_TIMEOUT) instead of hanging, and work again after SIGCONT', async () => {
    servers = await startServers();
    const pid = servers.nodes[0]!.pid;
    const namespace = `stop-${randomBytes(4).toString('hex')}`;
    const client = startClient('blocked-getter', servers, { DBR_TIMEOUT: String(DBR_TIMEOUT_S) });
    const probe = (op: string, name: string, timeoutMs = 1000) => client.request<Probe>({ type: 'probe', namespace, op, name, timeoutMs }, 60_000);
    try {
      expect((await probe('put', 'full')).code).toBe('ok');
      expect((await probe('put', 'full')).code).toBe('ok');
      signal(pid, 'SIGSTOP');
      const stopped: Record<string, Probe> = {};
      stopped.getEmpty = await probe('get', 'empty', 1000);
      stopped.getFull = await probe('get', 'full', 1000);
      stopped.read = await probe('read', 'full', 1000);
      stopped.put = await probe('put', 'other');
      stopped.has = await probe('has', 'full');
      stopped.count = await probe('count', 'full');
      signal(pid, 'SIGCONT');
      const t0 = Date.now();
      let after = await probe('count', 'full');
      while (after.code !== 'ok' && Date.now() - t0 < 20_000) {
        await sleep(100);
        after = await probe('count', 'full');
      }
      const recoveredMs = Date.now() - t0;
      // what the stopped server did with the requests it received once it resumed
      const valuesLeft = after.value;
      const otherAfter = await probe('count', 'other');
      recordFigures('sigstop-calls-time-out', {
        whileStopped: Object.fromEntries(Object.entries(stopped).map(([k, p]) => [k, `${p.code} in ${p.ms} ms`])),
        recoveredAfterSigcontMs: recoveredMs,
        valuesLeftOfTwo: valuesLeft,
        timedOutPutLandedAfterResume: otherAfter.value,
      });
      for (const [op, p] of Object.entries(stopped)) {
        expect.soft(p.code, `${op} while stopped`).toBe('DBR_ERR_TIMEOUT');
        const limit = op.startsWith('get') || op === 'read' ? 1000 : DBR_TIMEOUT_S * 1000;
        expect.soft(p.ms, `${op} while stopped`).toBeLessThan(limit + SLACK_MS);
      }
      expect(after.code).toBe('ok');
      expect((await probe('get', 'full', 1000)).code).toBe('ok');
    } finally {
      signal(pid, 'SIGCONT');
      await client.kill();
    }
  });

  for (const serverState of ['running', 'SIGSTOPped'] as const) {
    it(`a client blocked in gets exits with code 0 promptly on SIGTERM (server ${serverState})`, async () => {
      servers ??= await startServers();
      const pid = servers.nodes[0]!.pid;
      const client = startClient('blocked-getter', servers, { DBR_TIMEOUT: String(DBR_TIMEOUT_S) });
      try {
        await client.request({ type: 'block', namespace: `term-${randomBytes(4).toString('hex')}`, names: ['a', 'b', 'c'], count: 50, timeout: 'infinite' });
        await sleep(300);
        if (serverState === 'SIGSTOPped') signal(pid, 'SIGSTOP');
        await sleep(300);
        const t0 = Date.now();
        client.proc.kill('SIGTERM');
        const exit = await Promise.race([client.exited, sleep(EXIT_BOUND_MS + 5000).then(() => undefined)]);
        const ms = exit ? exit.at - t0 : Infinity;
        recordFigures(`sigterm-blocked-client-server-${serverState.toLowerCase()}`, {
          exitCode: exit?.code ?? null,
          exitSignal: exit?.signal ?? null,
          exitMs: ms,
          stderr: client.stderrText().split('\n').slice(-4),
        });
        expect(exit?.code).toBe(0);
        expect(ms).toBeLessThan(EXIT_BOUND_MS);
        expect(client.stderrText()).toContain('closing');
      } finally {
        signal(pid, 'SIGCONT');
        await client.kill();
      }
    });
  }
});
