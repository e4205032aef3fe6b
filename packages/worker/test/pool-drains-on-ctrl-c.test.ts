import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sleepy } from './fixtures/arithmetic-tasks.js';
import { dbrArgs } from './support/dbr-cli.js';
import { clientOn, freshNamespace, onRedis, until } from './support/harness.js';

const tasksModule = fileURLToPath(new URL('./fixtures/arithmetic-tasks.ts', import.meta.url));

describe('dbr worker --procs under a terminal', () => {
  // A Ctrl-C signals the whole process group: the pool and every member get SIGINT at once. The pool passes
  // the shutdown on by message; a signal would be each member's second one, which kills the running tasks.
  it.skipIf(!onRedis)('a Ctrl-C to the process group lets running tasks finish, and everything exits 0 (Redis)', async () => {
    const { ns, name } = await freshNamespace('pool-ctrl-c');
    const pool = spawn(process.execPath, dbrArgs(['worker', '--tasks', tasksModule, '-n', name, '--procs', '2', '--grace', '30s']), {
      env: { ...process.env, DBR_LOG_LEVEL: 'silent' },
      stdio: 'ignore',
      detached: true, // its own process group, as a shell gives a foreground job
    });
    const exited = new Promise<number | string | null>((resolve) => pool.on('exit', (code, signal) => resolve(code ?? signal)));
    try {
      await until(async () => (await ns.list('worker:*')).length === 2, 'both members to beat');
      const h = await clientOn(ns).submit(sleepy, { n: 5, ms: 1500, tally: 'started' });
      await until(async () => (await ns.count('started')) > 0, 'the task to start');
      process.kill(-(pool.pid as number), 'SIGINT');
      expect(await exited).toBe(0);
      expect(await h.result({ timeout: 0 })).toBe(5);
      expect(await ns.list('q:{default}:run:*')).toEqual([]);
      expect(await ns.count('started')).toBe(1); // ran once: not killed and rerun
    } finally {
      if (pool.exitCode === null && pool.signalCode === null) process.kill(-(pool.pid as number), 'SIGKILL');
    }
  });
});
