/**
 * Security of the password file (DBR_AUTHFILE):
 * - a wrong password gives DBR_ERR_NOAUTH, a missing file DBR_ERR_NOFILE, no file at all for a
 *   password-protected server DBR_ERR_NOAUTH, each with a message that names what to fix;
 * - the password file's contents (right or wrong) never appear in an error message, a log line or anything
 *   the client process prints, even at DBR_LOG_LEVEL=debug, nor in what `dbr doctor` prints.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientProcess, clientEnv } from '../src/client-process.js';
import { mode } from '../src/mode.js';
import { recordFigures } from '../src/results.js';
import { type Servers, startServers, stopAllServers } from '../src/servers.js';

const execFileAsync = promisify(execFile);
async function probe(servers: Servers, authFile: string | undefined): Promise<{ code: string; message: string; output: string }> {
  const env = clientEnv(servers, { DBR_LOG_LEVEL: 'debug', DBR_TIMEOUT: '2' });
  if (authFile === undefined) delete env.DBR_AUTHFILE;
  else env.DBR_AUTHFILE = authFile;
  const client = new ClientProcess('auth-probe', env);
  const exit = await client.exited;
  const output = `${client.stdoutText()}\n${client.stderrText()}`;
  expect(exit.code, output).toBe(0);
  const last = client.stdout.map((l) => l.line).filter((l) => l.startsWith('{')).pop() ?? '{}';
  return { ...(JSON.parse(last) as { code: string; message: string }), output };
}

describe.each(mode === 'quick' ? [0] : [0, 3])('the password file (%i cluster masters)', (clusterMasters) => {
  let servers: Servers;
  const wrong = `WrongSecret-${randomBytes(12).toString('hex')}`;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    servers = await startServers({ clusterMasters });
  });
  afterAll(stopAllServers);

  it('a wrong password: DBR_ERR_NOAUTH naming DBR_AUTHFILE, and neither password is printed', async () => {
    const file = join(servers.dir, 'wrong-password');
    writeFileSync(file, `${wrong}\n`, { mode: 0o600 });
    const r = await probe(servers, file);
    figures[`wrong password (${clusterMasters} masters)`] = r.message;
    expect(r.code).toBe('DBR_ERR_NOAUTH');
    expect(r.message).toMatch(/DBR_AUTHFILE|password/i);
    expect(r.output).not.toContain(wrong);
    expect(r.output).not.toContain(servers.password);
  });

  it('a missing password file: DBR_ERR_NOFILE naming the file', async () => {
    const file = join(servers.dir, 'no-such-password-file');
    const r = await probe(servers, file);
    figures[`missing file (${clusterMasters} masters)`] = r.message;
    expect(r.code).toBe('DBR_ERR_NOFILE');
    expect(r.message).toContain('no-such-password-file');
    expect(r.output).not.toContain(servers.password);
  });

  it('no password file for a password-protected server: DBR_ERR_NOAUTH', async () => {
    const r = await probe(servers, undefined);
    figures[`no DBR_AUTHFILE (${clusterMasters} masters)`] = r.message;
    expect(r.code).toBe('DBR_ERR_NOAUTH');
    expect(r.output).not.toContain(servers.password);
  });

  it('the right password at debug log level: works, and the password is never printed', async () => {
    const r = await probe(servers, servers.authFile);
    expect(r.code).toBe('ok');
    expect(r.output).not.toContain(servers.password);
  });

  it('`dbr doctor` with a wrong password says so without printing it', async () => {
    const file = join(servers.dir, 'wrong-password-doctor');
    writeFileSync(file, `${wrong}\n`, { mode: 0o600 });
    const cli = createRequire(import.meta.url).resolve('@tsdbr/core/cli').replace(/index\.js$/, 'main.js');
    const env = { ...clientEnv(servers), DBR_AUTHFILE: file, DBR_LOG_LEVEL: 'debug', DBR_TIMEOUT: '2' };
    const out = await execFileAsync(process.execPath, [cli, 'doctor'], { env, timeout: 60_000 }).then(
      (r) => ({ code: 0, text: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, text: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    figures[`dbr doctor, wrong password (${clusterMasters} masters)`] = out.text.split('\n').filter((l) => /auth|password|NOAUTH/i.test(l)).slice(0, 3);
    expect(out.code).not.toBe(0);
    expect(out.text).toMatch(/NOAUTH|password/i);
    expect(out.text).not.toContain(wrong);
    expect(out.text).not.toContain(servers.password);
    recordFigures(`auth-messages-${clusterMasters}-masters`, figures);
  });
});
