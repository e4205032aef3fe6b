/**
 * `dbr redis up|down|status`: a local, password-protected redis-server for development.
 * @module
 */
import net from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TsdbrError } from '../errors.js';
import { type LocalRedis, readLocalRedis, startLocalRedis, stopLocalRedis } from '../local-redis.js';
import { ConflictError, ExitCode } from './exit-codes.js';
import { shellWord } from './messages.js';
import { integerOption } from './parse.js';

const DEFAULT_DIR = join(homedir(), '.tsdbr', 'redis');
/** A cluster node also listens on its port + 10000 (the cluster bus). */
const CLUSTER_BUS_OFFSET = 10000;
const MAX_PORT = 65535;

function exports(server: string, authFile: string): string {
  return `export DBR_SERVER=${server}\nexport DBR_AUTHFILE=${authFile}\n`;
}

/** A `dbr redis` command line for hints, with --dir when it is not the default. */
function redisCommand(sub: 'up' | 'down', dir: string): string {
  return resolve(dir) === resolve(DEFAULT_DIR) ? `dbr redis ${sub}` : `dbr redis ${sub} --dir ${shellWord(dir)}`;
}

function mastersOption(value: string | undefined): number {
  return value === undefined ? 0 : integerOption(value, '--cluster', 3, 1000);
}

/** The first port: every node's port (and a cluster's bus ports) must fit below 65536. */
function portOption(value: string | undefined, masters: number): number | undefined {
  if (value === undefined) return undefined;
  const highest = masters > 0 ? MAX_PORT - CLUSTER_BUS_OFFSET - (masters - 1) : MAX_PORT;
  return integerOption(value, '--port', 1, highest);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = net.createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/** Refuses ports in use up front: redis-server would fail on them with a page of log. */
async function checkPortsFree(first: number, masters: number): Promise<void> {
  const nodePorts = Array.from({ length: Math.max(1, masters) }, (_, i) => first + i);
  const ports = masters > 0 ? [...nodePorts, ...nodePorts.map((p) => p + CLUSTER_BUS_OFFSET)] : nodePorts;
  for (const port of ports) {
    if (!(await portFree(port))) throw new ConflictError(`port ${port} on 127.0.0.1 is in use: choose another --port, or leave --port out to use free ones.`);
  }
}

function describeMode(mode: 'single' | 'cluster', masters: number): string {
  return mode === 'cluster' ? `a ${masters}-master cluster` : 'a single redis-server';
}

type RunningRedis = NonNullable<ReturnType<typeof readLocalRedis>>;

/** A running setup that differs from the one asked for is a conflict, not something to reuse silently. */
function checkSameSetup(running: RunningRedis, masters: number, port: number | undefined, dir: string): void {
  const wantedMode = masters > 0 ? 'cluster' : 'single';
  const sameMode = running.mode === wantedMode && (masters === 0 || running.nodes.length === masters);
  const samePort = port === undefined || running.nodes[0]?.port === port;
  if (sameMode && samePort) return;
  const ports = running.alive.map((n) => n.port).join(', ');
  throw new ConflictError(
    `${describeMode(running.mode, running.nodes.length)} already runs in ${dir} (port ${ports}), not ${describeMode(wantedMode, masters)}${port === undefined ? '' : ` on port ${port}`}; stop it first with \`${redisCommand('down', dir)}\`, or use another --dir.`,
  );
}

/** The reason in the tail of a redis log: its last warning ("... # text"), preferring one that gives a cause. */
function logReason(log: string[]): string | undefined {
  const warnings = log.filter((l) => l.includes(' # ')).map((l) => l.slice(l.indexOf(' # ') + 3));
  return warnings.reverse().find((w) => w.includes(': ')) ?? warnings[0];
}

/** startLocalRedis's error on one line: its first line, the redis log's reason, and where the log is. */
function oneLine(err: unknown, dir: string): string {
  const [head = '', ...log] = (err as Error).message.split('\n');
  const reason = logReason(log);
  if (reason === undefined) return head;
  const port = /port (\d+)/.exec(head)?.[1];
  const logFile = port === undefined ? '' : ` (log: ${join(dir, port, 'redis.log')})`;
  return `${head.replace(/:$/, '')}: ${reason}${logFile}`;
}

/** redis-server did not start (exit code 1). */
class RedisStartError extends TsdbrError {}

async function start(dir: string, masters: number, port: number | undefined): Promise<LocalRedis> {
  try {
    return await startLocalRedis({ dir, clusterMasters: masters, detached: true, ...(port !== undefined ? { port } : {}) });
  } catch (err) {
    throw new RedisStartError(oneLine(err, dir));
  }
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
      const masters = mastersOption(opts.cluster);
      const port = portOption(opts.port, masters);
      const running = readLocalRedis(opts.dir);
      if (running && running.alive.length > 0) {
        checkSameSetup(running, masters, port, opts.dir);
        process.stderr.write(`dbr: a local redis is already running (${running.alive.length} node(s)); \`${redisCommand('down', opts.dir)}\` stops it.\n`);
        process.stdout.write(exports(running.server, running.authFile));
        return;
      }
      if (port !== undefined) await checkPortsFree(port, masters);
      const started = await start(opts.dir, masters, port);
      process.stderr.write(`dbr: started ${describeMode(started.mode, masters)} on ports ${started.nodes.map((n) => n.port).join(', ')}; data and logs in ${opts.dir}\n`);
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
        process.stdout.write(`not running (start it with \`${redisCommand('up', opts.dir)}\`)\n`);
        process.exitCode = ExitCode.NOT_FOUND;
        return;
      }
      process.stdout.write(`${state.mode}: ${state.alive.length}/${state.nodes.length} node(s) up on ports ${state.alive.map((n) => n.port).join(', ')}\n`);
      process.stdout.write(exports(state.server, state.authFile));
    });
}
