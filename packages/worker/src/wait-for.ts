/**
 * The checks and decoding of wf.waitFor, which waits for a tuple any program may put.
 * @module
 */
import { ConfigError, type Duration, parseDuration, printableText } from '@tsdbr/core';
import type { ZodType } from 'zod';
import { decode } from './envelope.js';
import { optionsObject } from './validate.js';

/**
 * Checks wf.waitFor's arguments when it is called, not when the tuple arrives (which may be never); returns
 * the read's timeout.
 */
export function checkWaitForArgs(tupleName: unknown, schema: unknown, options: { key?: unknown; timeout?: Duration } | undefined): { timeout: number | 'infinite' } {
  if (typeof tupleName !== 'string' || tupleName.length === 0) throw new ConfigError(`wf.waitFor(tupleName, schema) needs the tuple name as a non-empty string, got ${tupleName === '' ? 'an empty string' : typeof tupleName}.`);
  if (typeof (schema as Partial<ZodType> | null)?.safeParse !== 'function') throw new ConfigError(`wf.waitFor("${tupleName}", schema) needs a zod schema to validate the value with (e.g. z.object({...})), got ${schema === null ? 'null' : typeof schema}.`);
  const o = optionsObject(options, `wf.waitFor("${tupleName}") options`);
  if (o.key !== undefined && typeof o.key !== 'string') throw new ConfigError(`wf.waitFor("${tupleName}") options: key must be a string, got ${typeof o.key}.`);
  const ms = parseDuration(o.timeout ?? 'infinite', `wf.waitFor("${tupleName}") timeout`);
  return { timeout: ms === Infinity ? 'infinite' : ms };
}

/**
 * JSON, else text, else msgpack: how values put by other programs are read. Printable UTF-8 is text (a lone
 * "y" is not the msgpack number 121); msgpack maps, arrays and strings start with bytes that UTF-8 text cannot.
 */
export function decodeLoose(bytes: Buffer): unknown {
  const text = printableText(bytes, '\n\t\r');
  if (text !== undefined) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  try {
    return decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}
