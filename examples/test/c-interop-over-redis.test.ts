import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalRedis, startLocalRedis } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const native = here('../../packages/core/native');

describe('a C program and TypeScript share tuples over Redis', () => {
  let dir: string;
  let redis: LocalRedis;
  let producer: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsdbr-interop-'));
    redis = await startLocalRedis({ dir });
    producer = join(dir, 'c-producer');
    // built against the Data Broker header only: the program would build unchanged against libdatabroker
    execFileSync('cc', ['-Wall', '-Werror', here('../interop/c-producer.c'), `-I${native}/include`, `-L${native}/build`, '-ldbr', `-Wl,-rpath,${native}/build`, '-o', producer]);
  });

  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the C producer puts 500 tuples that the TypeScript consumer gets, and gets its reply', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', here('../interop/ts-consumer.ts'), producer, '500'], {
      encoding: 'utf8',
      env: { ...process.env, DBR_SERVER: redis.server, DBR_AUTHFILE: redis.authFile },
      timeout: 60_000,
    });
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/c-producer: 500 tuples sent, ack: received 500 distinct values/);
    expect(out.stdout).toMatch(/ts-consumer: 500\/500 values from C, producer exit 0/);
    expect(out.status).toBe(0);
  });
});
