/**
 * Codecs turn values into tuple bytes and back. Strings are stored as UTF-8 and binary values as raw bytes,
 * exactly as PyDBR stores str and bytes, so programs in either language read each other's tuples.
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { Packr } from 'msgpackr';

/** Encodes values of type T into bytes and decodes them back. */
export interface Codec<T> {
  /** Short name, shown in errors and the dashboard. */
  readonly name: string;
  /** The bytes that represent a value. */
  encode(value: T): Uint8Array;
  /** The value that bytes represent. */
  decode(bytes: Buffer): T;
}

/** Anything `put` stores without a codec: bytes, typed arrays (their bytes) or a string (UTF-8). */
export type ValueLike = Uint8Array | ArrayBufferView | ArrayBuffer | string;

/** The bytes of a ValueLike, without copying binary input. */
export function toBytes(value: ValueLike): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(
    `Cannot store a value of type ${value === null ? 'null' : typeof value} as a tuple: pass bytes, a typed array or a string, or give a codec (e.g. { codec: codecs.json }).`,
  );
}

/**
 * The bytes as text if they are valid UTF-8 with no control characters but those in `allowed` (default newline
 * and tab); undefined for binary data, or text with escape sequences a terminal would act on.
 */
export function printableText(bytes: Uint8Array, allowed = '\n\t'): string | undefined {
  if (!isUtf8(bytes)) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  for (const [control] of text.matchAll(/\p{Cc}/gu)) if (!allowed.includes(control)) return undefined;
  return text;
}

/** Raw bytes, returned as Node Buffers. */
export const raw: Codec<Uint8Array> = {
  name: 'raw',
  encode: (value) => value,
  decode: (bytes) => bytes,
};

/** UTF-8 text. */
export const utf8: Codec<string> = {
  name: 'utf8',
  encode: (value) => Buffer.from(value, 'utf8'),
  decode: (bytes) => bytes.toString('utf8'),
};

/** JSON text in UTF-8, typed as T (validate untrusted input with a channel schema). */
export function json<T = unknown>(): Codec<T> {
  return {
    name: 'json',
    encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    decode: (bytes) => JSON.parse(bytes.toString('utf8')) as T,
  };
}

// undefined as JSON writes it (a property dropped, nil elsewhere): msgpackr's own undefined is an extension
// type that other msgpack libraries hand back as an opaque value
// (skipValues is a msgpackr option its typings leave out; the codec tests check the bytes)
const packr = new Packr({ useRecords: false, mapsAsObjects: true, encodeUndefinedAsNil: true, ...{ skipValues: [undefined] } });

/**
 * MessagePack, readable by any msgpack library: no msgpackr record or undefined extension (undefined is
 * written as JSON writes it: an object property that is undefined is left out, and elsewhere it is nil).
 */
export function msgpack<T = unknown>(): Codec<T> {
  return {
    name: 'msgpack',
    encode: (value) => packr.pack(value),
    decode: (bytes) => packr.unpack(bytes) as T,
  };
}

/** The built-in codecs. */
export const codecs = { raw, utf8, json: json(), msgpack: msgpack() } as const;
