/**
 * Dashboard options in three steps: what callers write, defaults (from the environment too), and the
 * compiled form the server uses. Nothing else parses options.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Broker, type Duration, parseDuration } from '@tsdbr/core';
import { DashboardConfigError } from './errors.js';
import type { SchemaRegistration } from './server/schemas.js';

/** Options of {@link startDashboard} and {@link createDashboard}. */
export interface DashboardOptions {
  /** The broker whose namespaces the dashboard shows. On the embedded backend it sees this process's tuples only. */
  broker: Broker;
  /** Address to bind (default `127.0.0.1`). Anything but loopback needs a `token`. */
  host?: string;
  /** TCP port (default 8642; 0 picks a free one). */
  port?: number;
  /**
   * Shared secret for the API and the UI (default: DBR_DASHBOARD_TOKEN). Required off loopback. With `write`
   * and no token, a random one is generated and shown in the URL.
   */
  token?: string;
  /** Allows write actions: retry, cancel, delete a tuple, purge a queue (default false: read-only). */
  write?: boolean;
  /** zod schemas that value previews are checked against. */
  schemas?: SchemaRegistration[];
  /** How often live views and metrics are refreshed (default `'1s'`). */
  refreshInterval?: Duration;
  /** The most bytes of one value that are sent to the browser (default 64 KiB; at most 1 MiB). */
  previewBytes?: number;
  /** How much history the throughput and latency charts keep (default `'15m'`). */
  history?: Duration;
  /** Detach namespaces the dashboard has not looked at for this long (default `'30s'`), so deletes are not held up. */
  idleDetach?: Duration;
  /** Folder of the built web UI (default: `dist/web` of this package). */
  webRoot?: string;
  /** Log requests with Fastify's pino logger (default false). */
  logger?: boolean;
}

/** DashboardOptions with defaults applied, validated, and durations in milliseconds. */
export interface CompiledDashboardOptions {
  broker: Broker;
  host: string;
  port: number;
  /** The token in force (given or generated), or undefined when the dashboard is open (loopback, read-only). */
  token: string | undefined;
  /** True if the token was generated because write mode needs one. */
  tokenGenerated: boolean;
  write: boolean;
  loopback: boolean;
  schemas: SchemaRegistration[];
  refreshMs: number;
  previewBytes: number;
  historyMs: number;
  idleDetachMs: number;
  webRoot: string;
  logger: boolean;
}

/** Default port of `dbr dashboard`. */
export const DEFAULT_PORT = 8642;
const MAX_PREVIEW_BYTES = 1024 * 1024;

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function defaultWebRoot(): string {
  // dist/options.js -> dist/web ; src/options.ts (tests under tsx/vitest) -> dist/web
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'web');
}

/** Applies defaults and checks that the combination is safe. Throws DashboardConfigError naming the fix. */
export function compileDashboardOptions(options: DashboardOptions): CompiledDashboardOptions {
  if (options.broker === undefined || options.broker === null) {
    throw new DashboardConfigError('startDashboard needs a broker: pass { broker: new Broker() } (or the broker your workers use).');
  }
  const host = (options.host ?? '127.0.0.1').trim();
  if (host === '') throw new DashboardConfigError('The host is empty: pass an address such as 127.0.0.1 (the default) or 0.0.0.0.');
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DashboardConfigError(`Port ${String(port)} is not a TCP port: pass an integer from 1 to 65535, or 0 for a free one.`);
  }
  let token = options.token ?? envToken();
  if (token !== undefined && token.length < 8) {
    const what = options.token !== undefined ? 'The dashboard token' : 'DBR_DASHBOARD_TOKEN';
    throw new DashboardConfigError(`${what} is shorter than 8 characters: use a longer secret (e.g. \`openssl rand -hex 16\`).`);
  }
  const loopback = isLoopback(host);
  if (!loopback && token === undefined) {
    throw new DashboardConfigError(
      `Binding the dashboard to ${host} exposes the tuple space beyond this machine: pass --token <secret> (or set DBR_DASHBOARD_TOKEN), or bind to 127.0.0.1.`,
    );
  }
  const write = options.write === true;
  let tokenGenerated = false;
  if (write && token === undefined) {
    token = randomBytes(18).toString('base64url');
    tokenGenerated = true;
  }
  const previewBytes = options.previewBytes ?? 64 * 1024;
  if (!Number.isInteger(previewBytes) || previewBytes < 16 || previewBytes > MAX_PREVIEW_BYTES) {
    throw new DashboardConfigError(`previewBytes must be an integer from 16 to ${MAX_PREVIEW_BYTES}, got ${String(previewBytes)}.`);
  }
  const refreshMs = parseDuration(options.refreshInterval ?? '1s', 'refreshInterval');
  if (!(refreshMs >= 50 && refreshMs < Infinity)) throw new DashboardConfigError('refreshInterval must be at least 50ms and finite, e.g. "1s".');
  const historyMs = parseDuration(options.history ?? '15m', 'history');
  if (!(historyMs >= refreshMs && historyMs <= 24 * 3_600_000)) throw new DashboardConfigError('history must lie between refreshInterval and 24h, e.g. "15m".');
  const idleDetachMs = parseDuration(options.idleDetach ?? '30s', 'idleDetach');
  return {
    broker: options.broker,
    host,
    port,
    token,
    tokenGenerated,
    write,
    loopback,
    schemas: options.schemas ?? [],
    refreshMs,
    previewBytes,
    historyMs,
    idleDetachMs,
    webRoot: options.webRoot ?? defaultWebRoot(),
    logger: options.logger === true,
  };
}

function envToken(): string | undefined {
  const t = process.env.DBR_DASHBOARD_TOKEN;
  return t === undefined || t.trim() === '' ? undefined : t.trim();
}
