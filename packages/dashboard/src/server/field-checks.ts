/**
 * Reading fields of decoded tuples that anyone with access to the namespace may have written: a field of the
 * wrong type reads as missing.
 * @module
 */

/** True for a plain object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The string, or null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** The finite number, or null. */
export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
