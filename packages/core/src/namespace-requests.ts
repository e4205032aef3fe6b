/**
 * How a namespace's async requests settle their callers' promises, straight from the completion queue's
 * drain: a status, a read/get's value, a moveValue's value.
 * @internal
 * @module
 */
import type { Codec } from './codecs.js';
import { PendingRequest } from './completion-queue.js';
import { ErrorCode } from './constants.js';
import type { TupleSelector } from './namespace-types.js';
import type { Describe, Runtime } from './runtime.js';

/** An empty value. */
export const EMPTY = Buffer.alloc(0);

/** A pending request without a value: settles to undefined, or throws the failure. */
export class StatusRequest extends PendingRequest<void> {
  constructor(
    private readonly rt: Runtime,
    private readonly what: Describe,
    keepAlive: unknown,
  ) {
    super();
    this.keepAlive = keepAlive;
  }

  get description(): string {
    return typeof this.what === 'string' ? this.what : this.what();
  }

  settle(status: number, _value: Buffer | undefined, detail: string | undefined): void {
    if (status !== ErrorCode.DBR_SUCCESS) throw this.rt.error(status, this.what, detail);
  }
}

/** A pending read/get: settles to the decoded value, to undefined for "nothing there" if asked, else throws. */
export class TakeRequest<T> extends PendingRequest<T | undefined> {
  constructor(
    private readonly rt: Runtime,
    private readonly nsName: string,
    private readonly op: 'get' | 'read',
    private readonly selector: TupleSelector,
    private readonly codec: Codec<T> | undefined,
    private readonly absentIsUndefined: boolean,
  ) {
    super();
  }

  /** Names the call in error messages (built only for an error). */
  get description(): string {
    return `${this.op} ${describe(this.selector)} from "${this.nsName}"`;
  }

  settle(status: number, value: Buffer | undefined, detail: string | undefined): T | undefined {
    if (status === ErrorCode.DBR_SUCCESS) return decode(value ?? EMPTY, this.codec);
    if (status === ErrorCode.DBR_ERR_UNAVAIL && this.absentIsUndefined) return undefined;
    throw this.rt.error(status, () => this.description, detail);
  }
}

/** A pending moveValue: settles to the decoded value that moved, else throws. */
export class MoveRequest<T> extends PendingRequest<T> {
  constructor(
    private readonly rt: Runtime,
    private readonly what: () => string,
    private readonly codec: Codec<T> | undefined,
  ) {
    super();
  }

  get description(): string {
    return this.what();
  }

  settle(status: number, value: Buffer | undefined, detail: string | undefined): T {
    if (status !== ErrorCode.DBR_SUCCESS) throw this.rt.error(status, this.what, detail);
    return decode(value ?? EMPTY, this.codec);
  }
}

/** A selector as error messages name it. */
export function describe(selector: TupleSelector): string {
  return typeof selector === 'string' ? `"${selector}"` : `template "${selector.template}"`;
}

/** The value as the caller asked for it: decoded by the codec, or the bytes. */
export function decode<T>(bytes: Buffer, codec: Codec<T> | undefined): T {
  return codec ? codec.decode(bytes) : (bytes as T);
}
