/**
 * Decoded values as indented JSON for the UI, bounded: nesting deeper than {@link MAX_DISPLAY_DEPTH} is
 * refused (recursing through it would overflow the stack, and its indentation alone grows with the square
 * of the depth), and writing stops once the text reaches the size asked for.
 * @module
 */

/** Values nested deeper than this are not rendered as JSON. */
export const MAX_DISPLAY_DEPTH = 64;

/** The JSON text, and whether it was cut at the size asked for. */
export interface DisplayJson {
  text: string;
  cut: boolean;
}

const TOO_DEEP = Symbol('too deep');
const FULL = Symbol('full');

/**
 * JSON.stringify(value, null, 2) with bigints as strings, bytes as `"<n bytes>"`, Maps as objects and cycles
 * as `"<cycle>"`, at most `maxChars` long; undefined if the value is nested deeper than MAX_DISPLAY_DEPTH.
 */
export function displayJson(value: unknown, maxChars: number): DisplayJson | undefined {
  const parts: string[] = [];
  let length = 0;
  const ancestors = new Set<object>();
  const emit = (s: string) => {
    parts.push(s);
    length += s.length;
    if (length > maxChars) throw FULL;
  };
  const write = (raw: unknown, depth: number): void => {
    const v = plain(raw);
    if (typeof v !== 'object' || v === null) return emit(leftOut(v) ? 'null' : scalar(v));
    if (depth >= MAX_DISPLAY_DEPTH) throw TOO_DEEP;
    if (ancestors.has(v)) return emit('"<cycle>"');
    const entries: [string | undefined, unknown][] = Array.isArray(v) ? v.map((item) => [undefined, item]) : Object.entries(v).filter(([, x]) => !leftOut(x));
    if (entries.length === 0) return emit(Array.isArray(v) ? '[]' : '{}');
    ancestors.add(v);
    const inner = `\n${'  '.repeat(depth + 1)}`;
    emit(Array.isArray(v) ? '[' : '{');
    entries.forEach(([key, item], i) => {
      emit(`${i > 0 ? ',' : ''}${inner}${key === undefined ? '' : `${JSON.stringify(key)}: `}`);
      write(item, depth + 1);
    });
    emit(`\n${'  '.repeat(depth)}${Array.isArray(v) ? ']' : '}'}`);
    ancestors.delete(v);
  };
  try {
    write(value, 0);
  } catch (signal) {
    if (signal === TOO_DEEP) return undefined;
    if (signal === FULL) return { text: parts.join('').slice(0, maxChars), cut: true };
    throw signal;
  }
  return { text: parts.join(''), cut: false };
}

/** What JSON would write for a value: toJSON() applied, and the kinds JSON has no form for converted. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof Map) return Object.fromEntries(v);
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') return (v as { toJSON(): unknown }).toJSON();
  return v;
}

/** What JSON leaves out of objects (and writes as null in arrays). */
function leftOut(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

/** JSON of a string, number, boolean or null. */
function scalar(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? 'null' : JSON.stringify(v);
}
