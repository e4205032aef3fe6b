/**
 * `dbr dashboard`: the dashboard's part of the `dbr` command (core loads it from `@tsdbr/dashboard/cli`).
 * @module
 */
import type { Duration } from '@tsdbr/core';
import { connect, type GlobalOptions } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { startDashboard } from '../index.js';
import { DEFAULT_PORT } from '../options.js';
import { loadSchemaModule } from '../server/schemas.js';

/** Options of `dbr dashboard`. */
interface DashboardCliOptions {
  host: string;
  port: string;
  token?: string;
  write?: boolean;
  schemas?: string;
  refresh: string;
  log?: boolean;
}

/** Adds `dbr dashboard` to the program. */
export function register(program: Command, globals: () => GlobalOptions): void {
  program
    .command('dashboard')
    .description('Serve the web dashboard (namespaces, tuples, queues, workers, workflows), its JSON API and /metrics')
    .option('--host <address>', 'address to bind; anything but loopback needs --token', '127.0.0.1')
    .option('-p, --port <port>', 'TCP port (0: a free one)', String(DEFAULT_PORT))
    .option('--token <secret>', 'token protecting the dashboard (default: DBR_DASHBOARD_TOKEN; generated with --write)')
    .option('--write', 'allow write actions: retry, cancel, delete a tuple, purge a queue')
    .option('--schemas <module>', 'module exporting zod schemas to check values against (see the README)')
    .option('--refresh <duration>', 'refresh interval of live views and metrics', '1s')
    .option('--log', 'log every request (pino JSON)')
    .addHelpText(
      'after',
      '\nOn the embedded backend (DBR_SERVER unset) the dashboard sees only its own process\'s tuples: point it at Redis\nwith DBR_SERVER=sock://host:port, or use `dbr run --dashboard` to watch an in-process run.',
    )
    .action(async (opts: DashboardCliOptions) => {
      const g = globals();
      const broker = connect({ ...g, quiet: true });
      const port = Number(opts.port);
      const schemas = opts.schemas === undefined ? [] : await loadSchemaModule(opts.schemas);
      const running = await startDashboard({
        broker,
        host: opts.host,
        port,
        token: opts.token,
        write: opts.write === true,
        schemas,
        refreshInterval: opts.refresh as Duration,
        logger: opts.log === true,
      });
      if (!g.quiet) {
        if (broker.backend === 'mem') {
          process.stderr.write('dbr dashboard: embedded backend: only this process\'s tuples are visible. Set DBR_SERVER=sock://host:port to watch a Redis tuple space, or run workers with `dbr run --dashboard`.\n');
        }
        process.stderr.write(`dbr dashboard: ${opts.write ? 'read-write' : 'read-only'}, serving ${running.url}\n`);
      }
      process.stdout.write(`${running.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await running.close();
      await broker.close();
    });
}
