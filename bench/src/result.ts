/**
 * One benchmark target's result, as written to bench/results/<TARGET>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface Measurement {
  /** What was measured, e.g. "put 64 B, 32 in flight". */
  case: string;
  ours: number;
  peer: number;
  ratio: number;
}

export interface TargetResult {
  target: string;
  title: string;
  /** Our headline figure (for several cases: the one with the worst ratio). */
  ours: number;
  /** The peer's figure for the same case. */
  peer: number;
  /** Who the peer is. */
  peerName: string;
  unit: string;
  ratio: number;
  goal: string;
  met: boolean;
  machine: { cpus: number; model: string; memGiB: number; node: string; platform: string };
  date: string;
  quick: boolean;
  details: Measurement[];
  notes?: string;
}

export function machine(): TargetResult['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

export function writeResult(dir: URL, result: TargetResult): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${result.target}.json`, dir), `${JSON.stringify(result, null, 2)}\n`);
}
