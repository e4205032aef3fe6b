import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Broker, startLocalRedis } from '../src/index.js';

// Its own server (this file runs in a process of its own): once, in the redis pass of the suite.
describe.runIf(process.env.TSDBR_TEST_BACKEND === 'redis')('errors of requests that went to a server', () => {
  it('name the node that failed, not just the code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdbr-errnode-'));
    const redis = await startLocalRedis({ dir });
    try {
      const broker = new Broker({ server: redis.server, authFile: redis.authFile });
      const ns = await broker.create('errors');
      await ns.put('k', 'v');
      await redis.stop();
      const port = redis.server.split(':').pop() as string;
      await expect(ns.get('k', { timeout: 2000 })).rejects.toMatchObject({
        code: 'DBR_ERR_NOCONNECT',
        message: expect.stringContaining(`127.0.0.1:${port}`),
      });
      await expect(ns.put('k', 'v')).rejects.toMatchObject({ code: 'DBR_ERR_NOCONNECT', message: expect.stringContaining(port) });
    } finally {
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
