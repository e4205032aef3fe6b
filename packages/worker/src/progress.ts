/**
 * Progress of long runs: a one-line bar (done/running/failed/ETA) redrawn on stderr when it is a terminal,
 * and a summary table at the end.
 * @module
 */
import type { StepReport } from './workflow.js';

/** Counts of a run's steps. */
export interface ProgressCounts {
  total: number;
  done: number;
  running: number;
  failed: number;
}

/** Counts steps by state. */
export function countSteps(steps: readonly StepReport[]): ProgressCounts {
  const c: ProgressCounts = { total: steps.length, done: 0, running: 0, failed: 0 };
  for (const s of steps) {
    if (s.state === 'done' || s.state === 'cached') c.done++;
    else if (s.state === 'failed' || s.state === 'skipped') c.failed++;
    else if (s.state === 'queued') c.running++;
  }
  return c;
}

/** Formats milliseconds as 1h2m, 3m4s or 5.6s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** The bar's text. */
export function renderBar(c: ProgressCounts, elapsedMs: number, width = 30): string {
  const finished = c.done + c.failed;
  const frac = c.total === 0 ? 0 : finished / c.total;
  const filled = Math.round(frac * width);
  const eta = finished === 0 ? Infinity : (elapsedMs / finished) * (c.total - finished);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${finished}/${c.total} done ${c.done} running ${c.running} failed ${c.failed} elapsed ${formatDuration(elapsedMs)} ETA ${finished === c.total ? '0s' : formatDuration(eta)}`;
}

/** A live progress bar on a terminal stream (does nothing when the stream is not a TTY). */
export class ProgressBar {
  private last = 0;
  private readonly started = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Redraws (at most every 100 ms unless forced). */
  update(c: ProgressCounts, force = false): void {
    if (!this.stream.isTTY) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    this.stream.write(`\r${renderBar(c, now - this.started, Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 80)))}\x1b[K`);
  }

  /** Ends the bar's line. */
  done(c: ProgressCounts): void {
    if (!this.stream.isTTY) return;
    this.update(c, true);
    this.stream.write('\n');
  }
}

/** A plain text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The summary table of a run's steps. */
export function stepTable(steps: readonly StepReport[], limit = 50): string {
  const rows = steps.slice(0, limit).map((s) => [s.key, s.task, s.state, s.startedAt && s.finishedAt ? formatDuration(s.finishedAt - s.startedAt) : '', (s.error ?? '').split('\n')[0]!.slice(0, 80)]);
  const more = steps.length > limit ? `\n... and ${steps.length - limit} more steps` : '';
  return table(['step', 'task', 'state', 'time', 'error'], rows) + more;
}
