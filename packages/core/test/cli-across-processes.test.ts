/**
 * The CLI against Redis, where tuples outlive each `dbr` process: values taken by failed commands, attaches
 * left behind, waits configured globally. (On the embedded backend every `dbr` process has its own tuples.)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testBroker, uniqueName } from './support/broker.js';
import { dbr, dbrAsync, dbrMain, errorLines } from './support/cli.js';

function attachedTo(name: string): number {
  return (JSON.parse(dbr(['ns', 'info', name, '--json']).stdout) as { attached: number }).attached;
}

describe.runIf(process.env.DBR_SERVER)('dbr across processes (Redis)', () => {
  const created: string[] = [];
  let scratch = '';
  let ns = '';

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'dbr-cli-test-'));
  });

  beforeEach(() => {
    ns = uniqueName('cli');
    created.push(ns);
    expect(dbr(['ns', 'create', ns]).status).toBe(0);
  });

  afterAll(() => {
    for (const name of created) dbr(['ns', 'delete', name]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a failing command detaches from its namespace', () => {
    expect(dbr(['get', ns, 'nope'], { env: { DBR_TIMEOUT: undefined } }).status).toBe(3);
    expect(dbr(['rm', ns, 'nope']).status).toBe(3);
    expect(dbr(['read', ns, 'nope', '--wait', '50ms']).status).toBe(4);
    expect(dbr(['mv', ns, uniqueName('absent'), 'nope']).status).toBe(3);
    expect(attachedTo(ns)).toBe(0);
  });

  it('Ctrl-C on a waiting get withdraws it, detaches and exits 130; a value put afterwards stays', async () => {
    const child = spawn(process.execPath, [dbrMain, 'get', ns, 'later', '--wait', 'infinite'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    for (let i = 0; i < 300 && attachedTo(ns) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(attachedTo(ns)).toBe(1);
    expect(JSON.parse(dbr(['ns', 'attach', ns]).stdout)).toMatchObject({ name: ns, attached: 1 }); // the waiting get, not itself
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('interrupted by SIGINT while waiting; nothing was taken');
    expect(attachedTo(ns)).toBe(0);
    expect(dbr(['put', ns, 'later', 'kept']).status).toBe(0);
    expect(dbr(['get', ns, 'later']).stdout).toBe('kept');
  });

  it('get --out into a missing directory leaves the value where it was', () => {
    expect(dbr(['put', ns, 'k', 'precious']).status).toBe(0);
    const out = dbr(['get', ns, 'k', '--out', join(scratch, 'no', 'such', 'x')]);
    expect(out.status).toBe(2);
    expect(dbr(['get', ns, 'k']).stdout).toBe('precious');
  });

  it('get --out replaces the file with the value', () => {
    const file = join(scratch, 'value');
    writeFileSync(file, 'a much longer previous content');
    expect(dbr(['put', ns, 'k', 'new']).status).toBe(0);
    expect(dbr(['get', ns, 'k', '--out', file]).status).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('new');
  });

  it('a value taken but not written to --out is saved elsewhere and the message says where', () => {
    expect(dbr(['put', ns, 'k', 'precious']).status).toBe(0);
    const out = dbr(['get', ns, 'k', '--out', '/dev/full']); // every write fails with ENOSPC
    expect(out.status).toBe(1);
    expect(errorLines(out.stderr)).toHaveLength(1);
    const saved = /the value is saved in (\S+)\.$/m.exec(out.stderr)?.[1];
    expect(saved, out.stderr).toBeDefined();
    expect(readFileSync(saved as string, 'utf8')).toBe('precious');
    rmSync(dirname(saved as string), { recursive: true, force: true });
  });

  it('get and read wait as long as --timeout or DBR_TIMEOUT say when --wait is not given', async () => {
    const unset = { DBR_TIMEOUT: undefined };
    expect(dbr(['get', ns, 'k'], { env: unset }).status).toBe(3); // neither set: no wait
    const timedOut = dbr(['get', ns, 'k'], { env: { DBR_TIMEOUT: '0.2' } });
    expect(timedOut.status).toBe(4);
    expect(timedOut.stderr).toMatch(/wait longer with --wait/);
    expect(timedOut.stderr).not.toMatch(/option `timeout`/);
    expect(dbr(['--timeout', '200ms', 'read', ns, 'k'], { env: unset }).status).toBe(4);
    expect(dbr(['--timeout', '200', 'get', ns, 'k'], { env: unset }).status).toBe(4);
    expect(dbr(['get', ns, 'k', '--wait', '0'], { env: { DBR_TIMEOUT: '30' } }).status).toBe(3); // --wait wins
    // and a value that arrives within the wait is taken
    const waiting = dbrAsync(['get', ns, 'late'], { DBR_TIMEOUT: '20' });
    await new Promise((r) => setTimeout(r, 500));
    expect(dbr(['put', ns, 'late', 'arrived']).status).toBe(0);
    const got = await waiting;
    expect(got.status).toBe(0);
    expect(got.stdout).toBe('arrived');
  });

  it('rm and mv of a name that holds nothing exit 3 with one line', () => {
    const other = uniqueName('cli');
    created.push(other);
    expect(dbr(['ns', 'create', other]).status).toBe(0);
    for (const args of [['rm', ns, 'nope'], ['rm', ns, '--template', 'nope*'], ['mv', ns, other, 'nope'], ['mv', ns, other, '--template', 'nope*']]) {
      const out = dbr(args);
      expect(out.status, args.join(' ')).toBe(3);
      expect(errorLines(out.stderr)).toHaveLength(1);
      expect(out.stderr).toMatch(/nothing was (removed|moved); `dbr ls/);
    }
    expect(dbr(['put', ns, 'there', 'x']).status).toBe(0);
    expect(dbr(['mv', ns, other, 'there']).status).toBe(0);
    expect(dbr(['rm', other, 'there']).status).toBe(0);
  });

  it('ns info says unknown for what Redis cannot count; --json keeps -1', () => {
    expect(dbr(['ns', 'info', ns]).stdout).toMatch(/^bytes +unknown$/m);
    expect(JSON.parse(dbr(['ns', 'info', ns, '--json']).stdout)).toMatchObject({ bytes: -1 });
  });

  it('conflicts name the dbr command to run and say it once', async () => {
    const exists = dbr(['ns', 'create', ns]);
    expect(exists.status).toBe(6);
    expect(exists.stderr).toContain(`delete it first with \`dbr ns delete ${ns}\``);
    expect(exists.stderr).not.toMatch(/dbrAttach|attach to it instead/);
    const broker = testBroker();
    await broker.attach(ns);
    try {
      const busy = dbr(['ns', 'delete', ns]);
      expect(busy.status).toBe(6);
      expect(busy.stderr.match(/when the last one detaches/g)).toHaveLength(1);
    } finally {
      await broker.close();
    }
  });

  it('an empty password file is reported as empty', () => {
    const empty = join(scratch, 'empty-password');
    writeFileSync(empty, '\n', { mode: 0o600 });
    const out = dbr(['--auth-file', empty, 'ns', 'ls']);
    expect(out.status).toBe(5);
    expect(out.stderr).toContain(`The password file ${empty} (--auth-file) is empty`);
  });
});
