/**
 * Parsing of option values typed on the command line. Every failure is a UsageError (exit code 2) that
 * quotes the value as the user typed it.
 * @module
 */
import { ConfigError } from '../errors.js';
import { checkServerUrl, parseDuration } from '../options.js';
import { UsageError } from './exit-codes.js';

/** Runs a library check, turning its ConfigError into a UsageError: the bad value came from an option. */
function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Milliseconds of a duration option: a bare number is milliseconds; '250ms', '5s', '2m', '1h', 'infinite'. */
export function durationOption(value: string, flag: string): number {
  return asUsage(() => parseDuration(value as never, flag));
}

/** A server URL option (sock://host:port, redis://host:port or mem://). */
export function serverOption(value: string, flag: string): string {
  return asUsage(() => checkServerUrl(value, flag));
}

/** An integer option within [min, max]. */
export function integerOption(value: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${range}, got "${value}".`);
  }
  return n;
}
