/**
 * What a benchmark target is: an id from DESIGN.md section 8 and a run that measures us and the peer.
 */
import type { Measurement } from './result.js';

export interface TargetContext {
  /** Seconds per measurement. */
  seconds: number;
  quick: boolean;
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
  run(ctx: TargetContext): Promise<TargetOutcome>;
}
