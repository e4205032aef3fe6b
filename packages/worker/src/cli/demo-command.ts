/**
 * `dbr demo`: the README quick start. Runs the heat-diffusion ensemble (32 simulations fanned out over local
 * workers: threads on the embedded backend, processes on Redis, then reduced), prints the result table and
 * writes an SVG chart.
 * @module
 */
import { constants, existsSync, statSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDbrError } from '@tsdbr/core';
import { connect, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { table } from '../progress.js';
import { intInRange } from './common.js';
import { runWorkflowModule } from './run-command.js';

interface DemoSummary {
  rows: { alpha: number; source: number; steps: number; meanTemp: number; maxTemp: number; warmFraction: number }[];
  svg: string;
}

interface DemoOptions {
  out: string;
  workers?: string;
  grid?: string;
}

/** Path of the demo module (compiled .js, else the .ts source). */
export function demoModulePath(): string {
  const js = fileURLToPath(new URL('../demo/heat-diffusion.js', import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL('../demo/heat-diffusion.ts', import.meta.url));
}

/** The chart's path, checked before the ensemble runs: its folder must exist and be writable. */
async function chartPath(out: string): Promise<string> {
  const path = resolve(out);
  const dir = dirname(path);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--out "${out}" is a directory: name the SVG file, e.g. ${out.replace(/\/$/, '')}/heat-diffusion.svg.`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--out "${out}": cannot write in ${dir} (${existsSync(dir) ? 'not writable' : 'no such directory'}); create it or choose another path.`);
  }
  return path;
}

/** Deletes the demo's namespace (Redis): it is the demo's own, named after its process. */
async function deleteNamespace(globals: GlobalOptions, name: string): Promise<void> {
  const broker = connect({ ...globals, quiet: true });
  try {
    if (broker.backend !== 'mem') await broker.delete(name);
  } catch (err) {
    if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return; // never created: the run stopped before it started
    process.stderr.write(`dbr demo: could not delete its namespace ${name} (${(err as Error).message}); delete it with \`dbr ns delete ${name}\`.\n`);
  } finally {
    await broker.close();
  }
}

/** Registers `dbr demo`. */
export function registerDemoCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('demo')
    .description('Run the quick-start ensemble: 32 heat-diffusion simulations fanned out, reduced to a table and an SVG chart')
    .option('-o, --out <file>', 'where to write the SVG chart', 'heat-diffusion.svg')
    .option('--workers <n>', 'local workers: threads (embedded backend) or processes (DBR_SERVER set) (default: CPUs, max 8)')
    .option('--grid <n>', 'grid cells per side, 8 to 512 (default 64)')
    .addHelpText('after', '\nWith DBR_SERVER set it runs in its own namespace tsdbr-demo-<pid>, deleted at the end.')
    .action(async (opts: DemoOptions) => {
      const g = globals();
      const grid = opts.grid === undefined ? undefined : intInRange(opts.grid, '--grid', 8, 512);
      const workers = opts.workers === undefined ? Math.max(1, Math.min(availableParallelism(), 8)) : intInRange(opts.workers, '--workers', 1, 1024);
      const out = await chartPath(opts.out);
      const namespace = `tsdbr-demo-${process.pid}`;
      try {
        process.exitCode = await runWorkflowModule(
          demoModulePath(),
          { id: `demo-${Date.now().toString(36)}`, workers: String(workers), ...(grid !== undefined ? { args: JSON.stringify({ grid }) } : {}), namespace },
          g.server ? g : { ...g, quiet: true },
          async (report) => {
            const summary = report.output as DemoSummary | undefined;
            if (summary === undefined) return;
            process.stdout.write(`\n${table(['source', 'alpha', 'steps', 'mean T', 'max T', 'warm %'], summary.rows.map((r) => [String(r.source), r.alpha.toFixed(4), String(r.steps), r.meanTemp.toFixed(4), r.maxTemp.toFixed(3), (100 * r.warmFraction).toFixed(1)]))}\n`);
            await writeFile(out, summary.svg);
            process.stdout.write(`\nchart written to ${out}\n`);
          },
        );
      } finally {
        await deleteNamespace(g, namespace);
      }
    });
}
