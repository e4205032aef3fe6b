/**
 * Exit codes of the `dbr` command, shared by every subcommand (also in `dbr --help`).
 * @module
 */
import type { ErrorCodeName } from '../constants.js';
import { ConfigError, DbrError, LibraryLoadError, SchemaError, TsdbrError } from '../errors.js';

/** Exit codes of the `dbr` command. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  TIMEOUT: 4,
  UNREACHABLE: 5,
  CONFLICT: 6,
  INTERRUPTED: 130,
} as const;

/** The exit codes, as shown at the end of `dbr --help`. */
export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  failure
  2  usage error (bad arguments or options)
  3  not found (no such namespace or tuple)
  4  timed out waiting for a value
  5  backend unreachable or misconfigured (connection, password, library)
  6  conflict (namespace exists or is still attached elsewhere, port in use, local redis running in another mode)`;

const BY_CODE: Partial<Record<ErrorCodeName, number>> = {
  DBR_ERR_UNAVAIL: ExitCode.NOT_FOUND,
  DBR_ERR_NSINVAL: ExitCode.NOT_FOUND,
  DBR_ERR_TIMEOUT: ExitCode.TIMEOUT,
  DBR_ERR_NOCONNECT: ExitCode.UNREACHABLE,
  DBR_ERR_NOAUTH: ExitCode.UNREACHABLE,
  DBR_ERR_NOFILE: ExitCode.UNREACHABLE,
  DBR_ERR_EXISTS: ExitCode.CONFLICT,
  DBR_ERR_NSBUSY: ExitCode.CONFLICT,
  DBR_ERR_INVALID: ExitCode.USAGE,
};

/** A mistake in how a command was called (exit code 2). */
export class UsageError extends TsdbrError {}

/** What a command was asked to act on does not exist (exit code 3). */
export class NotFoundError extends TsdbrError {}

/** What a command would do clashes with what is there (exit code 6). */
export class ConflictError extends TsdbrError {}

/** A signal (Ctrl-C) ended the command before it was done (exit code 130). */
export class InterruptedError extends TsdbrError {}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof InterruptedError) return ExitCode.INTERRUPTED;
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof NotFoundError) return ExitCode.NOT_FOUND;
  if (err instanceof ConflictError) return ExitCode.CONFLICT;
  if (err instanceof DbrError) return BY_CODE[err.code as ErrorCodeName] ?? ExitCode.FAILURE;
  if (err instanceof LibraryLoadError || err instanceof ConfigError) return ExitCode.UNREACHABLE;
  if (err instanceof SchemaError) return ExitCode.USAGE;
  return ExitCode.FAILURE;
}
