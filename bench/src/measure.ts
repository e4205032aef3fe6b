/**
 * Timing helpers shared by the targets, and the C peer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Runs `batch` (which performs `batchSize` operations) repeatedly for about `seconds`; returns ops/s. */
export async function opsPerSecond(seconds: number, batchSize: number, batch: () => Promise<unknown>, untimed?: () => Promise<unknown>): Promise<number> {
  let ops = 0;
  let timedNs = 0n;
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (untimed) await untimed();
    const t0 = process.hrtime.bigint();
    await batch();
    timedNs += process.hrtime.bigint() - t0;
    ops += batchSize;
  }
  return ops / (Number(timedNs) / 1e9);
}

/** The p-th percentile of ascending samples (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** The median of samples in any order. */
export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

const driver = fileURLToPath(new URL('../native/build/dbr-bench', import.meta.url));

/** Runs the C driver of libdbr: ops/s of the same operation. */
export function cPeer(op: string, size: number, depth: number, seconds: number, env: NodeJS.ProcessEnv = process.env): number {
  const out = execFileSync(driver, [op, String(size), String(depth), String(seconds)], { encoding: 'utf8', env });
  return (JSON.parse(out) as { ops_per_sec: number }).ops_per_sec;
}

/** Formats a rate like 1.23M. */
export function human(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return 'n/a';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 10 || n === 0) return n.toFixed(1);
  return n.toFixed(3);
}

/** Raw Redis on the same server: redis-benchmark on one connection with pipelining, requests/s per command. */
export function rawRedis(server: string, authFile: string | undefined, pipeline: number, commands: string[]): Record<string, number> {
  const port = server.split(':').pop() as string;
  const auth = authFile ? ['-a', readFileSync(authFile, 'utf8').trim()] : [];
  const out = execFileSync('redis-benchmark', ['-p', port, ...auth, '-c', '1', '-P', String(pipeline), '-n', '200000', '-d', '64', '-q', '--csv', '-t', commands.join(',')], {
    encoding: 'utf8',
  });
  const rates: Record<string, number> = {};
  for (const line of out.trim().split('\n').slice(1)) {
    const [name, rps] = line.split(',').map((c) => c.replace(/"/g, ''));
    if (name && rps) rates[name.split(' ')[0] as string] = Number(rps);
  }
  return rates;
}
