import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { uniqueName } from './support/broker.js';
import { dbr } from './support/cli.js';

describe('the dbr command', () => {
  it('--help lists the commands and the exit codes', () => {
    const out = dbr(['--help']);
    expect(out.status).toBe(0);
    for (const cmd of ['doctor', 'ns', 'put', 'get', 'read', 'ls', 'rm', 'mv']) expect(out.stdout).toMatch(new RegExp(`\\b${cmd}\\b`));
    expect(out.stdout).toMatch(/Exit codes/);
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const out = dbr([flag]);
      expect(out.status).toBe(0);
      expect(out.stdout.trim()).toBe(version);
    }
  });

  it('every command has --help', () => {
    for (const cmd of [['doctor'], ['ns'], ['ns', 'create'], ['ns', 'attach'], ['ns', 'delete'], ['ns', 'ls'], ['ns', 'info'], ['put'], ['get'], ['read'], ['ls'], ['rm'], ['mv']]) {
      const out = dbr([...cmd, '--help']);
      expect(out.status, cmd.join(' ')).toBe(0);
      expect(out.stdout).toMatch(/Usage: dbr/);
    }
  });

  it('doctor checks everything and passes here', () => {
    const out = dbr(['doctor']);
    expect(out.stdout).toMatch(/✓ node/);
    expect(out.stdout).toMatch(/✓ library/);
    expect(out.stdout).toMatch(/✓ backend/);
    expect(out.stdout).toMatch(/✓ round trip/);
    expect(out.status).toBe(0);
  });

  it('doctor explains a missing library', () => {
    const out = dbr(['doctor'], { env: { DBR_LIBRARY: '/nope/lib.so' } });
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/✗ library/);
    expect(out.stdout).toMatch(/fix: /);
  });

  it('usage errors exit 2; a missing namespace exits 3', () => {
    expect(dbr(['get']).status).toBe(2);
    expect(dbr(['frobnicate']).status).toBe(2);
    const missing = dbr(['get', uniqueName('missing'), 'x']);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toMatch(/DBR_ERR_UNAVAIL/);
  });

  it('put reads the value from stdin and says which backend it used', () => {
    const out = dbr(['put', '--create', uniqueName(), 'x'], { input: 'hello' });
    expect(out.status).toBe(0);
    if (!process.env.DBR_SERVER) expect(out.stderr).toMatch(/embedded backend/);
  });

  it.runIf(process.env.DBR_SERVER)('put, ls, read, get, mv, rm across processes', () => {
    const ns = uniqueName();
    const other = uniqueName();
    expect(dbr(['ns', 'create', ns]).status).toBe(0);
    expect(dbr(['ns', 'create', other]).status).toBe(0);
    expect(dbr(['put', ns, 'greeting', 'hello']).status).toBe(0);
    expect(dbr(['ls', ns]).stdout).toBe('greeting\t1\n');
    expect(dbr(['read', ns, 'greeting']).stdout).toBe('hello');
    expect(dbr(['mv', ns, other, 'greeting']).status).toBe(0);
    expect(dbr(['get', other, 'greeting']).stdout).toBe('hello');
    expect(dbr(['get', other, 'greeting'], { env: { DBR_TIMEOUT: undefined } }).status).toBe(3);
    expect(dbr(['get', other, 'greeting', '--wait', '100ms']).status).toBe(4);
    expect(dbr(['put', other, 'a', 'x']).status).toBe(0);
    expect(dbr(['rm', other, '--template', 'a*']).status).toBe(0);
    expect(dbr(['ns', 'info', other, '--json']).stdout).toMatch(/"names":0/);
    expect(dbr(['ns', 'delete', ns]).status).toBe(0);
    expect(dbr(['ns', 'delete', other]).status).toBe(0);
  });
});
