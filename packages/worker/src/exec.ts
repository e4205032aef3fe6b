/**
 * ctx.exec(): runs an external program in its own process group, streams its output to the task's log, and
 * kills the whole group when the task is aborted (timeout, cancel, shutdown). The group belongs to the
 * attempt: whatever the program left running in it when it exits (a background child) is killed too.
 * @module
 */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { ExecError } from './errors.js';

/** Options of ctx.exec. */
export interface ExecOptions {
  /** Working directory. */
  cwd?: string;
  /** Environment (default: the worker's). */
  env?: NodeJS.ProcessEnv;
  /** Keep standard output and return it (default false: it is only logged). */
  capture?: boolean;
  /** Text written to the program's standard input. */
  input?: string | Uint8Array;
  /** Time between SIGTERM and SIGKILL of the process group on abort (default 2000 ms). */
  killGraceMs?: number;
  /** Log level of output lines (default 'info'; stderr uses 'warn' unless set). */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn';
}

/** What a successful exec returns. */
export interface ExecResult {
  exitCode: 0;
  /** Standard output, when `capture` was set ('' otherwise). */
  stdout: string;
}

const TAIL_LINES = 20;

/** Runs `command` with `args`; see TaskContext.exec. */
export function execProgram(command: string, args: readonly string[], options: ExecOptions, log: Logger, signal: AbortSignal): Promise<ExecResult> {
  const shown = [command, ...args].join(' ');
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdoutChunks: string[] = [];
    const tail: string[] = [];
    const level = options.logLevel ?? 'info';
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      log.warn({ cmd: shown, pid: child.pid }, 'exec: aborting, killing the process group');
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 2000);
      killTimer.unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (options.capture) stdoutChunks.push(line);
      log[level]({ stream: 'stdout' }, line);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      log[options.logLevel ?? 'warn']({ stream: 'stderr' }, line);
    });
    if (options.input !== undefined && child.stdin) {
      // a program may exit without reading all its input (as `head` does): its exit code decides, not EPIPE
      child.stdin.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') log.warn({ cmd: shown, err }, 'exec: writing the input failed');
      });
      child.stdin.end(options.input);
    }
    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (killTimer !== undefined && err === undefined) clearTimeout(killTimer);
      if (err) reject(err);
      else resolve({ exitCode: 0, stdout: stdoutChunks.length > 0 ? `${stdoutChunks.join('\n')}\n` : '' });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      // spawn reports a missing working directory as ENOENT, as if the program were missing
      if (err.code === 'ENOENT' && options.cwd !== undefined && !existsSync(options.cwd)) Object.assign(err, { missingCwd: options.cwd });
      finish(new ExecError(shown, null, null, tail.join('\n'), err));
    });
    child.on('close', (code, sig) => {
      killGroup('SIGKILL'); // leftovers of the group: background children must not outlive the attempt
      if (signal.aborted) {
        finish(signal.reason instanceof Error ? signal.reason : new ExecError(shown, code, sig, tail.join('\n')));
      } else if (code === 0) finish(undefined);
      else finish(new ExecError(shown, code, sig, tail.join('\n')));
    });
  });
}
