/**
 * Checks of user-supplied values shared by defineTask, TaskClient, Worker and workflow(): each throws a
 * ConfigError whose message names the value, what was wrong and what to write instead.
 * @module
 */
import { ConfigError, type Duration, parseDuration } from '@tsdbr/core';

/** The longest delay a Node timer can hold (2^31-1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** Priorities allowed: integers from -PRIORITY_LIMIT to PRIORITY_LIMIT. */
export const PRIORITY_LIMIT = 1_000_000;
/** How far ahead a task may be scheduled (delay or runAt): one year. */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  return Array.isArray(value) ? 'an array' : typeof value;
}

/** An options object: undefined gives {}; anything but a plain object (null, a string, an array) is rejected. */
export function optionsObject<T extends object>(value: T | undefined | null, what: string): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${what} must be an options object (or left out), got ${describe(value)}.`);
  return value;
}

/**
 * A duration that arms a timer: finite, at least `minMs`, and at most MAX_TIMER_MS (Node turns longer
 * delays into 1 ms ones). `infiniteOk` lets 'infinite' (Infinity) through for "no timer at all".
 */
export function timerDuration(value: Duration, what: string, options: { minMs?: number; infiniteOk?: boolean } = {}): number {
  const ms = parseDuration(value, what);
  if (ms === Infinity && options.infiniteOk === true) return ms;
  const min = options.minMs ?? 0;
  if (Number.isNaN(ms) || ms < min || ms > MAX_TIMER_MS) {
    const none = options.infiniteOk === true ? ", or 'infinite' for none" : '';
    throw new ConfigError(`${what} must be between ${min} ms and ${MAX_TIMER_MS} ms (about 24.8 days, the longest Node timer)${none}; got ${describe(value)}.`);
  }
  return ms;
}

/** A priority: an integer from -PRIORITY_LIMIT to PRIORITY_LIMIT (> 0 runs before 0, < 0 after). */
export function checkPriority(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > PRIORITY_LIMIT) {
    throw new ConfigError(`${what} must be an integer from -${PRIORITY_LIMIT} to ${PRIORITY_LIMIT} (> 0 runs before 0, < 0 after), got ${describe(value)}.`);
  }
  return value;
}

/** A due time (runAt, or now + delay) not further ahead than MAX_SCHEDULE_AHEAD_MS. */
export function checkHorizon(due: number, now: number, what: string): number {
  if (due - now > MAX_SCHEDULE_AHEAD_MS) {
    throw new ConfigError(`${what} is more than a year ahead (${describe(due - now)} ms); such a task would sit in the queue for good: schedule it nearer (or submit it later).`);
  }
  return due;
}

/** runAt as epoch ms: a valid Date or a finite number of epoch milliseconds. */
export function runAtMs(value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(ms)) {
    const hint = typeof value === 'string' ? ` (for a date string, pass new Date(${JSON.stringify(value)}))` : '';
    throw new ConfigError(`runAt must be a valid Date or epoch milliseconds, got ${describe(value)}${hint}.`);
  }
  return ms;
}
