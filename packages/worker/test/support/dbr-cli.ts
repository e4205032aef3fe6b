/** Runs the built `dbr` (core's program, which loads @tsdbr/worker/cli from dist: `pnpm build` first). */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const tsx = createRequire(import.meta.url).resolve('tsx');
const main = fileURLToPath(new URL('../../../core/dist/cli/main.js', import.meta.url));

/** The command line that runs `dbr` (tsx registered, so test fixtures in TypeScript load). */
export function dbrArgs(args: string[]): string[] {
  return ['--import', tsx, main, ...args];
}

/** Runs `dbr args...` to the end. */
export function dbr(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, dbrArgs(args), { env: { ...process.env, DBR_LOG_LEVEL: 'silent', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A `dbr` process left running; its output is collected as it comes. */
export interface RunningDbr {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stderr (rejects if the process exits first). */
  waitForStderr(re: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/** Starts `dbr args...` in the background. */
export function spawnDbr(args: string[], env: NodeJS.ProcessEnv = {}): RunningDbr {
  const child = spawn(process.execPath, dbrArgs(args), { env: { ...process.env, DBR_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStderr(re) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(err);
          if (m) resolve(m);
          return m !== null;
        };
        if (check()) return;
        waiters.push(check);
        void exited.then((code) => reject(new Error(`dbr exited (${code}) before printing ${re}: ${err}`)));
      });
    },
  };
}
