/**
 * `dbr run --dashboard`: the dashboard runs in the workflow's process (on the embedded backend it is the only
 * process that sees the tuples), prints its URL, and answers while the workflow runs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnDbr } from './support/dbr-cli.js';

const fixture = fileURLToPath(new URL('./fixtures/cli-workflow-gated.ts', import.meta.url));

describe('dbr run --dashboard', () => {
  it('serves the dashboard while the workflow runs and shows its queue', async () => {
    const gate = join(mkdtempSync(join(tmpdir(), 'tsdbr-gate-')), 'open');
    const namespace = `wt-dash-${process.pid}-${Date.now().toString(36)}`;
    const run = spawnDbr(['-q', 'run', fixture, '--workers', '1', '--dashboard', '--port', '0', '-n', namespace, '--args', JSON.stringify({ gate })]);
    try {
      const [, url] = await run.waitForStderr(/dashboard: (http:\/\/\S+)\n/);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const health = await fetch(new URL('health', url));
      expect(health.status).toBe(200);
      // the task is running (it waits for the gate): the queue shows it once the dashboard has sampled
      let queue: { namespace: string; queue: string; running: number } | undefined;
      while (queue?.running !== 1) {
        const body = (await (await fetch(new URL('api/queues', url))).json()) as { queues: { namespace: string; queue: string; running: number }[] };
        queue = body.queues.find((q) => q.namespace === namespace && q.queue === 'gated');
        if (queue?.running !== 1) await new Promise((r) => setTimeout(r, 100));
      }
      expect(queue).toMatchObject({ namespace, queue: 'gated', running: 1 });
      writeFileSync(gate, '');
      expect(await run.exited).toBe(0);
      expect(run.stdout()).toMatch(/workflow cli-gated run cli-gated: completed \(1\/1 steps done/);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('a --port in use is a conflict (exit 6), as for `dbr dashboard`', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const run = spawnDbr(['run', fixture, '--workers', '1', '--dashboard', '--port', String(port), '-n', `wt-dash-port-${process.pid}`, '--args', JSON.stringify({ gate: '/nonexistent' })]);
      expect(await run.exited).toBe(6);
      expect(run.stderr()).toContain(`Port ${port} on 127.0.0.1 is in use: pass another --port`);
    } finally {
      taken.close();
    }
  });

  it('a too-short DBR_DASHBOARD_TOKEN is a usage error (exit 2) that names it', async () => {
    const run = spawnDbr(['run', fixture, '--workers', '1', '--dashboard', '--port', '0', '-n', `wt-dash-token-${process.pid}`, '--args', JSON.stringify({ gate: '/nonexistent' })], { DBR_DASHBOARD_TOKEN: 'short' });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('DBR_DASHBOARD_TOKEN is shorter than 8 characters');
  });

  it('--port without --dashboard is a usage error that names the fix', async () => {
    const run = spawnDbr(['run', fixture, '--port', '0']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('add --dashboard');
  });
});
