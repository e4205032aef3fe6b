import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

function runExample(file: string) {
  const path = fileURLToPath(new URL(`../pydbr/${file}`, import.meta.url));
  const out = spawnSync(process.execPath, ['--import', 'tsx', path], {
    encoding: 'utf8',
    env: { ...process.env, DBR_TIMEOUT: '0.3' },
    timeout: 60_000,
  });
  expect(out.stderr.replace(/^dbr: .*\n/gm, '')).toBe('');
  expect(out.status).toBe(0);
  return out.stdout;
}

describe("PyDBR's examples, ported", () => {
  it('dbr-create', () => {
    const out = runExample('dbr-create.ts');
    expect(out).toMatch(/Query status: Operation successful, attached clients: 1/);
    expect(out).toMatch(/Exit Status: Operation successful/);
  });

  it('dbr-attach', () => {
    const out = runExample('dbr-attach.ts');
    expect(out).toMatch(/Attached clients: 2/);
    expect(out).toMatch(/Delete: Operation successful/);
  });

  it('dbr-putget', () => {
    const out = runExample('dbr-putget.ts');
    expect(out).toMatch(/Read returned: Hello World! - status: Operation successful/);
    expect(out).toMatch(/Get returned: Hello World! - status: Operation successful/);
    expect(out).toMatch(/Get on an empty tuple returned status: Entry not available/);
  });

  it('dbr-putgetA', () => {
    const out = runExample('dbr-putgetA.ts');
    expect(out).toMatch(/Async get tuple return value: Hello World!/);
    expect(out).toMatch(/status: Operation timed out/);
  });

  it('dbr-directory', () => {
    const out = runExample('dbr-directory.ts');
    expect(out).toMatch(/Keys on DBR: \["GoodbyeTuple","HelloTuple"\]/);
    expect(out).toMatch(/Get returned: Goodbye World! - status: Operation successful/);
  });

  it('dbr-iterate', () => {
    const out = runExample('dbr-iterate.ts');
    for (let i = 0; i < 10; i++) expect(out).toMatch(new RegExp(`On key simple_key_${i} Get returned: test-value-${i}`));
  });

  it('dbr-typed-arrays', () => {
    const out = runExample('dbr-typed-arrays.ts');
    expect(out.match(/Check input and output array are the same: true/g)).toHaveLength(2);
    expect(out).toMatch(/Get with a 256-byte buffer returned status: Provided user buffer problem/);
    expect(out).toMatch(/Get with an 800-byte buffer: Operation successful, same: true/);
  });
});
