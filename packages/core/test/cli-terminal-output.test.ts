/**
 * What `dbr get|read` prints to a terminal: text as it is, never the control bytes or escape sequences
 * another client may have stored. Piped output stays byte-exact.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrintableText } from '../src/cli/io.js';
import { uniqueName } from './support/broker.js';
import { dbr, dbrMain } from './support/cli.js';

describe('isPrintableText', () => {
  it('accepts UTF-8 text with newlines and tabs', () => {
    for (const text of ['', 'hello', 'a\tb\nc\n', 'héllo wörld ✓ 日本']) expect(isPrintableText(Buffer.from(text)), text).toBe(true);
  });

  it('refuses escape sequences, other control characters and invalid UTF-8', () => {
    const values = ['\x1b[2J', '\x1b]0;title\x07', 'a\rb', 'nul\0', '\x7f', '\u009b31m'].map((t) => Buffer.from(t));
    for (const value of [...values, Buffer.from([0xff, 0xfe]), Buffer.from([0xc3])]) expect(isPrintableText(value), value.toString('hex')).toBe(false);
  });
});

/** `dbr args...` with stdout taken for a terminal (its bytes still come back through a pipe). */
function dbrOnTerminal(args: string[]) {
  const fakeTty = `data:text/javascript,Object.defineProperty(process.stdout, 'isTTY', { value: true })`;
  return spawnSync(process.execPath, ['--import', fakeTty, dbrMain, ...args], { encoding: 'latin1', timeout: 30_000 });
}

// tuples outlive a `dbr` process only on a server
describe.runIf(process.env.DBR_SERVER)('dbr get|read on a terminal (Redis)', () => {
  const ns = uniqueName('cli-tty');
  const escape = '\x1b]0;pwned\x07\x1b[2J';
  beforeAll(() => {
    expect(dbr(['ns', 'create', ns]).status).toBe(0);
  });
  afterAll(() => {
    dbr(['ns', 'delete', ns]);
  });

  it('prints text as it is', () => {
    expect(dbr(['put', ns, 't', 'hello ✓']).status).toBe(0);
    const out = dbrOnTerminal(['get', ns, 't']);
    expect(Buffer.from(out.stdout, 'latin1').toString()).toBe('hello ✓\n');
  });

  it('refuses a value with escape sequences, pointing to --out or a pipe; a read keeps it', () => {
    expect(dbr(['put', ns, 'e', escape]).status).toBe(0);
    const out = dbrOnTerminal(['read', ns, 'e']);
    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/has control bytes or is not UTF-8, so it is not printed to a terminal; use --out FILE, or a pipe/);
    expect(dbr(['read', ns, 'e']).stdout).toBe(escape); // piped: byte-exact
  });

  it('saves a taken value it refuses to print, and names the file', () => {
    const out = dbrOnTerminal(['get', ns, 'e']);
    expect(out.status).toBe(1);
    expect(out.stdout).toBe('');
    const saved = /saved in (\S+)\.$/m.exec(out.stderr)?.[1];
    expect(saved !== undefined && existsSync(saved), out.stderr).toBe(true);
    expect(readFileSync(saved as string, 'utf8')).toBe(escape);
    rmSync(dirname(saved as string), { recursive: true, force: true });
  });
});
