/**
 * How errors read on the command line: libdbr's advice names C functions and environment variables, while a
 * CLI user runs `dbr` subcommands and may have given --server or --auth-file instead.
 * @module
 */
import { DbrError } from '../errors.js';
import type { GlobalOptions } from './io.js';

/** A word as it must be typed in a POSIX shell. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** libdbr's advice, with the `dbr` command that does the same instead of the C function it names. */
function dbrCommandsForCFunctions(description: string): string {
  return description
    .replace(/namespace '([^']*)' does not exist; create it first with dbrCreate/, (_m, ns: string) => `namespace '${ns}' does not exist; create it first with \`dbr ns create ${shellWord(ns)}\``)
    .replace(
      /namespace '([^']*)' already exists(.*?); attach to it with dbrAttach/,
      (_m, ns: string, pending: string) => `namespace '${ns}' already exists${pending}; use it as it is, or delete it first with \`dbr ns delete ${shellWord(ns)}\``,
    );
}

/** Names --server and --auth-file where the message names the environment variables they override. */
function nameTheOptionsGiven(text: string, globals: GlobalOptions): string {
  let out = text;
  if (globals.server !== undefined) {
    out = out.replace(/DBR_SERVER=[^\s)]*/g, `--server ${globals.server}`).replace(/\bDBR_SERVER\b/g, '--server');
  }
  if (globals.authFile !== undefined) {
    out = out
      .split(`DBR_AUTHFILE=${globals.authFile}`)
      .join(`${globals.authFile} (--auth-file)`)
      .replace('fix the path or unset it', 'fix the path')
      .replace(/\bDBR_AUTHFILE\b/g, '--auth-file');
  }
  return out;
}

/** The one-line message of a failed command, in the CLI's terms. */
export function describeError(err: unknown, globals: GlobalOptions): string {
  if (err instanceof DbrError && err.parts !== undefined) {
    const { what, description, hint } = err.parts;
    const text = `${what}: ${dbrCommandsForCFunctions(description)} (${err.code}).${hint ? ` ${hint}` : ''}`;
    return nameTheOptionsGiven(text, globals);
  }
  return nameTheOptionsGiven(err instanceof Error ? err.message : String(err), globals);
}

/** The same error with the CLI's advice instead of the library's (for example `--wait` for `timeout`). */
export function withHint(err: DbrError, hint: string): DbrError {
  if (err.parts === undefined) return new DbrError(err.errno, `${err.message} ${hint}`);
  const { what, description } = err.parts;
  return new DbrError(err.errno, `${what}: ${description} (${err.code}). ${hint}`, { what, description, hint });
}
