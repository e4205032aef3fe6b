/**
 * Broker options in three steps: what users write (human durations, optional fields), defaults from the
 * environment, and the compiled form the rest of the code uses. Nothing else parses options.
 * @module
 */
import { ConfigError } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'250ms'`, `'5s'`, `'2m'`, or `'infinite'`. */
export type Duration = number | `${number}ms` | `${number}s` | `${number}m` | `${number}h` | 'infinite';

/** How to reach the Data Broker. Every field falls back to its environment variable. */
export interface BrokerOptions {
  /** `sock://host:port` or `redis://host:port` for Redis; unset or `mem://` for the embedded backend (DBR_SERVER). */
  server?: string;
  /** File holding the Redis password (DBR_AUTHFILE). */
  authFile?: string;
  /** Default timeout of blocking read/get (DBR_TIMEOUT, in seconds; default 5 s). */
  timeout?: Duration;
  /** Path of another library with the Data Broker ABI (DBR_LIBRARY). */
  library?: string;
}

/** BrokerOptions with defaults applied and durations in milliseconds. */
export interface CompiledBrokerOptions {
  server: string | undefined;
  authFile: string | undefined;
  timeoutMs: number;
  library: string | undefined;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Durations written as strings are few and repeated (a call site's `'60s'`): parsed once each, up to a bound. */
const parsedDurations = new Map<string, number>();
const PARSED_DURATIONS_MAX = 256;

/**
 * Milliseconds of a Duration; Infinity for `'infinite'`. A string without a unit (`'500'`, as typed on a
 * command line) is milliseconds, like a number.
 */
export function parseDuration(value: Duration, what: string): number {
  if (value === 'infinite') return Infinity;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    if (value === Infinity) return Infinity;
    throw new ConfigError(`${what} must be a non-negative number of milliseconds, got ${value}.`);
  }
  const parsed = parsedDurations.get(value);
  if (parsed !== undefined) return parsed;
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value) : null;
  if (!m) throw new ConfigError(`${what} "${String(value)}" is not a duration: write e.g. 500 (ms), '250ms', '5s', '2m' or 'infinite'.`);
  const ms = Number(m[1]) * (UNITS[m[2] ?? 'ms'] as number);
  if (parsedDurations.size >= PARSED_DURATIONS_MAX) parsedDurations.clear();
  parsedDurations.set(value, ms);
  return ms;
}

/** Checks a server URL: `sock://` or `redis://` for Redis, `mem://` for the embedded backend. */
export function checkServerUrl(server: string, what: string): string {
  if (!/^(mem:\/\/|sock:\/\/|redis:\/\/)/.test(server)) {
    throw new ConfigError(`${what} "${server}" is not understood: use sock://host:port (or redis://host:port) for Redis, or leave it unset for the embedded backend.`);
  }
  return server;
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Applies environment defaults and validates. */
export function compileBrokerOptions(options: BrokerOptions = {}): CompiledBrokerOptions {
  const server = options.server ?? env('DBR_SERVER');
  if (server !== undefined) checkServerUrl(server, 'DBR_SERVER');
  let timeoutMs = 5000;
  if (options.timeout !== undefined) timeoutMs = parseDuration(options.timeout, 'timeout');
  else {
    const t = env('DBR_TIMEOUT');
    if (t !== undefined) {
      const seconds = Number(t);
      if (!Number.isFinite(seconds) || seconds < 0) throw new ConfigError(`DBR_TIMEOUT "${t}" must be a number of seconds, e.g. 5 or 0.5.`);
      timeoutMs = seconds * 1000;
    }
  }
  return { server, authFile: options.authFile ?? env('DBR_AUTHFILE'), timeoutMs, library: options.library ?? env('DBR_LIBRARY') };
}

/** The backend a server string selects. */
export function backendKindOf(server: string | undefined): 'mem' | 'redis' {
  return server === undefined || server.startsWith('mem://') ? 'mem' : 'redis';
}
