/**
 * Figures of the fault scenarios: printed by each test and, when run-faults.ts gives an output directory
 * (TSDBR_FAULTS_OUT), saved there one file per scenario; run-faults.ts then gathers them into
 * bench/results/faults-<date>.json (soak-<date>.json in soak mode) with a machine and date stamp.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mode } from './mode.js';

/** Prints the figures of a scenario and saves them for the run's summary. */
export function recordFigures(scenario: string, figures: Record<string, unknown>): void {
  const entry = { scenario, mode, at: new Date().toISOString(), ...figures };
  console.log(`[figures] ${scenario}: ${JSON.stringify(figures)}`);
  const dir = process.env.TSDBR_FAULTS_OUT;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${scenario.replace(/[^a-z0-9-]+/gi, '-')}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  }
}
