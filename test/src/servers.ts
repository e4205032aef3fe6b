/**
 * redis-server processes for the fault scenarios, started with core's startLocalRedis on free loopback
 * ports, plus what the scenarios do to them: kill, restart on the same port and directory, stop and resume,
 * and ask which master serves a key. Every server started here is stopped by stopAllServers() (call it in
 * afterAll) and, as a last resort, when the test process exits.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { type LocalRedis, type RedisNode, startLocalRedis } from '@tsdbr/core';

const execFileAsync = promisify(execFile);

/** Servers of one scenario, with the password and the extra arguments they were started with. */
export interface Servers extends LocalRedis {
  password: string;
  cluster: boolean;
  extraArgs: string[];
}

const running = new Set<Servers>();
const dirs: string[] = [];

process.once('exit', () => {
  // last resort if afterAll did not run: nothing may outlive the test process
  for (const s of running) for (const n of s.nodes) signal(n.pid, 'SIGCONT') && signal(n.pid, 'SIGKILL');
});

/** Starts a single node (clusterMasters 0) or a cluster, in a fresh temporary directory. */
export async function startServers(options: { clusterMasters?: number; replicas?: number; extraArgs?: string[] } = {}): Promise<Servers> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdbr-faults-'));
  dirs.push(dir);
  const extraArgs = options.extraArgs ?? [];
  const local = await startLocalRedis({ dir, clusterMasters: options.clusterMasters ?? 0, replicas: options.replicas ?? 0, extraArgs });
  const servers: Servers = { ...local, password: readFileSync(local.authFile, 'utf8').trim(), cluster: local.mode === 'cluster', extraArgs };
  running.add(servers);
  return servers;
}

/** Stops every server this process started (resuming stopped ones first) and removes their directories. */
export async function stopAllServers(): Promise<void> {
  for (const s of running) {
    for (const n of s.nodes) signal(n.pid, 'SIGCONT');
    await s.stop();
  }
  running.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Sends a signal; false if the process is gone. */
export function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Waits until a process has exited (a redis-server is not our child once started, so poll). */
export async function waitGone(pid: number, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (signal(pid, 0)) {
    // a zombie counts as gone
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return;
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit within ${ms} ms`);
    await sleep(10);
  }
}

/** Kills a node with a signal and waits until it is gone. */
export async function killNode(node: RedisNode, sig: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  signal(node.pid, sig);
  await waitGone(node.pid);
}

/**
 * Starts a node again on its port and directory, with the arguments startLocalRedis gave it (repeated
 * here: redis-server rewrites its /proc cmdline, so they cannot be read back). The node's pid is updated
 * so that stopAllServers stops the new process. Resolves when it answers PING (a replica: when it loaded).
 */
export async function restartNode(servers: Servers, node: RedisNode): Promise<void> {
  const nodeDir = join(servers.dir, String(node.port));
  const args = [
    '--port', String(node.port), '--bind', '127.0.0.1', '--dir', nodeDir, '--logfile', join(nodeDir, 'redis.log'),
    '--requirepass', servers.password, '--masterauth', servers.password, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--protected-mode', 'yes',
    ...(servers.cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000'] : []),
    ...servers.extraArgs,
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('could not start redis-server');
  child.unref();
  node.pid = child.pid;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const pong = await cli(servers, node.port, ['ping']).catch(() => '');
    if (pong.trim() === 'PONG') return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${node.port} did not come back within 30 s`);
    await sleep(25);
  }
}

/** Runs redis-cli against one node (password from the servers' file; never printed). */
export async function cli(servers: Servers, port: number, args: string[], timeoutMs = 10_000): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['--no-auth-warning', '-a', servers.password, '-p', String(port), ...args], { timeout: timeoutMs });
  return stdout;
}

/** Slot ranges of each master, from CLUSTER SLOTS as seen by `via`. */
export async function slotOwners(servers: Servers, via: RedisNode): Promise<{ from: number; to: number; port: number }[]> {
  const out = (await cli(servers, via.port, ['--json', 'cluster', 'slots'])).trim();
  const slots = JSON.parse(out) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  return slots.map(([from, to, master]) => ({ from, to, port: master[1] }));
}

/** The port of the master serving a slot, or undefined. */
export function ownerOf(owners: { from: number; to: number; port: number }[], slot: number): number | undefined {
  return owners.find((o) => slot >= o.from && slot <= o.to)?.port;
}

/** Role of a node ('master' or 'slave'), or 'down'. */
export async function roleOf(servers: Servers, node: RedisNode): Promise<string> {
  const info = await cli(servers, node.port, ['role'], 3000).catch(() => '');
  return info.split('\n')[0]?.trim() || 'down';
}

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** Redis Cluster hash slot of a key (CRC16/XMODEM mod 16384, honouring {hash tags}). */
export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (CRC16_TABLE[((crc >> 8) ^ b) & 0xff] as number);
  return crc % 16384;
}

/** The Redis key of a tuple: `<namespace>::<name>` (the Data Broker's layout). */
export function tupleKey(namespace: string, name: string): string {
  return `${namespace}::${name}`;
}

/**
 * Waits until every replica has finished its first sync (master_link_status:up). startLocalRedis returns
 * once cluster_state is ok, which can be before that; a replica that never synced cannot fail over.
 */
export async function waitReplicasSynced(servers: Servers, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const infos = await Promise.all(servers.nodes.map((n) => cli(servers, n.port, ['info', 'replication'], 3000).catch(() => '')));
    const replicas = infos.filter((i) => /role:slave/.test(i));
    if (replicas.every((i) => /master_link_status:up/.test(i)) && replicas.length > 0) return;
    if (Date.now() > deadline) throw new Error(`replicas not in sync within ${ms} ms`);
    await sleep(100);
  }
}

/** `perMaster` names (`<prefix>:<i>`) for each master, their keys spread evenly, with the master port of each. */
export async function spreadNames(servers: Servers, namespace: string, prefix: string, perMaster: number): Promise<{ names: string[]; portOf: number[]; masters: number[] }> {
  const owners = await slotOwners(servers, servers.nodes[0]!);
  const masters = [...new Set(owners.map((o) => o.port))];
  const names: string[] = [];
  const portOf: number[] = [];
  const taken = new Map<number, number>();
  for (let i = 0; names.length < masters.length * perMaster; i++) {
    const name = `${prefix}:${i}`;
    const port = ownerOf(owners, keySlot(tupleKey(namespace, name)))!;
    if ((taken.get(port) ?? 0) >= perMaster) continue;
    taken.set(port, (taken.get(port) ?? 0) + 1);
    names.push(name);
    portOf.push(port);
  }
  return { names, portOf, masters };
}
