/**
 * Local, password-protected redis-server instances for development and tests: a single node, or a Redis
 * Cluster of N masters, on free loopback ports. It starts and stops processes and runs `redis-cli --cluster`;
 * it never speaks the Redis protocol itself (only libdbr does).
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Options of startLocalRedis. */
export interface LocalRedisOptions {
  /** Directory for configs, data, logs and the password file. */
  dir: string;
  /** 0 or 1: a single node; >= 3: a cluster of that many masters. Default 0. */
  clusterMasters?: number;
  /** Replicas per master in cluster mode. Default 0. */
  replicas?: number;
  /** First port to try; default: random free ports. */
  port?: number;
  /** Password; default: random. */
  password?: string;
  /** Keep the servers running after this process exits (for `dbr redis up`). Default false. */
  detached?: boolean;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  extraArgs?: string[];
}

/** One redis-server process. */
export interface RedisNode {
  port: number;
  pid: number;
}

/** Running local servers. */
export interface LocalRedis {
  mode: 'single' | 'cluster';
  nodes: RedisNode[];
  /** DBR_SERVER value (the first node: libdbr discovers the cluster from it). */
  server: string;
  /** DBR_AUTHFILE value. */
  authFile: string;
  dir: string;
  /** Stops every node (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

const passwordFile = (dir: string): string => join(dir, 'password');

/** A loopback port that is free now, with port + 10000 free too (the cluster bus). */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await portFree(port)) && (!withBus || (await portFree(port + 10000)))) return port;
  }
  throw new Error('Could not find a free loopback port between 20000 and 50000.');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function redisServerPath(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('sh', ['-c', 'command -v redis-server']);
    return stdout.trim();
  } catch {
    throw new Error('redis-server is not installed: run ./setup.sh, or `sudo apt-get install -y redis-server redis-tools`.');
  }
}

async function waitReady(logFile: string, child: ChildProcess | undefined, port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (existsSync(logFile) && /Ready to accept connections/.test(readFileSync(logFile, 'utf8'))) return;
    if (child && child.exitCode !== null) break;
    await sleep(20);
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n') : '(no log)';
  throw new Error(`redis-server on port ${port} did not start:\n${log}`);
}

async function cli(password: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['--no-auth-warning', '-a', password, ...args], { timeout: 60_000 });
  return stdout;
}

/** Starts local redis-server instances and waits until they serve (a cluster: until cluster_state is ok). */
export async function startLocalRedis(options: LocalRedisOptions): Promise<LocalRedis> {
  const masters = options.clusterMasters ?? 0;
  const cluster = masters >= 3;
  if (masters > 0 && masters < 3) throw new Error('A Redis Cluster needs at least 3 masters.');
  const replicas = cluster ? (options.replicas ?? 0) : 0;
  const count = cluster ? masters * (1 + replicas) : 1;
  const bin = await redisServerPath();
  mkdirSync(options.dir, { recursive: true });
  const password = options.password ?? randomBytes(18).toString('base64url');
  const authFile = passwordFile(options.dir);
  writeFileSync(authFile, `${password}\n`, { mode: 0o600 });

  const nodes: RedisNode[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const n of nodes) {
      try {
        process.kill(n.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && nodes.some((n) => alive(n.pid))) await sleep(20);
    for (const n of nodes) if (alive(n.pid)) process.kill(n.pid, 'SIGKILL');
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = options.port !== undefined ? options.port + i : await freePort(cluster);
      const nodeDir = join(options.dir, String(port));
      mkdirSync(nodeDir, { recursive: true });
      const logFile = join(nodeDir, 'redis.log');
      writeFileSync(logFile, '');
      const args = [
        '--port', String(port), '--bind', '127.0.0.1', '--dir', nodeDir, '--logfile', logFile,
        '--requirepass', password, '--masterauth', password, '--save', '', '--appendonly', 'no',
        '--daemonize', 'no', '--protected-mode', 'yes',
        ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000'] : []),
        ...(options.extraArgs ?? []),
      ];
      const child = spawn(bin, args, { stdio: 'ignore', detached: options.detached ?? false });
      if (options.detached) child.unref();
      children.push(child);
      if (child.pid === undefined) throw new Error(`Could not start ${bin}.`);
      nodes.push({ port, pid: child.pid });
      await waitReady(logFile, child, port);
    }
    if (cluster) {
      await cli(password, ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
      await waitClusterOk(password, nodes);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const first = nodes[0] as RedisNode;
  const state: LocalRedis = { mode: cluster ? 'cluster' : 'single', nodes, server: `sock://127.0.0.1:${first.port}`, authFile, dir: options.dir, stop };
  writeFileSync(join(options.dir, 'state.json'), `${JSON.stringify({ mode: state.mode, nodes, server: state.server, authFile }, null, 2)}\n`);
  return state;
}

async function waitClusterOk(password: string, nodes: RedisNode[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(nodes.map((n) => cli(password, ['-p', String(n.port), 'cluster', 'info']).catch(() => '')));
    if (infos.every((i) => /cluster_state:ok/.test(i))) return;
    if (Date.now() > deadline) throw new Error('The Redis Cluster did not reach cluster_state:ok within 30 s.');
    await sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a recorded node is still the redis-server we started: after a crash or a reboot its pid may belong
 * to another process. On Linux the pid must run redis-server on the recorded port (redis retitles itself
 * "redis-server 127.0.0.1:<port>"; "--port <port>" before it has); elsewhere a live pid is trusted.
 */
function runsOurServer(node: RedisNode): boolean {
  if (process.platform !== 'linux') return alive(node.pid);
  let args: string[];
  try {
    args = readFileSync(`/proc/${node.pid}/cmdline`, 'utf8').split(/[\0 ]+/);
  } catch {
    return false;
  }
  const port = String(node.port);
  const onPort = args.some((a, i) => a.endsWith(`:${port}`) || (a === '--port' && args[i + 1] === port));
  return onPort && args.some((a) => /(^|\/)redis-server$/.test(a));
}

/** Servers recorded in `dir/state.json` by a previous startLocalRedis; `alive`: those still running. */
export function readLocalRedis(dir: string): (Omit<LocalRedis, 'stop' | 'dir'> & { alive: RedisNode[] }) | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as Omit<LocalRedis, 'stop' | 'dir'>;
  return { ...state, alive: state.nodes.filter(runsOurServer) };
}

/**
 * Stops the servers recorded in `dir/state.json` (a pid that no longer runs our redis-server is left
 * alone), then removes the state and the password file. Returns how many were running.
 */
export async function stopLocalRedis(dir: string): Promise<number> {
  const state = readLocalRedis(dir);
  if (!state) return 0;
  for (const n of state.alive) process.kill(n.pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && state.alive.some((n) => alive(n.pid))) await sleep(20);
  for (const n of state.alive) if (runsOurServer(n)) process.kill(n.pid, 'SIGKILL');
  rmSync(join(dir, 'state.json'), { force: true });
  rmSync(passwordFile(dir), { force: true });
  return state.alive.length;
}
