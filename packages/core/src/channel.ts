/**
 * Typed tuples: a channel binds one tuple name to a zod schema, validating what goes in and what comes out.
 * @module
 */
import type { output, input, ZodType } from 'zod';
import { type Codec, json } from './codecs.js';
import { SchemaError } from './errors.js';
import type { Namespace } from './namespace.js';
import type { ReadOptions, TakeOptions } from './namespace-types.js';

/** Options of a channel. */
export interface ChannelOptions {
  /** How values travel as bytes (default JSON). */
  codec?: Codec<unknown>;
}

/** Per-call options of a channel's get/read (the codec is the channel's). */
export type ChannelTakeOptions = Omit<TakeOptions, 'codec'>;

/** A tuple name whose values are validated by a zod schema in both directions. */
export class Channel<S extends ZodType> {
  private readonly codec: Codec<unknown>;

  /** @internal Use Namespace.channel(). */
  constructor(
    readonly namespace: Namespace,
    readonly name: string,
    readonly schema: S,
    options: ChannelOptions = {},
  ) {
    this.codec = options.codec ?? json();
  }

  /** Validates and appends a value. Invalid values are rejected with a SchemaError before anything is stored. */
  async put(value: input<S>): Promise<void> {
    const parsed = this.validate(value, 'put');
    await this.namespace.put(this.name, parsed, { codec: this.codec });
  }

  /** Pops the oldest value and validates it. An invalid value is consumed and reported as a SchemaError. */
  async get(options: ChannelTakeOptions = {}): Promise<output<S>> {
    return this.validate(await this.namespace.get(this.name, { ...options, codec: this.codec }), 'get');
  }

  /** Reads the oldest (or index-th) value without consuming it, and validates it. */
  async read(options: Omit<ReadOptions, 'codec'> = {}): Promise<output<S>> {
    return this.validate(await this.namespace.read(this.name, { ...options, codec: this.codec }), 'read');
  }

  private validate(value: unknown, direction: 'put' | 'get' | 'read'): output<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data as output<S>;
    throw new SchemaError(
      `${this.namespace.name}/${this.name}`,
      direction,
      result.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })),
    );
  }
}
