/**
 * Progress values as tasks report them (`ctx.progress(...)` in @tsdbr/worker: any JSON), normalized for display.
 * @module
 */

/** A progress value (number 0..1, 0..100, or {current,total}/{done,total}/{fraction}) as 0..1, plus a message. */
export function normalizeProgress(p: unknown): { progress: number | null; message: string | null } {
  if (typeof p === 'number' && Number.isFinite(p)) return { progress: p > 1 ? Math.min(1, p / 100) : Math.max(0, p), message: null };
  if (typeof p === 'object' && p !== null) {
    const o = p as Record<string, unknown>;
    const message = typeof o.message === 'string' ? o.message.slice(0, 200) : null;
    const num = (k: string) => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : undefined);
    const total = num('total');
    const done = num('current') ?? num('done') ?? num('completed');
    if (total !== undefined && total > 0 && done !== undefined) return { progress: Math.max(0, Math.min(1, done / total)), message };
    const frac = num('fraction') ?? num('progress') ?? num('percent');
    if (frac !== undefined) return { progress: frac > 1 ? Math.min(1, frac / 100) : Math.max(0, frac), message };
    return { progress: null, message };
  }
  if (typeof p === 'string') return { progress: null, message: p.slice(0, 200) };
  return { progress: null, message: null };
}
