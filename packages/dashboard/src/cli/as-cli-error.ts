/**
 * How a dashboard that fails to start ends the `dbr` command, for `dbr dashboard` and `dbr run --dashboard`
 * alike: a port in use is a conflict (exit 6), other bad options a usage error (exit 2).
 * @module
 */
import { ConflictError, UsageError } from '@tsdbr/core/cli';
import { DashboardConfigError } from '../errors.js';

/** The `dbr` error for a DashboardConfigError; any other error as it is. */
export function asCliError(err: unknown): unknown {
  if (!(err instanceof DashboardConfigError)) return err;
  return err.inUse ? new ConflictError(err.message, { cause: err }) : new UsageError(err.message, { cause: err });
}
