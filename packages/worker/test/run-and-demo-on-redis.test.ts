/**
 * `dbr run` and `dbr demo` with DBR_SERVER set: a run without workers says how to start one instead of
 * waiting silently, and the demo starts its own worker processes and deletes its namespace at the end, also
 * when it is interrupted. (On the embedded backend both always start local workers: Redis only.)
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Broker } from '@tsdbr/core';
import { afterAll, describe, expect, it } from 'vitest';
import { dbr, spawnDbr } from './support/dbr-cli.js';
import { onRedis } from './support/harness.js';

async function demoNamespaces(): Promise<string[]> {
  const broker = new Broker();
  try {
    return await broker.namespaces('tsdbr-demo-*');
  } finally {
    await broker.close();
  }
}

describe.skipIf(!onRedis)('dbr run and dbr demo on Redis', () => {
  const namespace = `wt-run-hint-${process.pid}-${Date.now().toString(36)}`;

  afterAll(async () => {
    await new Broker().delete(namespace).catch(() => undefined);
  });

  it('a run with no worker serving its queue says, on stderr, how to start one', async () => {
    const workflow = fileURLToPath(new URL('./fixtures/cli-workflow-ok.ts', import.meta.url));
    const run = spawnDbr(['run', workflow, '-n', namespace]);
    try {
      const [line] = await run.waitForStderr(/dbr run: no worker serves queue default.*\n/);
      expect(line).toContain(`dbr worker --tasks ${workflow} -n ${namespace}`);
    } finally {
      run.child.kill('SIGINT');
      await run.exited;
    }
  });

  it('demo starts its own workers and deletes its namespace', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tsdbr-demo-')), 'chart.svg');
    const r = await dbr(['demo', '--grid', '16', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('completed (33/33 steps done');
    expect(readFileSync(out, 'utf8')).toMatch(/^<svg /);
    expect(await demoNamespaces()).toEqual([]);
  });

  it('an interrupted demo deletes its namespace too', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tsdbr-demo-')), 'chart.svg');
    const demo = spawnDbr(['demo', '--grid', '64', '--workers', '1', '--out', out]);
    const pid = demo.child.pid!;
    const broker = new Broker();
    try {
      while (!(await broker.namespaces(`tsdbr-demo-${pid}`)).length) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await broker.close();
    }
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(130);
    expect(await demoNamespaces()).toEqual([]);
  });
});
