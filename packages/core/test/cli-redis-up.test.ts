import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  describe('a state.json whose pid is no longer our redis-server (after a crash or reboot)', () => {
    const stale = () => join(dir, 'stale');
    let sleeper: ReturnType<typeof spawn>;
    const sleeperAlive = () => sleeper.exitCode === null && sleeper.signalCode === null;
    const writeStaleState = () => {
      mkdirSync(stale(), { recursive: true });
      const port = 1; // nothing listens there
      const authFile = join(stale(), 'password');
      writeFileSync(authFile, 'old\n');
      writeFileSync(join(stale(), 'state.json'), JSON.stringify({ mode: 'single', nodes: [{ port, pid: sleeper.pid }], server: `sock://127.0.0.1:${port}`, authFile }));
    };
    beforeAll(() => {
      sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    });
    afterAll(() => {
      sleeper.kill();
    });

    it.runIf(process.platform === 'linux')('status says not running, and down leaves that process alone and clears the state', () => {
      writeStaleState();
      const status = dbr(['redis', 'status', '--dir', stale()]);
      expect(status.status).toBe(3);
      expect(status.stdout).toMatch(/^not running/);
      const down = dbr(['redis', 'down', '--dir', stale()]);
      expect(down.stdout).toBe('no local redis was running\n');
      expect(sleeperAlive()).toBe(true);
      expect(existsSync(join(stale(), 'state.json'))).toBe(false);
      expect(existsSync(join(stale(), 'password'))).toBe(false);
    });

    it.runIf(process.platform === 'linux' && hasRedisServer())('up starts a fresh server instead of printing the stale exports', () => {
      writeStaleState();
      const up = dbr(['redis', 'up', '--dir', stale()]);
      expect(up.status, up.stderr).toBe(0);
      expect(up.stderr).toMatch(/started a single redis-server/);
      expect(up.stdout).not.toContain('sock://127.0.0.1:1\n');
      expect(dbr(['redis', 'status', '--dir', stale()]).status).toBe(0);
      expect(dbr(['redis', 'down', '--dir', stale()]).stdout).toBe('stopped 1 node(s)\n');
      expect(sleeperAlive()).toBe(true);
      expect(existsSync(join(stale(), 'state.json'))).toBe(false);
    });
  });
});
