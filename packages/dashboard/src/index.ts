/**
 * @tsdbr/dashboard: a web UI, a JSON API, live updates (Server-Sent Events) and Prometheus metrics over
 * the Data Broker's namespaces, queues, workers and workflows.
 *
 * - {@link startDashboard}: start a dashboard in this process (what `dbr dashboard` and `dbr run --dashboard` do).
 * - {@link createDashboard}: build one without listening, e.g. to drive it with `app.inject()` in tests.
 * @module
 */
import { DashboardConfigError } from './errors.js';
import type { DashboardOptions } from './options.js';
import { createDashboard } from './server/server.js';

export type * from './api-types.js';
export { asCliError } from './cli/as-cli-error.js';
export { DashboardConfigError, DashboardHttpError } from './errors.js';
export { type CompiledDashboardOptions, compileDashboardOptions, DEFAULT_PORT, type DashboardOptions, isLoopback } from './options.js';
export { defineSchemas, loadSchemaModule, type SafeParseSchema, type SchemaRegistration } from './server/schemas.js';
export { CONTENT_SECURITY_POLICY } from './server/security.js';
export { createDashboard, type Dashboard } from './server/server.js';

/** A running dashboard. */
export interface RunningDashboard {
  /** The URL to open (with `?token=` when the token was generated for write mode). */
  url: string;
  /** The token in force, if any. */
  token: string | undefined;
  /** Stops the server and detaches the dashboard's namespaces (the broker itself stays open). */
  close(): Promise<void>;
}

/**
 * Starts a dashboard on `broker` and resolves once it listens. On the embedded backend it sees this
 * process's tuples only, which is why `dbr run --dashboard` runs it next to the workers.
 * @example
 * const { url, close } = await startDashboard({ broker, port: 0 });
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const dashboard = createDashboard(options);
  try {
    const url = await dashboard.listen();
    return { url, token: dashboard.options.token, close: () => dashboard.close() };
  } catch (err) {
    await dashboard.close();
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${dashboard.options.host}:${dashboard.options.port}`;
    if (code === 'EADDRINUSE') throw new DashboardConfigError(`Port ${dashboard.options.port} on ${dashboard.options.host} is in use: pass another --port (or 0 for a free one), or stop what listens there.`, { inUse: true });
    if (code === 'EADDRNOTAVAIL') throw new DashboardConfigError(`Cannot bind ${where}: the address is not on this machine. Pass --host 127.0.0.1 or one of this machine's addresses.`);
    if (code === 'EACCES') throw new DashboardConfigError(`Not allowed to bind ${where}: ports below 1024 need privileges; pass --port 8642 or higher.`);
    throw err;
  }
}
