import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskFailedError } from '../src/index.js';
import { echoes, exitsNonZero, leavesABackgroundChild, sleepsUntilKilled } from './fixtures/exec-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('ctx.exec', () => {
  it('runs a program and returns its captured output', async () => {
    const { ns } = await freshNamespace('exec');
    await startWorker(ns, { tasks: [echoes] });
    expect(await (await clientOn(ns).submit(echoes, { word: 'world' })).result()).toBe('hello world');
  });

  it('a non-zero exit fails the attempt with ExecError naming the code and the stderr tail', async () => {
    const { ns } = await freshNamespace('exec-fail');
    await startWorker(ns, { tasks: [exitsNonZero] });
    const err = (await (await clientOn(ns).submit(exitsNonZero, {})).result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('ExecError');
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain('going down');
  });

  it('a timeout kills the whole process group', async () => {
    const { ns } = await freshNamespace('exec-kill');
    await startWorker(ns, { tasks: [sleepsUntilKilled] });
    const pidFile = join(tmpdir(), `tsdbr-exec-${process.pid}-${Date.now()}`);
    const err = (await (await clientOn(ns).submit(sleepsUntilKilled, { pidFile })).result().catch((e: unknown) => e)) as TaskFailedError;
    expect(err.remoteName).toBe('TaskTimeoutError');
    expect(existsSync(pidFile)).toBe(true);
    const pids = readFileSync(pidFile, 'utf8').trim().split(/\s+/).map(Number);
    expect(pids).toHaveLength(2);
    await until(() => pids.every((p) => !alive(p)), 'the shell and its child sleep to be killed', 10_000);
  });

  it('a program that exits leaves nothing running: its background children in the group are killed', async () => {
    const { ns } = await freshNamespace('exec-leftovers');
    await startWorker(ns, { tasks: [leavesABackgroundChild] });
    const pid = await (await clientOn(ns).submit(leavesABackgroundChild, {})).result();
    expect(pid).toBeGreaterThan(0);
    await until(() => !alive(pid), 'the background sleep to be gone');
  });
});
