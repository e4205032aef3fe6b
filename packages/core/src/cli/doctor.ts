/**
 * `dbr doctor`: checks the Node version, the native library, the backend connection and auth, and says how
 * to fix what is wrong.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { Broker } from '../broker.js';
import { isDbrError } from '../errors.js';
import { bundledLibraryPath, loadLibrary } from '../ffi.js';
import type { BrokerOptions } from '../options.js';
import { ExitCode } from './exit-codes.js';
import { authFileSetting, brokerOptions, type GlobalOptions, serverSetting } from './io.js';
import { describeError } from './messages.js';

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** How to fix a failure. */
  fix?: string;
}

const MIN_NODE_MAJOR = 20;

function checkNode(): CheckResult {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { name: 'node', ok: true, detail: `Node.js ${process.version}` }
    : { name: 'node', ok: false, detail: `Node.js ${process.version} is too old`, fix: `Install Node.js >= ${MIN_NODE_MAJOR} (e.g. with nvm, or your distribution's nodejs package).` };
}

function missingSharedLibraries(file: string): string[] {
  try {
    const out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => l.includes('not found')).map((l) => l.trim().split(/\s+/)[0] ?? l);
  } catch {
    return [];
  }
}

/** The first sentence of a message (LibraryLoadError's advice after it would send the user back here). */
function firstSentence(message: string): string {
  return message.split(/\.\s/)[0] ?? message;
}

function checkLibraryFile(): CheckResult {
  const fromEnv = process.env.DBR_LIBRARY || undefined;
  const file = fromEnv ?? bundledLibraryPath();
  if (!existsSync(file)) {
    return fromEnv
      ? { name: 'library', ok: false, detail: `DBR_LIBRARY=${file} does not exist`, fix: 'Point DBR_LIBRARY at a Data Broker library, or unset it to use the bundled libdbr.' }
      : { name: 'library', ok: false, detail: `libdbr is not built (${file})`, fix: 'Run `pnpm build` at the repository root (needs a C compiler and libhiredis-dev: ./setup.sh installs them).' };
  }
  const missing = missingSharedLibraries(file);
  if (missing.length > 0) {
    return { name: 'library', ok: false, detail: `${file} needs ${missing.join(', ')}, which is not installed`, fix: missing.some((m) => m.includes('hiredis')) ? 'Install hiredis: `sudo apt-get install -y libhiredis-dev`.' : 'Install the missing shared libraries.' };
  }
  try {
    loadLibrary(file);
  } catch (err) {
    return {
      name: 'library',
      ok: false,
      detail: firstSentence((err as Error).message),
      fix: fromEnv ? 'Point DBR_LIBRARY at a Data Broker shared library (such as libdbr.so), or unset it to use the bundled libdbr.' : 'Rebuild libdbr: `pnpm build` at the repository root.',
    };
  }
  return { name: 'library', ok: true, detail: file };
}

function checkAuthFile(globals: GlobalOptions): CheckResult | undefined {
  const auth = authFileSetting(globals);
  if (auth === undefined) return undefined;
  const { value: file, source } = auth;
  const named = source === '--auth-file' ? `${file} (--auth-file)` : `DBR_AUTHFILE=${file}`;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    return { name: 'auth', ok: false, detail: `${named} cannot be read`, fix: `Create the file with the Redis password on one line (chmod 600), or fix ${source}.` };
  }
  if (readFileSync(file, 'utf8').trim().length === 0) return { name: 'auth', ok: false, detail: `${named} is empty`, fix: 'Write the Redis password into it.' };
  const mode = statSync(file).mode & 0o077;
  return mode === 0
    ? { name: 'auth', ok: true, detail: `password file ${named}` }
    : { name: 'auth', ok: true, detail: `password file ${named} (warning: readable by others; chmod 600 ${file})` };
}

/** How to fix a backend that could not be reached, naming the settings the user actually gave. */
function backendFix(err: unknown, globals: GlobalOptions): string {
  if (isDbrError(err, 'DBR_ERR_NOAUTH')) {
    const auth = authFileSetting(globals);
    return auth === undefined ? 'The server wants a password: name a file holding it with --auth-file or DBR_AUTHFILE.' : `Check the password in ${auth.value} (${auth.source}).`;
  }
  const server = serverSetting(globals)?.source ?? 'DBR_SERVER';
  return `Check ${server} (sock://host:port) and that redis-server is running (\`dbr redis status\`).`;
}

async function checkBackend(globals: GlobalOptions, options: BrokerOptions): Promise<CheckResult[]> {
  let broker: Broker;
  try {
    broker = new Broker(options);
  } catch (err) {
    return [{ name: 'backend', ok: false, detail: describeError(err, globals), fix: backendFix(err, globals) }];
  }
  const results: CheckResult[] = [
    {
      name: 'backend',
      ok: true,
      detail: broker.backend === 'mem' ? 'embedded (mem): no server is set; data lives as long as the process' : `${broker.backend} at ${broker.options.server ?? '?'}`,
    },
  ];
  const nsName = `dbr-doctor-${process.pid}-${Date.now()}`;
  try {
    const started = process.hrtime.bigint();
    const ns = await broker.create(nsName);
    await ns.put('ping', 'pong');
    const value = await ns.get('ping', { timeout: 2000 });
    await ns.close();
    await broker.delete(nsName);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    results.push(
      value.toString() === 'pong'
        ? { name: 'round trip', ok: true, detail: `create, put, get, delete in ${ms.toFixed(2)} ms` }
        : { name: 'round trip', ok: false, detail: 'put/get returned a different value', fix: 'Report this as a bug.' },
    );
  } catch (err) {
    results.push({ name: 'round trip', ok: false, detail: describeError(err, globals), fix: 'Check that this client may create and delete namespaces on the server.' });
  } finally {
    await broker.close().catch(() => undefined);
  }
  return results;
}

/** Runs every check. */
export async function runDoctor(globals: GlobalOptions): Promise<CheckResult[]> {
  const options = brokerOptions(globals); // a malformed option is a usage error, not a failed check
  const results: CheckResult[] = [checkNode(), checkLibraryFile()];
  const auth = checkAuthFile(globals);
  if (auth) results.push(auth);
  if (results.every((r) => r.ok)) results.push(...(await checkBackend(globals, options)));
  return results;
}

/** Registers `dbr doctor`. */
export function registerDoctor(program: Command, globals: () => GlobalOptions): void {
  program
    .command('doctor')
    .description('Check Node, the native library, the backend connection and auth; print fixes')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const results = await runDoctor(globals());
      if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else {
        for (const r of results) {
          process.stdout.write(`${r.ok ? '✓' : '✗'} ${r.name.padEnd(11)} ${r.detail}\n`);
          if (!r.ok && r.fix) process.stdout.write(`  fix: ${r.fix}\n`);
        }
      }
      process.exitCode = results.every((r) => r.ok) ? ExitCode.OK : ExitCode.FAILURE;
    });
}
