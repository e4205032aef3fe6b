/**
 * What a benchmark target is: an id from DESIGN.md section 8, the backends it runs on, and a run that
 * measures us and the peer. Each (target, backend) runs in a child process of its own, because libdbr
 * serves one backend per process.
 */
import type { Measurement } from './result.js';

export type Backend = 'mem' | 'redis' | 'cluster';

export interface TargetContext {
  /** Seconds per measurement. */
  seconds: number;
  quick: boolean;
  backend: Backend;
  /** DBR_SERVER of the backend ('mem://' for mem); also exported in the environment. */
  server: string;
}

export interface TargetOutcome {
  unit: string;
  peerName: string;
  goal: string;
  met: boolean;
  details: Measurement[];
  notes?: string;
}

export interface Target {
  id: string;
  title: string;
  backends: Backend[];
  run(ctx: TargetContext): Promise<TargetOutcome>;
}
