import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

function dbr(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 90_000, env });
}

describe('dbr redis up|status|down', () => {
  it('starts a password-protected server, prints the exports, and stops it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbr-redis-cmd-'));
    try {
      expect(dbr(['redis', 'status', '--dir', dir]).status).toBe(3);
      const up = dbr(['redis', 'up', '--dir', dir]);
      expect(up.status).toBe(0);
      expect(up.stdout).toMatch(/^export DBR_SERVER=sock:\/\/127\.0\.0\.1:\d+$/m);
      expect(up.stdout).toMatch(/^export DBR_AUTHFILE=.*password$/m);
      const status = dbr(['redis', 'status', '--dir', dir]);
      expect(status.stdout).toMatch(/single: 1\/1 node\(s\) up/);
      const server = /DBR_SERVER=(\S+)/.exec(up.stdout)?.[1] as string;
      const authFile = /DBR_AUTHFILE=(\S+)/.exec(up.stdout)?.[1] as string;
      // the server really requires the password
      const port = server.split(':').pop() as string;
      expect(spawnSync('redis-cli', ['-p', port, 'ping'], { encoding: 'utf8' }).stdout).toMatch(/NOAUTH/);
      const doctor = dbr(['doctor'], { ...process.env, DBR_SERVER: server, DBR_AUTHFILE: authFile });
      expect(doctor.stdout).toMatch(/✓ backend\s+redis at sock/);
      expect(doctor.status).toBe(0);
      expect(dbr(['redis', 'down', '--dir', dir]).stdout).toMatch(/stopped 1 node/);
      expect(dbr(['redis', 'status', '--dir', dir]).status).toBe(3);
    } finally {
      dbr(['redis', 'down', '--dir', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
