/**
 * The values stored in the tuple space: task envelopes, result envelopes, dead letters and bells. They are
 * msgpack maps by default; a JSON object (first byte `{`) is accepted everywhere, and a worker answers a JSON
 * task with a JSON result, so C or Python programs need no msgpack library (see docs/protocol.md).
 * @module
 */
import { msgpack } from '@tsdbr/core';
import type { SerializedError } from './errors.js';

/** A task waiting in a queue. Short keys keep waiting tasks small. */
export interface TaskEnvelope {
  /** Task id, unique in its queue. */
  id: string;
  /** Task name (defineTask's `name`). */
  task: string;
  /** The input, as submitted (validated again by the worker). */
  input: unknown;
  /** This attempt's number, from 1. */
  att: number;
  /** Attempts allowed in all (retries + 1); the task definition's when absent. */
  max?: number;
  /** When it was first submitted (epoch ms). */
  at: number;
  /** Priority; its sign picks the band. */
  pri?: number;
  /** Per-attempt timeout (ms); the task definition's when absent. */
  tmo?: number;
  /** Dedup key. */
  ddp?: string;
  /** Due time of a delayed task (epoch ms). */
  due?: number;
  /** Times this task was recovered from a dead worker. */
  rec?: number;
  /** Set on dedup'd tasks, whose result every submitter of the key reads (result() then reads instead of getting). Informational: workers ignore it; the result expires by policy. */
  keep?: 1;
  /** Store no result (ignoreResult): a success only empties the claim slot. */
  nr?: 1;
}

/** The outcome of a task, put under `q:{Q}:result:<id>`. */
export interface ResultEnvelope {
  /** Kind marker: 'r'. */
  k: 'r';
  id: string;
  task: string;
  ok: boolean;
  /** The output, when ok. */
  output?: unknown;
  /** The error, when not ok. */
  error?: SerializedError;
  /** True when the task was cancelled. */
  cancelled?: boolean;
  /** True for the tombstone an unread result leaves when it expires: the outcome is unknown. */
  expired?: boolean;
  /** Attempts made. */
  attempts: number;
  /** When it finished (epoch ms). */
  finishedAt: number;
}

/** A task that failed for good, appended to `q:{Q}:dead`. */
export interface DeadLetter {
  /** Kind marker: 'd'. */
  k: 'd';
  id: string;
  task: string;
  queue: string;
  error: SerializedError;
  attempts: number;
  failedAt: number;
  /** The task envelope of the last attempt (for `dbr tasks retry`). */
  env: TaskEnvelope;
  /** Set when the task was submitted as JSON: the letter itself is always msgpack, so a retry needs this to requeue it as JSON. */
  json?: 1;
}

/** A doorbell in the normal band: it wakes a blocked worker to look at the `hi` and `lo` bands. */
export interface Bell {
  k: 'b';
}

/** Anything found in a queue's tuples. */
export type Stored = { kind: 'task'; env: TaskEnvelope } | { kind: 'result'; env: ResultEnvelope } | { kind: 'dead'; env: DeadLetter } | { kind: 'bell' } | { kind: 'unknown'; value: unknown };

const mp = msgpack<unknown>();

/** Encodes a value as msgpack, or JSON when `asJson`. */
export function encode(value: unknown, asJson = false): Uint8Array {
  return asJson ? Buffer.from(JSON.stringify(value), 'utf8') : mp.encode(value);
}

/** True if the bytes hold JSON text rather than msgpack (JSON values written by other programs start with `{`). */
export function isJson(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === 0x7b;
}

/** The dead letter's `json` field for a task whose envelope was (or was not) JSON. */
export function jsonMark(json: boolean): { json?: 1 } {
  return json ? { json: 1 } : {};
}

/** Decodes msgpack or JSON bytes. */
export function decode(bytes: Buffer): unknown {
  return isJson(bytes) ? JSON.parse(bytes.toString('utf8')) : mp.decode(bytes);
}

/** Decodes and classifies a stored value. Never throws: garbage comes back as 'unknown'. */
export function classify(bytes: Buffer): Stored {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return { kind: 'unknown', value: bytes };
  }
  if (typeof value !== 'object' || value === null) return { kind: 'unknown', value };
  const v = value as Record<string, unknown>;
  if (v.k === 'b') return { kind: 'bell' };
  if (v.k === 'r' && typeof v.id === 'string') return { kind: 'result', env: v as unknown as ResultEnvelope };
  if (v.k === 'd' && typeof v.id === 'string') return { kind: 'dead', env: v as unknown as DeadLetter };
  if (typeof v.id === 'string' && typeof v.task === 'string') {
    const env = v as unknown as TaskEnvelope;
    if (typeof env.att !== 'number' || env.att < 1) env.att = 1;
    if (typeof env.at !== 'number') env.at = Date.now();
    return { kind: 'task', env };
  }
  return { kind: 'unknown', value };
}

/** The bell value (msgpack). */
export const BELL: Uint8Array = encode({ k: 'b' } satisfies Bell);
