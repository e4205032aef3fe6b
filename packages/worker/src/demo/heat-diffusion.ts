/**
 * The quick-start demo: an ensemble of 2-D heat-diffusion simulations (explicit finite differences on a
 * square plate with a heated patch and cold edges), fanned out over 32 parameter sets and reduced to a table
 * and an SVG chart. Run it with `dbr demo`, or `dbr run` on this module.
 * @module
 */
import { z } from 'zod';
import { defineTask } from '../task.js';
import { workflow } from '../workflow.js';

const Params = z.object({
  /** Thermal diffusivity (grid units). */
  alpha: z.number().positive(),
  /** Heat put into the centre patch per unit time. */
  source: z.number().nonnegative(),
  /** Grid cells per side. */
  grid: z.number().int().min(8).max(512).default(64),
  /** Simulated time. */
  time: z.number().positive().default(1500),
});

const SimResult = z.object({
  alpha: z.number(),
  source: z.number(),
  steps: z.number(),
  meanTemp: z.number(),
  maxTemp: z.number(),
  /** Fraction of the plate warmer than 1 degree. */
  warmFraction: z.number(),
});

/** One simulation: FTCS on an n x n grid, Dirichlet (0) edges, a constant source in the centre patch. */
export const simulate = defineTask({
  name: 'heat.simulate',
  queue: 'demo',
  input: Params,
  output: SimResult,
  retries: 1,
  run: ({ alpha, source, grid: n, time }, ctx) => {
    const dt = 0.2 / alpha; // r = alpha*dt/dx^2 = 0.2 < 0.25: stable
    const steps = Math.ceil(time / dt);
    let u = new Float64Array(n * n);
    let v = new Float64Array(n * n);
    const lo = Math.floor(n * 0.4);
    const hi = Math.ceil(n * 0.6);
    const r = alpha * dt;
    for (let s = 0; s < steps; s++) {
      if ((s & 63) === 0 && ctx.signal.aborted) throw ctx.signal.reason;
      for (let i = 1; i < n - 1; i++) {
        const row = i * n;
        for (let j = 1; j < n - 1; j++) {
          const k = row + j;
          v[k] = u[k]! + r * (u[k - 1]! + u[k + 1]! + u[k - n]! + u[k + n]! - 4 * u[k]!);
        }
      }
      for (let i = lo; i < hi; i++) for (let j = lo; j < hi; j++) v[i * n + j]! += source * dt;
      [u, v] = [v, u];
      if ((s & 255) === 0) ctx.progress({ done: s, total: steps });
    }
    let sum = 0;
    let max = 0;
    let warm = 0;
    for (const x of u) {
      sum += x;
      if (x > max) max = x;
      if (x > 1) warm++;
    }
    return { alpha, source, steps, meanTemp: sum / (n * n), maxTemp: max, warmFraction: warm / (n * n) };
  },
});

const Summary = z.object({
  rows: z.array(SimResult),
  svg: z.string(),
});

/** The reduction: sorts the results and draws mean temperature against diffusivity, one line per source. */
export const summarize = defineTask({
  name: 'heat.summarize',
  queue: 'demo',
  input: z.object({ results: z.array(SimResult) }),
  output: Summary,
  run: ({ results }) => {
    const rows = [...results].sort((a, b) => a.source - b.source || a.alpha - b.alpha);
    return { rows, svg: chart(rows) };
  },
});

/** 8 diffusivities x 4 source strengths = 32 members. */
export function parameterSets(): { alpha: number; source: number }[] {
  const out: { alpha: number; source: number }[] = [];
  for (const source of [0.5, 1, 2, 4]) for (let i = 0; i < 8; i++) out.push({ alpha: Number((0.1 * 1.5 ** i).toFixed(4)), source });
  return out;
}

/** The ensemble: fan out the simulations, fan in to the summary. */
export const heatDiffusion = workflow('heat-diffusion', (wf, args?: { grid?: number; time?: number }) => {
  const sims = wf.map(
    simulate,
    parameterSets().map((p) => ({ ...p, ...(args?.grid ? { grid: args.grid } : {}), ...(args?.time ? { time: args.time } : {}) })),
  );
  return wf.run(summarize, { results: sims });
});

const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a'];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An SVG line chart (log x) of mean temperature against diffusivity per source strength. */
export function chart(rows: z.infer<typeof SimResult>[]): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 140, t: 40, b: 50 };
  const xs = rows.map((r) => Math.log10(r.alpha));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y1 = Math.max(...rows.map((r) => r.meanTemp)) * 1.05 || 1;
  const X = (a: number) => m.l + ((Math.log10(a) - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const Y = (t: number) => H - m.b - (t / y1) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="22" font-size="15" text-anchor="middle">2-D heat diffusion ensemble (${rows.length} runs)</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">diffusivity alpha (log scale)</text>`,
    `<text x="16" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(m.t + H - m.b) / 2})">mean temperature</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const t = (y1 * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${t.toFixed(2)}</text>`, `<line x1="${m.l}" y1="${Y(t)}" x2="${W - m.r}" y2="${Y(t)}" stroke="#eee"/>`);
  }
  for (const a of [...new Set(rows.map((r) => r.alpha))]) parts.push(`<text x="${X(a)}" y="${H - m.b + 16}" text-anchor="middle">${a.toPrecision(2)}</text>`);
  const sources = [...new Set(rows.map((r) => r.source))];
  sources.forEach((s, i) => {
    const pts = rows.filter((r) => r.source === s).map((r) => `${X(r.alpha).toFixed(1)},${Y(r.meanTemp).toFixed(1)}`);
    const color = COLORS[i % COLORS.length];
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [px, py] = p.split(',');
      parts.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
    }
    parts.push(`<rect x="${W - m.r + 16}" y="${m.t + i * 20}" width="12" height="12" fill="${color}"/>`, `<text x="${W - m.r + 34}" y="${m.t + i * 20 + 11}">source ${esc(String(s))}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
