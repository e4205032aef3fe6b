import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbr, errorLines } from './support/cli.js';

function hasRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('dbr redis up', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbr-redis-up-'));
  });
  afterAll(() => {
    // whatever a test started, even one that failed half-way
    for (const sub of readdirSync(dir)) dbr(['redis', 'down', '--dir', join(dir, sub)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a port that is not a port, before creating anything', () => {
    for (const [port, cluster] of [['abc', []], ['70000', []], ['0', []], ['60000', ['--cluster', '3']]] as const) {
      const out = dbr(['redis', 'up', '--port', port, ...cluster, '--dir', join(dir, 'bad')]);
      expect(out.status, port).toBe(2);
      expect(out.stderr).toMatch(new RegExp(`--port must be an integer from 1 to \\d+, got "${port}"`));
    }
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('refuses a port in use with one line (exit code 6)', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const out = dbr(['redis', 'up', '--port', String(port), '--dir', join(dir, 'busy')]);
      expect(out.status).toBe(6);
      expect(errorLines(out.stderr)).toEqual([`dbr: port ${port} on 127.0.0.1 is in use: choose another --port, or leave --port out to use free ones.`]);
    } finally {
      server.close();
    }
  });

  it('says how to start it with the --dir in use', () => {
    const out = dbr(['redis', 'status', '--dir', join(dir, 'never')]);
    expect(out.status).toBe(3);
    expect(out.stdout).toContain(`\`dbr redis up --dir ${join(dir, 'never')}\``);
  });

  it.runIf(hasRedisServer())('refuses to start a cluster where a single node runs, and names the --dir to stop it', () => {
    const single = join(dir, 'single');
    const up = dbr(['redis', 'up', '--dir', single]);
    expect(up.status, up.stderr).toBe(0);
    const again = dbr(['redis', 'up', '--dir', single]);
    expect(again.status).toBe(0); // the same setup again is fine
    expect(again.stdout).toBe(up.stdout);
    expect(again.stderr).toContain(`\`dbr redis down --dir ${single}\``);
    const cluster = dbr(['redis', 'up', '--cluster', '4', '--dir', single]);
    expect(cluster.status).toBe(6);
    expect(cluster.stdout).toBe('');
    expect(errorLines(cluster.stderr)).toHaveLength(1);
    expect(cluster.stderr).toMatch(/a single redis-server already runs in .*not a 4-master cluster/);
    expect(cluster.stderr).toContain(`stop it first with \`dbr redis down --dir ${single}\``);
    expect(readdirSync(single).filter((f) => /^\d+$/.test(f))).toHaveLength(1); // no cluster node was started
    expect(dbr(['redis', 'down', '--dir', single]).stdout).toBe('stopped 1 node(s)\n');
  });
});
