/**
 * `dbr` loads a user's tasks and workflow modules as a user would write them: a plain `tasks.ts` in a
 * directory with no package.json (so no `"type": "module"`), with `dbr` run as installed (no `--import tsx`).
 * A module that cannot load says why in one line, with its file:line.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onRedis } from './support/harness.js';

const main = fileURLToPath(new URL('../../core/dist/cli/main.js', import.meta.url));
const workerPackage = fileURLToPath(new URL('..', import.meta.url));
const zodPackage = fileURLToPath(new URL('../node_modules/zod', import.meta.url));

/** Runs the installed `dbr` (no tsx preloaded) in `cwd`. */
function dbrIn(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd, env: { ...process.env, DBR_LOG_LEVEL: 'silent' }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const TASKS_TS = `import { defineTask } from '@tsdbr/worker';
import { z } from 'zod';

export const addOne = defineTask({ name: 'add-one', input: z.object({ a: z.number() }), output: z.number(), run: ({ a }: { a: number }) => a + 1 });
`;

const WORKFLOW_TS = `import { workflow } from '@tsdbr/worker';
import { addOne } from './tasks.js';

export { addOne };
export const plusOne = workflow('plus-one', (wf) => wf.run(addOne, { a: 41 }));
`;

describe('dbr loads modules of a project without "type": "module"', () => {
  const namespace = `wt-plain-${process.pid}`;
  let project: string;

  afterAll(async () => {
    await dbrIn(project, ['ns', 'delete', namespace]); // Redis keeps it
  });

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'tsdbr-plain-project-'));
    mkdirSync(join(project, 'node_modules', '@tsdbr'), { recursive: true });
    symlinkSync(workerPackage, join(project, 'node_modules', '@tsdbr', 'worker'), 'dir');
    symlinkSync(zodPackage, join(project, 'node_modules', 'zod'), 'dir');
    writeFileSync(join(project, 'tasks.ts'), TASKS_TS);
    writeFileSync(join(project, 'workflow.ts'), WORKFLOW_TS);
    writeFileSync(join(project, 'tla.ts'), `${TASKS_TS}await Promise.resolve();\n`);
    writeFileSync(join(project, 'bad.js'), 'const a = 1;\nconst b = ;\n');
    writeFileSync(join(project, 'bad.mjs'), 'export const a = 1;\nconst b = ;\n');
    writeFileSync(join(project, 'imports-bad.mjs'), "import './bad.mjs';\nexport const c = 2;\n");
    writeFileSync(join(project, 'bad.ts'), 'export const a: number = ;\n');
  });

  it('`dbr run ./workflow.ts` runs a plain TypeScript workflow and its tasks', async () => {
    const r = await dbrIn(project, ['-q', 'run', './workflow.ts', '--workers', '1', '-n', namespace]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/workflow plus-one run plus-one: completed \(1\/1 steps done/);
  });

  it('`dbr submit -t ./tasks.ts` loads the task to validate the input', async () => {
    const r = await dbrIn(project, ['submit', 'add-one', '{"a":1}', '-t', './tasks.ts', '-n', namespace]);
    expect(r.stderr).not.toMatch(/Cannot require|nodejs\/node/);
    if (onRedis) expect({ code: r.code, out: r.stdout }).toEqual({ code: 0, out: expect.stringMatching(/^\S+\n$/) });
    else expect({ code: r.code, err: r.stderr }).toEqual({ code: 5, err: expect.stringContaining('submit needs a shared backend') });
    const invalid = await dbrIn(project, ['submit', 'add-one', '{"a":"x"}', '-t', './tasks.ts']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('does not match its input schema');
  });

  it('a module that needs ESM (top-level await) names the one-line fix', async () => {
    const r = await dbrIn(project, ['worker', '--tasks', './tla.ts']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('add "type": "module" to its package.json, or rename it to .mts');
    expect(r.stderr).toContain('tla.ts:5:');
  });

  it('a syntax error names its file and line, in .js, .mjs (also when imported) and .ts modules', async () => {
    for (const [file, where] of [
      ['./bad.js', 'bad.js:2'],
      ['./bad.mjs', 'bad.mjs:2'],
      ['./imports-bad.mjs', 'bad.mjs:2'],
      ['./bad.ts', 'bad.ts:1:'],
    ] as const) {
      const r = await dbrIn(project, ['run', file]);
      expect({ file, code: r.code, lines: r.stderr.trim().split('\n').length }).toEqual({ file, code: 2, lines: 1 });
      expect(r.stderr).toContain(`${join(project, where)}`);
      expect(r.stderr).toMatch(/SyntaxError: Unexpected/);
    }
  });
});
