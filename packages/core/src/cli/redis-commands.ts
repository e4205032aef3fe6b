/**
 * `dbr redis up|down|status`: a local, password-protected redis-server for development.
 * @module
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readLocalRedis, startLocalRedis, stopLocalRedis } from '../local-redis.js';
import { ExitCode, UsageError } from './exit-codes.js';

const DEFAULT_DIR = join(homedir(), '.tsdbr', 'redis');

function exports(server: string, authFile: string): string {
  return `export DBR_SERVER=${server}\nexport DBR_AUTHFILE=${authFile}\n`;
}

/** Registers `dbr redis ...`. */
export function registerRedisCommands(program: Command): void {
  const redis = program.command('redis').description('Start, stop and inspect a local password-protected redis-server for development');

  redis
    .command('up')
    .description('Start redis-server (or a cluster) on loopback and print the DBR_SERVER/DBR_AUTHFILE lines to export')
    .option('--cluster <masters>', 'start a Redis Cluster with this many masters (>= 3)')
    .option('--port <port>', 'first port (default: a free one)')
    .option('--dir <dir>', 'where data, logs and the password file live', DEFAULT_DIR)
    .action(async (opts: { cluster?: string; port?: string; dir: string }) => {
      const running = readLocalRedis(opts.dir);
      if (running && running.alive.length > 0) {
        process.stderr.write(`dbr: a local redis is already running (${running.alive.length} node(s)); \`dbr redis down\` stops it.\n`);
        process.stdout.write(exports(running.server, running.authFile));
        return;
      }
      const masters = opts.cluster !== undefined ? Number(opts.cluster) : 0;
      if (opts.cluster !== undefined && (!Number.isInteger(masters) || masters < 3)) throw new UsageError('--cluster needs a number of masters >= 3, e.g. --cluster 3.');
      const started = await startLocalRedis({ dir: opts.dir, clusterMasters: masters, detached: true, ...(opts.port ? { port: Number(opts.port) } : {}) });
      process.stderr.write(`dbr: started ${started.mode === 'cluster' ? `a ${masters}-master cluster` : 'redis-server'} on ports ${started.nodes.map((n) => n.port).join(', ')}; data and logs in ${opts.dir}\n`);
      process.stdout.write(exports(started.server, started.authFile));
    });

  redis
    .command('down')
    .description('Stop the local redis-server started by `dbr redis up`')
    .option('--dir <dir>', 'its directory', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      const n = await stopLocalRedis(opts.dir);
      process.stdout.write(n > 0 ? `stopped ${n} node(s)\n` : 'no local redis was running\n');
    });

  redis
    .command('status')
    .description('Show whether the local redis-server is running, and the lines to export')
    .option('--dir <dir>', 'its directory', DEFAULT_DIR)
    .action((opts: { dir: string }) => {
      const state = readLocalRedis(opts.dir);
      if (!state || state.alive.length === 0) {
        process.stdout.write('not running (start it with `dbr redis up`)\n');
        process.exitCode = ExitCode.NOT_FOUND;
        return;
      }
      process.stdout.write(`${state.mode}: ${state.alive.length}/${state.nodes.length} node(s) up on ports ${state.alive.map((n) => n.port).join(', ')}\n`);
      process.stdout.write(exports(state.server, state.authFile));
    });
}
