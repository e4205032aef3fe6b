/**
 * Terminal input and output of the CLI: values from arguments, files or stdin, and printing of bytes.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { Broker } from '../broker.js';
import type { BrokerOptions } from '../options.js';
import { UsageError } from './exit-codes.js';

/** Global options every command accepts. */
export interface GlobalOptions {
  server?: string;
  authFile?: string;
  timeout?: string;
  quiet?: boolean;
}

/** A broker configured from the global options; warns once about the embedded backend's lifetime. */
export function connect(opts: GlobalOptions): Broker {
  const options: BrokerOptions = {};
  if (opts.server !== undefined) options.server = opts.server;
  if (opts.authFile !== undefined) options.authFile = opts.authFile;
  if (opts.timeout !== undefined) options.timeout = opts.timeout as BrokerOptions['timeout'];
  const broker = new Broker(options);
  if (broker.backend === 'mem' && !opts.quiet) {
    process.stderr.write(
      'dbr: using the embedded backend (DBR_SERVER is unset): data lives only as long as this process. Set DBR_SERVER=sock://host:port to share tuples between processes, or run `dbr redis up`.\n',
    );
  }
  return broker;
}

/** Reads all of stdin. */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The value of a put: the argument, else --file, else stdin (when it is not a terminal). */
export async function valueFrom(arg: string | undefined, file: string | undefined): Promise<Buffer> {
  if (arg !== undefined && file !== undefined) throw new UsageError('Give the value either as an argument or with --file, not both.');
  if (arg !== undefined) return Buffer.from(arg, 'utf8');
  if (file !== undefined) return file === '-' ? readStdin() : readFile(file);
  if (process.stdin.isTTY) throw new UsageError('No value: pass it as an argument, with --file PATH, or on stdin (e.g. `echo hi | dbr put NS NAME`).');
  return readStdin();
}

/** Writes a value to stdout: raw bytes, or text with a newline when stdout is a terminal. */
export function writeValue(value: Buffer): void {
  process.stdout.write(value);
  if (process.stdout.isTTY && value.length > 0 && value[value.length - 1] !== 0x0a) process.stdout.write('\n');
}
