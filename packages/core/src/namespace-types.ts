/**
 * The option and value types of a Namespace's calls.
 * @module
 */
import type { Codec, ValueLike } from './codecs.js';
import type { Duration } from './options.js';

/** A tuple name, or a glob template matching names (Linda-style: the oldest value of the first match). */
export type TupleSelector = string | { template: string };

/** Options of read and get. */
export interface TakeOptions<T = Buffer> {
  /** How long to wait for a value: 0 returns at once, `'infinite'` waits until aborted. Default: the broker's timeout. */
  timeout?: Duration;
  /**
   * Aborting withdraws the native request and rejects with the signal's reason; a withdrawn get never
   * consumes a value. If the value was already on its way (the get's atomic pop was on the wire), the get
   * resolves with it instead, so an abort never loses or hides a value.
   */
  signal?: AbortSignal;
  /** Decodes the value (default: raw bytes as a Buffer). */
  codec?: Codec<T>;
}

/** Options of read. */
export interface ReadOptions<T = Buffer> extends TakeOptions<T> {
  /** Reads the n-th value under the name (0 = the oldest), at most DBR_MAX_READ_INDEX; larger is DBR_ERR_INVALID. */
  index?: number;
}

/** Options of put. */
export interface PutOptions<T = ValueLike> {
  /** Encodes the value (default: bytes as they are, strings as UTF-8). */
  codec?: Codec<T>;
}

/**
 * One step of popPutMany: a pop-put (`pop` and `put`), a put (`put` only) or a pop (`pop` only, no value).
 * With `unless`, the step is skipped when that name holds a value (which it then pops, or only looks at with
 * `peekUnless`): e.g. finish a task unless its cancel marker is there. A step may hold only `unless` (a test).
 */
export interface PopPutStep<T = ValueLike> {
  /** Drop the oldest value under this name first; if it holds none, the step does nothing. */
  pop?: string;
  /** Append `value` under this name. */
  put?: string;
  value?: T;
  /** Skip the step when this name holds a value. */
  unless?: string;
  /** Leave the `unless` value in place (default: a skipping step pops it). */
  peekUnless?: boolean;
}

/** What a popPutMany step did: ran, found nothing to pop (so put nothing), or was skipped by `unless`. */
export type StepOutcome = 'done' | 'empty' | 'skipped';

/** Most sources of one moveMany (libdbr's DBRX_MOVE_MANY_MAX_SOURCES). */
export const MOVE_MANY_MAX_SOURCES = 16;
/** Most destinations of one moveMany (libdbr's DBRX_MOVE_MANY_MAX_DESTINATIONS). */
export const MOVE_MANY_MAX_DESTINATIONS = 1024;

/** State of a namespace. */
export interface NamespaceInfo {
  name: string;
  /** Tuple names holding at least one value. */
  names: number;
  /** Values under all names. */
  values: number;
  /** Bytes of all values, or -1 where the backend cannot tell cheaply. */
  bytes: number;
  /** Clients attached, this one included. */
  attached: number;
  /** A delete is waiting for the last client to detach. */
  deletePending: boolean;
}
