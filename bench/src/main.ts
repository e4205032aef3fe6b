/**
 * pnpm bench [TARGET ...] [--quick]
 *
 * Runs the targets of DESIGN.md section 8 that exist, each side by side with its peer in the same run,
 * writes bench/results/<TARGET>.json and prints a table of ratios. Each target and backend runs in its own
 * child process (libdbr serves one backend per process).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { human } from './measure.js';
import { machine, type Measurement, type TargetResult, writeResult } from './result.js';
import type { TargetOutcome } from './target.js';
import { TARGETS } from './targets/index.js';

function usage(): never {
  console.log(`usage: pnpm bench [TARGET ...] [--quick]

Targets: ${TARGETS.map((t) => `\n  ${t.id.padEnd(4)} ${t.title} [${t.backends.join(', ')}]`).join('')}

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
const seconds = quick ? 1 : 3;
const resultsDir = new URL('../results/', import.meta.url);
const child = fileURLToPath(new URL('./child.ts', import.meta.url));

const rows: string[][] = [];
let failures = 0;
for (const target of selected) {
  const outcomes: TargetOutcome[] = [];
  for (const backend of target.backends) {
    process.stderr.write(`running ${target.id} on ${backend}: ${target.title}\n`);
    const out = spawnSync(process.execPath, ['--import', 'tsx', child, target.id, backend, String(seconds)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 << 20,
    });
    const last = out.stdout.trim().split('\n').pop() ?? '';
    if (out.status !== 0 || !last.startsWith('{')) {
      process.stderr.write(`  ${target.id} on ${backend} failed (exit ${out.status})\n${out.stdout}\n`);
      failures++;
      continue;
    }
    outcomes.push(JSON.parse(last) as TargetOutcome);
  }
  if (outcomes.length === 0) continue;
  const details: Measurement[] = outcomes.flatMap((o) => o.details);
  const worst = details.filter((d) => Number.isFinite(d.ratio)).reduce((a, b) => (b.ratio < a.ratio ? b : a), details[0] as Measurement);
  const first = outcomes[0] as TargetOutcome;
  const met = outcomes.every((o) => o.met);
  const notes = outcomes.map((o) => o.notes).filter(Boolean).join(' ');
  const result: TargetResult = {
    target: target.id,
    title: target.title,
    ours: worst.ours,
    peer: worst.peer,
    peerName: first.peerName,
    unit: first.unit,
    ratio: worst.ratio,
    goal: first.goal,
    met,
    machine: machine(),
    date: new Date().toISOString(),
    quick,
    details,
    ...(notes ? { notes } : {}),
  };
  writeResult(resultsDir, result);
  for (const d of details) rows.push([target.id, d.case, `${human(d.ours)} ${first.unit}`, human(d.peer), d.ratio === null || !Number.isFinite(d.ratio) ? 'n/a' : d.ratio.toFixed(2), first.goal, met ? 'yes' : 'NO']);
}

const header = ['target', 'case', 'ours', 'peer', 'ratio', 'goal', 'met'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
process.exit(failures > 0 ? 1 : 0);
