import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { register } from '../src/cli/index.js';

const tsx = createRequire(import.meta.url).resolve('tsx');

/** Runs the built `dbr` (core's program, which loads @tsdbr/worker/cli from dist: `pnpm build` first). */
function dbr(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL('../../core/dist/cli/main.js', import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', tsx, main, ...args], { env: { ...process.env, DBR_LOG_LEVEL: 'silent', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('dbr commands', () => {
  it('every worker command has --help', () => {
    const program = new Command('dbr').exitOverride();
    register(program, () => ({}));
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(['worker', 'run', 'submit', 'tasks', 'demo']);
    for (const cmd of program.commands) expect(cmd.helpInformation()).toContain('Usage:');
    const tasks = program.commands.find((c) => c.name() === 'tasks')!;
    expect(tasks.commands.map((c) => c.name())).toEqual(['ls', 'inspect', 'retry', 'cancel']);
  });

  it('`dbr worker` without a tasks module is a usage error (exit 2)', async () => {
    const r = await dbr(['worker'], { DBR_WORKER_TASKS: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tasks');
  });

  it('`dbr run` runs a workflow with local workers, prints the summary and exits 0; a failing one exits 1', async () => {
    const ok = await dbr(['-q', 'run', fileURLToPath(new URL('./fixtures/cli-workflow-ok.ts', import.meta.url)), '--workers', '1']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/workflow cli-ok run cli-ok: completed \(11\/11 steps done/);
    const bad = await dbr(['-q', 'run', fileURLToPath(new URL('./fixtures/cli-workflow-fails.ts', import.meta.url)), '--workers', '1']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('failed');
  });

  it('`dbr run` of a workflow with more steps waiting at once than an EventTarget allows listeners prints no leak warning', async () => {
    const namespace = `wt-wide-${process.pid}`;
    const r = await dbr(['-q', 'run', fileURLToPath(new URL('./fixtures/cli-workflow-wide.ts', import.meta.url)), '--workers', '1', '-n', namespace]);
    await dbr(['ns', 'delete', namespace]); // Redis keeps it
    expect(r.stderr).not.toContain('MaxListenersExceededWarning');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/workflow cli-wide run cli-wide: completed \(17\/17 steps done/);
  });

  it('`dbr demo` runs the heat-diffusion ensemble, prints the table and writes the SVG chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsdbr-demo-'));
    const out = join(dir, 'chart.svg');
    const r = await dbr(['demo', '--out', out, '--workers', '2', '--grid', '24']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('completed (33/33 steps done');
    expect(r.stdout).toMatch(/source\s+alpha\s+steps\s+mean T/);
    expect(readFileSync(out, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
  });
});
