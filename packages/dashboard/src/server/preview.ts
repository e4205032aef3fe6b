/**
 * Value previews: what a value looks like (JSON, text, MessagePack or binary) and a bounded rendering of
 * it. Only the first `previewBytes` bytes are rendered, so a 16 MiB value never reaches the browser whole.
 * @module
 */
import { msgpack } from '@tsdbr/core';
import type { PreviewFormat, SchemaCheck, ValuePreview } from '../api-types.js';
import { displayJson, MAX_DISPLAY_DEPTH } from './display-json.js';
import { findSchema, type SchemaRegistration } from './schemas.js';

/** Bytes of a value read for a preview: a prefix (or all of it) and the full size. */
export interface ValueBytes {
  bytes: Buffer;
  size: number;
}

/** Values up to this size are checked against their schema in full (larger ones are not decoded). */
export const SCHEMA_CHECK_LIMIT = 8 * 1024 * 1024;
const HEX_LIMIT = 16 * 1024;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const mp = msgpack();

/** Inputs of {@link buildPreview}. */
export interface PreviewRequest {
  namespace: string;
  name: string;
  index: number;
  value: ValueBytes;
  format: PreviewFormat | 'auto';
  previewBytes: number;
  schemas: readonly SchemaRegistration[];
}

/** Renders a value for the UI: detects its kind, truncates it and checks it against a registered schema. */
export function buildPreview(req: PreviewRequest): ValuePreview {
  const { value, previewBytes } = req;
  const complete = value.bytes.length >= value.size;
  const shown = value.bytes.subarray(0, Math.min(previewBytes, value.bytes.length));
  const truncated = shown.length < value.size;
  const registration = findSchema(req.schemas, req.namespace, req.name);
  const text = asText(shown, truncated);
  let detected: PreviewFormat = 'hex';
  let decoded: { ok: true; value: unknown } | undefined;
  if (text !== undefined) {
    detected = 'text';
    if (!truncated && looksLikeJson(text)) {
      decoded = tryJson(text);
      if (decoded) detected = 'json';
    }
  } else if (!truncated && (registration?.codec === 'msgpack' || looksLikeMsgpack(shown))) {
    decoded = tryMsgpack(shown);
    if (decoded) detected = 'msgpack';
  }
  let format = req.format === 'auto' ? detected : req.format;
  let content: string;
  let shownBytes = shown.length;
  let note: string | undefined;
  if (format === 'json' || format === 'msgpack') {
    const d = format === detected ? decoded : format === 'json' ? (text !== undefined && !truncated ? tryJson(text) : undefined) : !truncated ? tryMsgpack(shown) : undefined;
    const maxChars = previewBytes * 2;
    const json = d ? displayJson(d.value, maxChars) : undefined;
    if (json !== undefined) content = json.cut ? `${json.text}\n… (cut at ${maxChars} characters)` : json.text;
    else {
      if (d) {
        format = text !== undefined ? 'text' : 'hex';
        note = `nested deeper than ${MAX_DISPLAY_DEPTH} levels: shown as ${text !== undefined ? 'text' : 'a hex dump'}, not as indented JSON`;
      }
      content = text ?? hexDump(shown.subarray(0, HEX_LIMIT));
      if (text === undefined) shownBytes = Math.min(shown.length, HEX_LIMIT);
    }
  } else if (format === 'text') {
    content = text ?? shown.toString('utf8');
  } else {
    const hexBytes = shown.subarray(0, HEX_LIMIT);
    shownBytes = hexBytes.length;
    content = hexDump(hexBytes);
  }
  return {
    namespace: req.namespace,
    name: req.name,
    index: req.index,
    size: value.size,
    shownBytes,
    truncated: shownBytes < value.size,
    detected,
    format,
    content,
    ...(note !== undefined ? { note } : {}),
    schema: registration ? checkSchema(registration, value, complete) : null,
  };
}

function checkSchema(reg: SchemaRegistration, value: ValueBytes, complete: boolean): SchemaCheck {
  const label = reg.label ?? reg.name;
  if (!complete || value.size > SCHEMA_CHECK_LIMIT) {
    return { label, valid: null, issues: [], note: `not checked: the value is larger than ${SCHEMA_CHECK_LIMIT} bytes` };
  }
  let decoded: unknown;
  try {
    const codec = reg.codec ?? 'json';
    decoded = codec === 'utf8' ? utf8Strict.decode(value.bytes) : codec === 'msgpack' ? mp.decode(value.bytes) : JSON.parse(value.bytes.toString('utf8'));
  } catch (err) {
    return { label, valid: false, issues: [{ path: '(value)', message: `does not decode as ${reg.codec ?? 'json'}: ${(err as Error).message}` }] };
  }
  let result: ReturnType<SchemaRegistration['schema']['safeParse']>;
  try {
    result = reg.schema.safeParse(decoded);
  } catch (err) {
    // a schema recursing through a deeply nested value runs out of stack
    if (!(err instanceof RangeError)) throw err;
    return { label, valid: null, issues: [], note: `not checked: ${err.message}` };
  }
  if (result.success) return { label, valid: true, issues: [] };
  return {
    label,
    valid: false,
    issues: result.error.issues.slice(0, 50).map((i) => ({
      path: i.path.length > 0 ? i.path.map((p) => String(p)).join('.') : '(value)',
      message: i.message,
    })),
  };
}

/** The prefix as text if it is UTF-8 without control characters (a cut multi-byte character at the end is dropped). */
function asText(bytes: Buffer, truncated: boolean): string | undefined {
  let b = bytes;
  if (truncated) {
    // drop an incomplete UTF-8 sequence at the cut
    let i = b.length - 1;
    let back = 0;
    while (i >= 0 && back < 3 && ((b[i] as number) & 0xc0) === 0x80) {
      i--;
      back++;
    }
    if (i >= 0 && (b[i] as number) >= 0xc0) {
      const lead = b[i] as number;
      const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
      if (back < need) b = b.subarray(0, i);
    }
  }
  let s: string;
  try {
    s = utf8Strict.decode(b);
  } catch {
    return undefined;
  }
  // text means: no control characters other than tab, newline, carriage return, form feed
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(s)) return undefined;
  return s;
}

function looksLikeJson(text: string): boolean {
  return /^\s*([{["\-0-9]|true\b|false\b|null\b)/.test(text);
}

function tryJson(text: string): { ok: true; value: unknown } | undefined {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function looksLikeMsgpack(bytes: Buffer): boolean {
  const b = bytes[0];
  if (b === undefined) return false;
  return (b >= 0x80 && b <= 0x9f) || b === 0xdc || b === 0xdd || b === 0xde || b === 0xdf;
}

function tryMsgpack(bytes: Buffer): { ok: true; value: unknown } | undefined {
  try {
    return { ok: true, value: mp.decode(bytes) };
  } catch {
    return undefined;
  }
}

/** A classic hex dump: offset, 16 bytes in hex, and their printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const b = row[i];
      hex += b === undefined ? '   ' : `${b.toString(16).padStart(2, '0')} `;
      if (i === 7) hex += ' ';
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}
