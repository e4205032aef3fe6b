/**
 * A Redis Cluster master hangs (SIGSTOP: alive, connected, silent, like a frozen host or a partition that
 * drops packets) under a client that keeps putting and getting on names spread over every master. The
 * cluster fails it over to its replica; the client must follow the new master within a bound, although its
 * connection to the hung one never breaks (no RST, no reply): calls routed there only time out.
 *
 * cluster-require-full-coverage is off, so the other masters never answer CLUSTERDOWN meanwhile.
 *
 * Generous bounds for a noisy shared 2-core machine: the promotion needs cluster-node-timeout (2 s) plus an
 * election; the client must serve every name of the hung master again within 15 s of the promotion.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startClient } from '../src/client-process.js';
import { recordFigures } from '../src/results.js';
import { roleOf, signal, spreadNames, startServers, stopAllServers, waitReplicasSynced } from '../src/servers.js';

const TIMEOUT_MS = 2000;
const PROMOTION_BOUND_MS = 30_000;
const FOLLOW_BOUND_MS = 15_000;
const NAMES_PER_MASTER = 3;

type Event = [number, number, string, string, number];
interface Report {
  type: string;
  events: Event[];
}

describe('a Redis Cluster master hangs', () => {
  afterAll(stopAllServers);

  it('the client follows the replica that takes over, although its connection to the hung master stays up', async () => {
    // the other masters keep serving while it is failed over (no CLUSTERDOWN reply tells the client anything)
    const servers = await startServers({ clusterMasters: 3, replicas: 1, extraArgs: ['--cluster-require-full-coverage', 'no'] });
    await waitReplicasSynced(servers);
    const namespace = `hung-${randomBytes(4).toString('hex')}`;
    const { names, portOf, masters } = await spreadNames(servers, namespace, 'hung', NAMES_PER_MASTER);
    const victimPort = masters.find((p) => p !== servers.nodes[0]!.port)!;
    const victim = servers.nodes.find((n) => n.port === victimPort)!;
    const replicas = servers.nodes.filter((n) => !masters.includes(n.port));
    const client = startClient('cluster-caller', servers, { DBR_TIMEOUT: String(TIMEOUT_MS / 1000) });
    try {
      await client.request({ type: 'start', namespace, names, pauseMs: 100, timeoutMs: TIMEOUT_MS });
      await sleep(1500);
      const stopAt = Date.now();
      signal(victim.pid, 'SIGSTOP');
      let promotedAt = 0;
      while (!promotedAt && Date.now() - stopAt < PROMOTION_BOUND_MS) {
        for (const n of replicas) if ((await roleOf(servers, n)) === 'master') promotedAt = Date.now();
        if (!promotedAt) await sleep(250);
      }
      expect(promotedAt).toBeGreaterThan(0);
      await sleep(FOLLOW_BOUND_MS);
      const r = await client.request<Report>({ type: 'stop' }, 120_000);

      const deadNames = names.map((_, i) => i).filter((i) => portOf[i] === victimPort);
      // per name of the hung master: its first successful call after the promotion
      const servedAgainMs = deadNames.map((i) => {
        const ok = r.events.find((e) => e[1] === i && e[3] === 'ok' && e[0] >= promotedAt);
        return ok ? ok[0] + ok[4] - promotedAt : Infinity;
      });
      const figures = {
        promotionMs: promotedAt - stopAt,
        servedAgainAfterPromotionMs: servedAgainMs,
        failuresAfterPromotion: r.events.filter((e) => e[0] >= promotedAt && e[3] !== 'ok').length,
      };
      recordFigures('cluster-master-hung-fails-over', figures);
      expect(Math.max(...servedAgainMs)).toBeLessThan(FOLLOW_BOUND_MS);
    } finally {
      await client.kill();
      signal(victim.pid, 'SIGCONT');
      await stopAllServers();
    }
  });
});
