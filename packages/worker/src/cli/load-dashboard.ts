/**
 * Loads @tsdbr/dashboard at run time for `dbr run --dashboard`. The worker package does not depend on the
 * dashboard (the dashboard depends on the worker's inspection API), so the dashboard is an optional add-on:
 * found next to @tsdbr/worker, or in the project the command runs in.
 * @module
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Broker } from '@tsdbr/core';
import { UsageError } from '@tsdbr/core/cli';

/** What `dbr run --dashboard` uses of @tsdbr/dashboard. */
export interface DashboardModule {
  startDashboard(options: { broker: Broker; port?: number; host?: string }): Promise<{ url: string; close(): Promise<void> }>;
  /** The CLI error (with its exit code) that `dbr dashboard` ends with for a start-up error; absent from older dashboards. */
  asCliError?(err: unknown): unknown;
}

const PACKAGE = '@tsdbr/dashboard';

/** Imports @tsdbr/dashboard, or throws a UsageError that says how to install it. */
export async function loadDashboard(): Promise<DashboardModule> {
  const specifier: string = PACKAGE; // a variable: the worker has no compile-time dependency on the dashboard
  try {
    return (await import(specifier)) as DashboardModule;
  } catch (err) {
    if (!isNotFound(err, specifier)) throw err;
  }
  try {
    const resolved = createRequire(join(process.cwd(), 'package.json')).resolve(specifier);
    return (await import(pathToFileURL(resolved).href)) as DashboardModule;
  } catch (err) {
    if (!isNotFound(err, specifier)) throw err;
  }
  throw new UsageError(`--dashboard needs ${PACKAGE}, which is not installed here: install @tsdbr/dashboard (\`pnpm add @tsdbr/dashboard\` or \`npm install @tsdbr/dashboard\`) next to @tsdbr/worker, or run without --dashboard.`);
}

function isNotFound(err: unknown, specifier: string): boolean {
  const e = err as NodeJS.ErrnoException;
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(specifier);
}
