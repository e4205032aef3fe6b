/**
 * Repeating a step whose failure would strand a task: finishing an execution, requeuing it, emptying its slot.
 * A worker that gave up on such a step would keep the task leased in its slot for as long as it lives (its
 * lease stays fresh, so nobody recovers it). So the step is repeated, with capped exponential backoff, until
 * it succeeds or the worker gives up for good at shutdown; then its lease lapses and any live worker recovers
 * what it held. Only steps that are safe to repeat go through here (see finishSlot).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { serializeError } from './errors.js';

/** Runs a step again after a failure. */
export type Retry = <T>(step: () => Promise<T>) => Promise<T>;

/** Runs a step once: a failure is left for the next pass of the caller (recovery, promotion) to resume. */
export const once: Retry = (step) => step();

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 5_000;
/** After the first failure, one log line every this many attempts (one about every 50 s at the cap). */
const LOG_EVERY = 10;

/** A Retry that repeats a failed step until it succeeds or `giveUp` aborts. */
export function persistently(what: string, giveUp: AbortSignal, log: Logger): Retry {
  return async (step) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (err) {
        if (giveUp.aborted) throw err;
        const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1));
        if (attempt === 1 || attempt % LOG_EVERY === 0) log.warn({ err: serializeError(err), attempt, retryInMs: delayMs }, `${what} failed; trying again`);
        const stopped = await sleep(delayMs, false, { signal: giveUp }).catch(() => true);
        if (stopped) throw err;
      }
    }
  };
}
