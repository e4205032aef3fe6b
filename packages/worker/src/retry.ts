/**
 * Retry delays: exponential backoff with jitter (or a fixed delay).
 * @module
 */
import { ConfigError, type Duration, parseDuration } from '@tsdbr/core';

/** How long to wait before a retry. */
export interface BackoffOptions {
  /** 'exponential' (default): delay * 2^(attempt-1); 'fixed': always delay. */
  type?: 'exponential' | 'fixed';
  /** The first retry's delay (default 1s). */
  delay?: Duration;
  /** The longest delay (default 5m). */
  max?: Duration;
  /** Fraction of each delay that is random, 0..1 (default 0.5): the delay is drawn from [d*(1-jitter), d]. */
  jitter?: number;
}

/** BackoffOptions with defaults applied, in milliseconds. */
export interface CompiledBackoff {
  type: 'exponential' | 'fixed';
  delayMs: number;
  maxMs: number;
  jitter: number;
}

/** Applies defaults and validates. */
export function compileBackoff(options: BackoffOptions | Duration | undefined, what: string): CompiledBackoff {
  if (options === null) throw new ConfigError(`${what}: backoff must be a duration such as '2s' or an options object { type, delay, max, jitter } (or left out), got null.`);
  const o: BackoffOptions = typeof options === 'object' ? options : options === undefined ? {} : { delay: options };
  const type = o.type ?? 'exponential';
  if (type !== 'exponential' && type !== 'fixed') throw new ConfigError(`${what}: backoff.type must be 'exponential' or 'fixed', got ${JSON.stringify(type)}; for a growing delay use 'exponential' (with max to cap it).`);
  const jitter = o.jitter ?? 0.5;
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`${what}: backoff.jitter must be between 0 and 1, got ${jitter}.`);
  return {
    type,
    delayMs: parseDuration(o.delay ?? '1s', `${what}: backoff.delay`),
    maxMs: parseDuration(o.max ?? '5m', `${what}: backoff.max`),
    jitter,
  };
}

/** The delay (ms) before attempt `nextAttempt` (2 for the first retry). */
export function backoffDelay(b: CompiledBackoff, nextAttempt: number, random: () => number = Math.random): number {
  const n = Math.max(1, nextAttempt - 1);
  const base = b.type === 'fixed' ? b.delayMs : b.delayMs * 2 ** Math.min(n - 1, 40);
  const capped = Math.min(b.maxMs, base);
  return Math.max(0, Math.round(capped * (1 - b.jitter * random())));
}
