/**
 * The task protocol from C (docs/protocol.md): a C program built against libdatabroker.h only submits a task
 * as a JSON envelope and reads the JSON result that a TypeScript worker (@tsdbr/worker) writes, over Redis.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker, type LocalRedis, msgpack, startLocalRedis } from '@tsdbr/core';
import { createLogger, defineTask, Worker } from '@tsdbr/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const native = here('../../packages/core/native');

const add = defineTask({
  name: 'add',
  queue: 'c-tasks',
  retries: 0,
  input: z.object({ a: z.number(), b: z.number().nonnegative() }),
  output: z.number(),
  run: ({ a, b }) => a + b,
});

describe('a C program submits a task to a TypeScript worker over Redis', () => {
  let dir: string;
  let redis: LocalRedis;
  let program: string;
  let broker: Broker;
  let worker: Worker;
  const namespace = `c-tasks-${process.pid}`;

  /** Runs the C program (asynchronously: the worker runs in this process). */
  const submitFromC = (id: string, a: number, b: number) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(program, [namespace, 'c-tasks', id, String(a), String(b)], { env: { ...process.env, DBR_SERVER: redis.server, DBR_AUTHFILE: redis.authFile, DBR_TIMEOUT: '1' }, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbr-c-task-'));
    redis = await startLocalRedis({ dir });
    program = join(dir, 'c-submit-task');
    execFileSync('cc', ['-Wall', '-Wextra', '-Werror', here('../interop/c-submit-task.c'), `-I${native}/include`, `-L${native}/build`, '-ldbr', `-Wl,-rpath,${native}/build`, '-o', program]);
    broker = new Broker({ server: redis.server, authFile: redis.authFile });
    worker = new Worker({ namespace: await broker.open(namespace), tasks: [add], logger: createLogger({ level: 'silent', pretty: false }) });
    await worker.start();
  }, 120_000);

  afterAll(async () => {
    await worker?.close({ graceMs: 0 });
    await broker?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets the JSON result of a task that succeeds', async () => {
    const r = await submitFromC('c-42', 20, 22);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ k: 'r', id: 'c-42', task: 'add', ok: true, output: 42, attempts: 1 });
    expect(typeof result.finishedAt).toBe('number');
  });

  it('gets the error of a task whose input fails validation, and the dead letter is there for `dbr tasks`', async () => {
    const r = await submitFromC('c-bad', 1, -5);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ k: 'r', id: 'c-bad', task: 'add', ok: false, error: { name: 'InvalidInputError' } });
    const ns = await broker.attach(namespace);
    const dead = msgpack().decode(await ns.read('q:{c-tasks}:dead', { timeout: 0 })); // dead letters are msgpack
    expect(dead).toMatchObject({ k: 'd', id: 'c-bad', env: { id: 'c-bad', input: { a: 1, b: -5 } } });
    await ns.close();
  });
});
