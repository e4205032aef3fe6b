/**
 * Test helpers: the built `dbr` command run as a real process.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/cli/main.js: the tests run the built CLI, as users do. */
export const dbrMain = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Environment changes for one run; `undefined` removes a variable. */
export type EnvChanges = Record<string, string | undefined>;

function environment(changes: EnvChanges = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `dbr args...` to completion. */
export function dbr(args: string[], options: { input?: string; env?: EnvChanges } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [dbrMain, ...args], { encoding: 'utf8', input: options.input, env: environment(options.env), timeout: 30_000 });
}

/** Starts `dbr args...` and resolves with its exit code and output when it ends. */
export function dbrAsync(args: string[], env?: EnvChanges): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [dbrMain, ...args], { env: environment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

/** The lines of stderr, without the note about the embedded backend. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.length > 0 && !l.includes('using the embedded backend'));
}
