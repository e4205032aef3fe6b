/**
 * Redis servers for the benchmarks: started on first use on free loopback ports, stopped at exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalRedis, startLocalRedis } from '@tsdbr/core';

const started = new Map<string, LocalRedis>();
const dirs: string[] = [];

/** A running server of the kind asked for ('redis' = single node, 'cluster' = 3 masters). */
export async function benchServer(kind: 'redis' | 'cluster'): Promise<LocalRedis> {
  const existing = started.get(kind);
  if (existing) return existing;
  const dir = mkdtempSync(join(tmpdir(), `tsdbr-bench-${kind}-`));
  dirs.push(dir);
  const server = await startLocalRedis({ dir, clusterMasters: kind === 'cluster' ? 3 : 0 });
  started.set(kind, server);
  return server;
}

/** Stops every server started here. */
export async function stopBenchServers(): Promise<void> {
  for (const s of started.values()) await s.stop();
  started.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
