/**
 * Terminal input and output of the CLI: brokers from the global options, values from arguments, files or
 * stdin, and printing of bytes.
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Broker } from '../broker.js';
import { printableText } from '../codecs.js';
import { ConfigError, isDbrError } from '../errors.js';
import type { BrokerOptions } from '../options.js';
import { UsageError } from './exit-codes.js';
import { durationOption, serverOption } from './parse.js';

/** Global options every command accepts. */
export interface GlobalOptions {
  server?: string;
  authFile?: string;
  timeout?: string;
  quiet?: boolean;
}

/** A setting and where it came from: the option the user gave, else its environment variable. */
export interface Setting {
  value: string;
  /** `--auth-file` or `DBR_AUTHFILE`, for messages. */
  source: string;
}

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The password file in use: --auth-file, else DBR_AUTHFILE. */
export function authFileSetting(opts: GlobalOptions): Setting | undefined {
  if (opts.authFile !== undefined) return { value: opts.authFile, source: '--auth-file' };
  const file = envValue('DBR_AUTHFILE');
  return file === undefined ? undefined : { value: file, source: 'DBR_AUTHFILE' };
}

/** The server in use: --server, else DBR_SERVER. */
export function serverSetting(opts: GlobalOptions): Setting | undefined {
  if (opts.server !== undefined) return { value: opts.server, source: '--server' };
  const server = envValue('DBR_SERVER');
  return server === undefined ? undefined : { value: server, source: 'DBR_SERVER' };
}

/** True if a default wait was configured with --timeout or DBR_TIMEOUT. */
export function defaultWaitConfigured(opts: GlobalOptions): boolean {
  return opts.timeout !== undefined || envValue('DBR_TIMEOUT') !== undefined;
}

/** Broker options from the global options; a UsageError (exit code 2) for a malformed value. */
export function brokerOptions(opts: GlobalOptions): BrokerOptions {
  const options: BrokerOptions = {};
  if (opts.server !== undefined) options.server = serverOption(opts.server, '--server');
  if (opts.authFile !== undefined) options.authFile = opts.authFile;
  if (opts.timeout !== undefined) options.timeout = durationOption(opts.timeout, '--timeout');
  return options;
}

function isEmptyFile(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').trim().length === 0;
  } catch {
    return false;
  }
}

/** A Broker; a refused password that comes from an empty password file says so. */
function newBroker(options: BrokerOptions, opts: GlobalOptions): Broker {
  try {
    return new Broker(options);
  } catch (err) {
    const auth = authFileSetting(opts);
    if (isDbrError(err, 'DBR_ERR_NOAUTH') && auth !== undefined && isEmptyFile(auth.value)) {
      throw new ConfigError(`The password file ${auth.value} (${auth.source}) is empty: write the Redis password into it (\`dbr redis up\` prints the file it wrote).`);
    }
    throw err;
  }
}

/** Brokers that connect() made and that may still hold namespaces; runCli closes them whatever happens. */
const openBrokers = new Set<Broker>();

/**
 * A broker configured from the global options; warns once about the embedded backend's lifetime. The CLI
 * detaches it when the command ends, even if the command fails; prefer withBroker, which closes it at once.
 */
export function connect(opts: GlobalOptions): Broker {
  const broker = newBroker(brokerOptions(opts), opts);
  openBrokers.add(broker);
  if (broker.backend === 'mem' && !opts.quiet) {
    process.stderr.write(
      'dbr: using the embedded backend (DBR_SERVER is unset): data lives only as long as this process. Set DBR_SERVER=sock://host:port to share tuples between processes, or run `dbr redis up`.\n',
    );
  }
  return broker;
}

/** Runs `use` with a connected broker and closes it afterwards, also when `use` fails. */
export async function withBroker<T>(opts: GlobalOptions, use: (broker: Broker) => Promise<T>): Promise<T> {
  const broker = connect(opts);
  let result: T;
  try {
    result = await use(broker);
  } catch (err) {
    await broker.close().catch(() => undefined); // the command's error is the one to report
    throw err;
  }
  await broker.close();
  openBrokers.delete(broker);
  return result;
}

/**
 * Detaches every broker connect() made. A failed command, or a plugin's command that forgot, would
 * otherwise leave its namespaces attached on Redis for good. Best effort: the command's own outcome counts.
 */
export async function closeOpenBrokers(): Promise<void> {
  const brokers = [...openBrokers];
  openBrokers.clear();
  await Promise.all(brokers.map((b) => b.close().catch(() => undefined)));
}

/** Reads all of stdin. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readValueFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`--file ${file} cannot be read (${(err as Error).message}); name a readable file, or "-" for stdin.`);
  }
}

/** The value of a put: the argument, else --file, else stdin (when it is not a terminal). */
export async function valueFrom(arg: string | undefined, file: string | undefined): Promise<Buffer> {
  if (arg !== undefined && file !== undefined) throw new UsageError('Give the value either as an argument or with --file, not both.');
  if (arg !== undefined) return Buffer.from(arg, 'utf8');
  if (file !== undefined) return file === '-' ? readStdin() : readValueFile(file);
  if (process.stdin.isTTY) throw new UsageError('No value: pass it as an argument, with --file PATH, or on stdin (e.g. `echo hi | dbr put NS NAME`).');
  return readStdin();
}

/**
 * Whether a value may be printed to a terminal as it is: valid UTF-8 without control characters (newline and
 * tab aside), so no escape sequence another client stored can reach the terminal.
 */
export function isPrintableText(value: Buffer): boolean {
  return printableText(value) !== undefined;
}

/** Writes a value to stdout: raw bytes, or text with a newline when stdout is a terminal. */
export function writeValue(value: Buffer): void {
  process.stdout.write(value);
  if (process.stdout.isTTY && value.length > 0 && value[value.length - 1] !== 0x0a) process.stdout.write('\n');
}
