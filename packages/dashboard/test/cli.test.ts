/**
 * `dbr dashboard` through core's CLI (it loads @tsdbr/dashboard/cli): it serves, prints its URL, refuses
 * unsafe binds with the fix, and stops on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './support/browser.js';

// core's `dbr` binary; it finds this package through the workspace root's dependency on @tsdbr/dashboard
const DBR = join(PACKAGE_DIR, 'node_modules', '@tsdbr', 'core', 'dist', 'cli', 'main.js');
const PLUGIN = join(PACKAGE_DIR, 'dist', 'cli', 'index.js');

/** `out` is the URL the command prints (the first stdout line that is not a --log record). */
function run(args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: Promise<string>; stdout: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [DBR, ...args], { env: { ...process.env, DBR_SERVER: '', DBR_DASHBOARD_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const out = new Promise<string>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l, i, all) => i < all.length - 1 && !l.startsWith('{'));
      if (line !== undefined) resolve(line.trim());
    });
    child.on('exit', () => resolve(stdout.trim()));
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, stdout: () => stdout, err: () => stderr, exit };
}

describe('dbr dashboard', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  });

  it('needs the built package', () => {
    expect(existsSync(PLUGIN), 'run `pnpm --filter @tsdbr/dashboard build` first').toBe(true);
  });

  it('serves on a free loopback port, prints the URL and stops on SIGTERM', async () => {
    const p = run(['dashboard', '--port', '0']);
    children.push(p.child);
    const url = await p.out;
    expect(url, p.err()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const health = await fetch(`${url}health`);
    expect(await health.json()).toMatchObject({ status: 'ok', backend: 'mem' });
    expect(p.err()).toMatch(/only this process's tuples/);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  it('a port in use is a conflict (exit 6) that says what to do', async () => {
    const first = run(['dashboard', '--port', '0']);
    children.push(first.child);
    const port = new URL(await first.out).port;
    const second = run(['dashboard', '--port', port]);
    children.push(second.child);
    expect(await second.exit).toBe(6);
    expect(second.err()).toContain(`Port ${port} on 127.0.0.1 is in use: pass another --port`);
  });

  it('refuses to bind beyond loopback without a token, and says how to fix it', async () => {
    const p = run(['dashboard', '--host', '0.0.0.0', '--port', '0']);
    children.push(p.child);
    expect(await p.exit).not.toBe(0);
    expect(p.err()).toMatch(/--token/);
  });

  it('generates a token for --write and prints a URL carrying it', async () => {
    const p = run(['dashboard', '--port', '0', '--write']);
    children.push(p.child);
    const url = await p.out;
    expect(url).toMatch(/\/\?token=[A-Za-z0-9_-]+$/);
    const session = await fetch(`${url.split('?')[0]}api/session`);
    expect(await session.json()).toMatchObject({ write: true, authRequired: true, authenticated: false });
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  it('--log logs requests without the token given in the URL', async () => {
    const token = 'never-in-the-log-0123';
    const p = run(['dashboard', '--port', '0', '--log'], { DBR_DASHBOARD_TOKEN: token });
    children.push(p.child);
    const url = await p.out;
    expect(url, p.err()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${url}?token=${token}`, { redirect: 'manual' })).status).toBe(303);
    expect((await fetch(`${url}?x=1&%74oken=${token}`, { redirect: 'manual' })).status).toBe(303);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the logger writes asynchronously
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    const log = p.stdout();
    expect(log).toContain('"url":"/?token=[redacted]"');
    expect(log).toContain('"url":"/?x=1&%74oken=[redacted]"');
    expect(log).not.toContain(token);
  });
});
