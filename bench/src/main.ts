/**
 * pnpm bench [TARGET ...] [--quick]
 *
 * Runs the targets of DESIGN.md section 8 that exist, each side by side with its peer in the same run,
 * writes bench/results/<TARGET>.json and prints a table of ratios.
 */
import { human } from './measure.js';
import { machine, type TargetResult, writeResult } from './result.js';
import type { Target } from './target.js';
import { p1 } from './targets/p1-ts-vs-c.js';
import { p4 } from './targets/p4-mem-throughput.js';

const TARGETS: Target[] = [p1, p4];

function usage(): never {
  console.log(`usage: pnpm bench [TARGET ...] [--quick]

Targets: ${TARGETS.map((t) => `\n  ${t.id.padEnd(4)} ${t.title}`).join('')}

--quick   shorter measurements (each target within about 60 s)
Results go to bench/results/<TARGET>.json.`);
  process.exit(0);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) usage();
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--')).map((a) => a.toUpperCase());
const unknown = wanted.filter((w) => !TARGETS.some((t) => t.id === w));
if (unknown.length > 0) {
  console.error(`pnpm bench: unknown target ${unknown.join(', ')}; known: ${TARGETS.map((t) => t.id).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? TARGETS.filter((t) => wanted.includes(t.id)) : TARGETS;
const ctx = { seconds: quick ? 1 : 3, quick };
const resultsDir = new URL('../results/', import.meta.url);

const rows: string[][] = [];
for (const target of selected) {
  process.stderr.write(`running ${target.id}: ${target.title}\n`);
  const outcome = await target.run(ctx);
  const worst = outcome.details.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  const result: TargetResult = {
    target: target.id,
    title: target.title,
    ours: worst.ours,
    peer: worst.peer,
    peerName: outcome.peerName,
    unit: outcome.unit,
    ratio: worst.ratio,
    goal: outcome.goal,
    met: outcome.met,
    machine: machine(),
    date: new Date().toISOString(),
    quick,
    details: outcome.details,
    ...(outcome.notes ? { notes: outcome.notes } : {}),
  };
  writeResult(resultsDir, result);
  for (const d of outcome.details) rows.push([target.id, d.case, `${human(d.ours)} ${outcome.unit}`, `${human(d.peer)}`, d.ratio.toFixed(2), outcome.goal, outcome.met ? 'yes' : 'NO']);
}

const header = ['target', 'case', 'ours', 'peer', 'ratio', 'goal', 'met'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
