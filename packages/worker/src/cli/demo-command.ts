/**
 * `dbr demo`: the README quick start. Runs the heat-diffusion ensemble (32 simulations fanned out over worker
 * threads on the embedded backend, then reduced), prints the result table and writes an SVG chart.
 * @module
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GlobalOptions } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { table } from '../progress.js';
import { runWorkflowModule } from './run-command.js';

interface DemoSummary {
  rows: { alpha: number; source: number; steps: number; meanTemp: number; maxTemp: number; warmFraction: number }[];
  svg: string;
}

/** Path of the demo module (compiled .js, else the .ts source). */
export function demoModulePath(): string {
  const js = fileURLToPath(new URL('../demo/heat-diffusion.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../demo/heat-diffusion.ts', import.meta.url));
}

/** Registers `dbr demo`. */
export function registerDemoCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('Run the quick-start ensemble: 32 heat-diffusion simulations fanned out, reduced to a table and an SVG chart')
    .option('-o, --out <file>', 'where to write the SVG chart', 'heat-diffusion.svg')
    .option('--workers <n>', 'worker threads (default: CPUs, max 8)')
    .option('--grid <n>', 'grid cells per side (default 64)')
    .action(async (opts: { out: string; workers?: string; grid?: string }) => {
      const g = globals();
      const code = await runWorkflowModule(
        demoModulePath(),
        { id: `demo-${Date.now().toString(36)}`, ...(opts.workers ? { workers: opts.workers } : {}), ...(opts.grid ? { args: JSON.stringify({ grid: Number(opts.grid) }) } : {}), namespace: `tsdbr-demo-${process.pid}` },
        g.server ? g : { ...g, quiet: true },
        async (report) => {
          const summary = report.output as DemoSummary | undefined;
          if (summary === undefined) return;
          process.stdout.write(`\n${table(['source', 'alpha', 'steps', 'mean T', 'max T', 'warm %'], summary.rows.map((r) => [String(r.source), r.alpha.toFixed(4), String(r.steps), r.meanTemp.toFixed(4), r.maxTemp.toFixed(3), (100 * r.warmFraction).toFixed(1)]))}\n`);
          const out = resolve(opts.out);
          await writeFile(out, summary.svg);
          process.stdout.write(`\nchart written to ${out}\n`);
        },
      );
      process.exitCode = code;
    });
}
