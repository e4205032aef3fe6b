/**
 * `dbr dashboard`: the dashboard's part of the `dbr` command (core loads it from `@tsdbr/dashboard/cli`).
 * @module
 */
import { ConfigError, parseDuration } from '@tsdbr/core';
import { connect, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { startDashboard } from '../index.js';
import { DEFAULT_PORT, type DashboardOptions } from '../options.js';
import { loadSchemaModule } from '../server/schemas.js';
import { asCliError } from './as-cli-error.js';

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

function portOption(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) throw new UsageError(`--port must be an integer from 0 to 65535 (0 picks a free one), got "${value}".`);
  return Number(value);
}

/** --refresh in ms: a bare number is ms, else e.g. 500ms, 1s. */
function refreshOption(value: string): number {
  const text = value.trim();
  let ms = Number.NaN;
  try {
    ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text as Parameters<typeof parseDuration>[0], '--refresh');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
  }
  if (!(ms >= 50 && ms < Infinity)) throw new UsageError(`--refresh "${value}" is not a valid refresh interval: write at least 50ms, e.g. 500 (ms), 250ms, 1s.`);
  return ms;
}

/** The token from --token, else DBR_DASHBOARD_TOKEN; a usage error naming whichever is too short. */
function tokenOption(flag: string | undefined): string | undefined {
  const fromEnv = process.env.DBR_DASHBOARD_TOKEN?.trim() || undefined;
  const [token, from] = flag !== undefined ? [flag, '--token'] : [fromEnv, 'DBR_DASHBOARD_TOKEN'];
  if (token !== undefined && token.length < 8) throw new UsageError(`${from} is shorter than 8 characters: use a longer secret (e.g. \`openssl rand -hex 16\`).`);
  return token;
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
    .option('--refresh <duration>', 'refresh interval of live views and metrics, at least 50ms (a bare number is ms)', '1s')
    .option('--log', 'log every request (pino JSON)')
    .addHelpText(
      'after',
      '\nOn the embedded backend (DBR_SERVER unset) the dashboard sees only its own process\'s tuples: point it at Redis\nwith DBR_SERVER=sock://host:port, or use `dbr run --dashboard` to watch an in-process run.',
    )
    .action(async (opts: DashboardCliOptions) => {
      const g = globals();
      const port = portOption(opts.port);
      const refreshInterval = refreshOption(opts.refresh);
      const token = tokenOption(opts.token);
      const schemas = opts.schemas === undefined ? [] : await loadSchemaModule(opts.schemas);
      const broker = connect({ ...g, quiet: true });
      const options: DashboardOptions = { broker, host: opts.host, port, token, write: opts.write === true, schemas, refreshInterval, logger: opts.log === true };
      let running;
      try {
        running = await startDashboard(options);
      } catch (err) {
        await broker.close();
        throw asCliError(err);
      }
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
