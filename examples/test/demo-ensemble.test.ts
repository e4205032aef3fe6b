import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('the worker_threads ensemble example', () => {
  it('fans 32 estimates out to 4 threads over one embedded namespace and collects them', () => {
    const out = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../demo/ensemble.ts', import.meta.url))], {
      encoding: 'utf8',
      env: { ...process.env, DBR_SERVER: '' },
      timeout: 120_000,
    });
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/collected 32\/32 results/);
    const pooled = /pooled estimate over [\d,]+ samples: (\d\.\d+)/.exec(out.stdout);
    expect(Math.abs(Number(pooled?.[1]) - Math.PI)).toBeLessThan(0.01);
  });
});
