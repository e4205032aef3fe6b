/**
 * Runs the fault suite and gathers its figures.
 *
 *   tsx src/run-faults.ts            full suite (~10 min on 2 cores); figures -> bench/results/faults-<date>.json
 *   tsx src/run-faults.ts --soak     longer runs, more sequences;     figures -> bench/results/soak-<date>.json
 *   tsx src/run-faults.ts --quick    the subset `pnpm test` runs (< 2 min); figures printed only
 *   ... [FILTER...]                  vitest file filters, e.g. `cluster` (TSDBR_SOAK=1 also selects soak)
 *
 * The tests print their figures as they go ("[figures] ..."); this script writes them all, with a machine
 * and date stamp, into one JSON file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const mode = args.includes('--soak') || process.env.TSDBR_SOAK === '1' ? 'soak' : args.includes('--quick') ? 'quick' : 'full';
const filters = args.filter((a) => !a.startsWith('--'));
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const out = mkdtempSync(join(os.tmpdir(), 'tsdbr-faults-out-'));

function quiet(cmd: string, cmdArgs: string[]): string {
  try {
    return execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const started = new Date();
console.log(`fault suite, ${mode} mode${filters.length ? ` (${filters.join(' ')})` : ''}`);
const code = await new Promise<number>((resolve) => {
  const vitest = spawn(join(packageDir, 'node_modules/.bin/vitest'), ['run', ...filters], {
    cwd: packageDir,
    stdio: 'inherit',
    env: { ...process.env, TSDBR_FAULTS_MODE: mode, TSDBR_FAULTS_OUT: out },
  });
  vitest.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
});

const scenarios = readdirSync(out)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(out, f), 'utf8')) as Record<string, unknown>);
rmSync(out, { recursive: true, force: true });

if (mode !== 'quick' && scenarios.length > 0) {
  const cpus = os.cpus();
  const report = {
    suite: 'tsdbr fault suite (test/)',
    mode,
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    passed: code === 0,
    machine: {
      cpus: cpus.length,
      model: cpus[0]?.model ?? 'unknown',
      memGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      redis: quiet('redis-server', ['--version']),
    },
    commit: quiet('git', ['-C', packageDir, 'rev-parse', '--short', 'HEAD']),
    filters,
    scenarios,
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${mode === 'soak' ? 'soak' : 'faults'}-${started.toISOString().slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nfigures of ${scenarios.length} scenarios written to ${file}`);
}
process.exit(code);
