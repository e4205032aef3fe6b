import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueName } from './support/broker.js';
import { dbr, errorLines } from './support/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'dbr-cli-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('dbr option values', () => {
  it('a malformed option value is a usage error (exit code 2) that quotes what was typed', () => {
    const ns = uniqueName('absent');
    const cases: [string[], RegExp][] = [
      [['--timeout', 'bogus', 'ns', 'ls'], /--timeout "bogus" is not a duration/],
      [['get', ns, 'k', '--timeout', 'bogus'], /--timeout "bogus" is not a duration/],
      [['get', ns, 'k', '--wait', 'soon'], /--wait "soon" is not a duration/],
      [['read', ns, 'k', '-i', 'x'], /--index must be an integer from 0 to 134217727, got "x"/],
      [['read', ns, 'k', '-i', '-1'], /--index/],
      [['read', ns, 'k', '-i', String(2 ** 28)], /--index must be an integer from 0 to 134217727, got "268435456"/],
      [['ls', ns, '-n', 'x'], /--limit must be an integer >= 0, got "x"/],
      [['ns', 'create', ns, '--level', 'x'], /--level must be an integer from 0 to 5, got "x"/],
      [['ns', 'create', ns, '--level', '9'], /--level must be an integer from 0 to 5, got "9"/],
      [['--server', 'http://x', 'ns', 'ls'], /--server "http:\/\/x" is not understood/],
      [['put', ns, 'k', '--file', join(scratch, 'missing')], /--file .*missing cannot be read/],
    ];
    for (const [args, message] of cases) {
      const out = dbr(['-q', ...args]);
      expect(out.status, args.join(' ')).toBe(2);
      expect(out.stderr, args.join(' ')).toMatch(message);
      expect(out.stderr).not.toMatch(/NaN/);
      expect(errorLines(out.stderr), args.join(' ')).toHaveLength(1);
    }
    // the rejected --level created nothing
    expect(dbr(['-q', 'ns', 'info', ns]).status).toBe(3);
  });

  it('a bare number is milliseconds for every duration option', () => {
    expect(dbr(['-q', '--timeout', '5', 'ns', 'ls']).status).toBe(0);
    expect(dbr(['-q', '--timeout', '1.5', 'ns', 'ls']).status).toBe(0);
    // the namespace does not exist (3), but the waits were accepted (not 2)
    expect(dbr(['-q', 'get', uniqueName('absent'), 'k', '--wait', '1.5']).status).toBe(3);
    expect(dbr(['-q', 'read', uniqueName('absent'), 'k', '--wait', '500']).status).toBe(3);
  });
});

describe('dbr messages', () => {
  it('name dbr commands, not C functions', () => {
    const ns = uniqueName('absent');
    const out = dbr(['-q', 'get', ns, 'k']);
    expect(out.status).toBe(3);
    expect(out.stderr).toContain(`create it first with \`dbr ns create ${ns}\``);
    expect(out.stderr).not.toMatch(/dbrCreate|dbrAttach/);
    expect(errorLines(out.stderr)).toHaveLength(1);
  });

  it('name the option the user gave, not the environment variable it overrides', () => {
    const out = dbr(['-q', '--server', 'sock://127.0.0.1:2', 'ns', 'ls'], { env: { DBR_SERVER: undefined } });
    expect(out.status).toBe(5);
    expect(out.stderr).toMatch(/--server sock:\/\/127\.0\.0\.1:2/);
    expect(out.stderr).not.toMatch(/DBR_SERVER/);
    expect(errorLines(out.stderr)).toHaveLength(1);
  });

  it('a missing --auth-file is named as such', () => {
    const missing = join(scratch, 'no-password');
    const out = dbr(['-q', '--server', 'sock://127.0.0.1:2', '--auth-file', missing, 'ns', 'ls'], { env: { DBR_SERVER: undefined } });
    expect(out.status).toBe(5);
    expect(out.stderr).toContain(`${missing} (--auth-file)`);
    expect(out.stderr).not.toMatch(/DBR_AUTHFILE/);
  });
});

describe('dbr get --out', () => {
  it('checks the file before taking anything', () => {
    // the namespace does not exist either: the bad path must be found first
    const out = dbr(['-q', 'get', uniqueName('absent'), 'k', '--out', join(scratch, 'no', 'such', 'dir', 'x')]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/its directory .*no\/such\/dir does not exist; create it first\. Nothing was taken\./);
    expect(errorLines(out.stderr)).toHaveLength(1);
    expect(dbr(['-q', 'get', uniqueName('absent'), 'k', '--out', scratch]).stderr).toMatch(/is a directory/);
  });

  it('leaves no empty file behind when nothing was taken', () => {
    const file = join(scratch, 'untouched');
    expect(dbr(['-q', 'get', uniqueName('absent'), 'k', '--out', file]).status).toBe(3);
    expect(existsSync(file)).toBe(false);
  });
});

describe('dbr doctor', () => {
  it('checks the file of --auth-file, and names it in the fix', () => {
    const empty = join(scratch, 'empty-password');
    writeFileSync(empty, '', { mode: 0o600 });
    const good = join(scratch, 'password');
    writeFileSync(good, 'secret\n', { mode: 0o600 });
    const out = dbr(['--auth-file', empty, 'doctor'], { env: { DBR_AUTHFILE: good } });
    expect(out.status).toBe(1);
    expect(out.stdout).toContain(`✗ auth        ${empty} (--auth-file) is empty`);
    const unreadable = dbr(['--auth-file', join(scratch, 'nope'), 'doctor'], { env: { DBR_AUTHFILE: undefined } });
    expect(unreadable.stdout).toMatch(/✗ auth .*nope \(--auth-file\) cannot be read/);
    expect(unreadable.stdout).toMatch(/fix: .*fix --auth-file/);
  });

  it('reports a file that is not a library as a library problem', () => {
    const out = dbr(['doctor'], { env: { DBR_LIBRARY: '/etc/hostname' } });
    expect(out.status).toBe(1);
    expect(out.stdout).toMatch(/✗ library .*\/etc\/hostname/);
    expect(out.stdout).toMatch(/fix: Point DBR_LIBRARY/);
    expect(out.stdout).not.toMatch(/✓ library|backend/);
  });

  it('a malformed global option is a usage error', () => {
    expect(dbr(['--timeout', 'x', 'doctor']).status).toBe(2);
  });
});
