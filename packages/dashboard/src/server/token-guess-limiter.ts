/**
 * Slows down guessing the token: once a client address has sent too many wrong tokens within a window, every
 * token it sends (right or wrong) is answered 429 until the window ends.
 * @module
 */
import { DashboardHttpError } from '../errors.js';

/** Wrong tokens allowed per client address and window. */
export const MAX_WRONG_TOKENS = 10;
/** The window, in ms. */
export const WRONG_TOKEN_WINDOW_MS = 60_000;
/** Addresses remembered at most; the oldest are forgotten first. */
const MAX_CLIENTS = 10_000;

interface Failures {
  count: number;
  since: number;
}

/** Counts wrong tokens per client address. */
export class TokenGuessLimiter {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Throws 429 with Retry-After while `client` is locked out. */
  check(client: string): void {
    const f = this.current(client);
    if (f === undefined || f.count < MAX_WRONG_TOKENS) return;
    const seconds = Math.max(1, Math.ceil((f.since + WRONG_TOKEN_WINDOW_MS - this.now()) / 1000));
    throw new DashboardHttpError(429, 'TOO_MANY_WRONG_TOKENS', `Too many wrong tokens from this address: wait ${seconds} s, then use the token the dashboard was started with.`, {
      headers: { 'retry-after': String(seconds) },
    });
  }

  /** Counts a wrong token from `client`. */
  recordFailure(client: string): void {
    const f = this.current(client);
    if (f !== undefined) {
      f.count++;
      return;
    }
    if (this.failures.size >= MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value as string);
    this.failures.set(client, { count: 1, since: this.now() });
  }

  private current(client: string): Failures | undefined {
    const f = this.failures.get(client);
    if (f !== undefined && this.now() - f.since >= WRONG_TOKEN_WINDOW_MS) {
      this.failures.delete(client);
      return undefined;
    }
    return f;
  }
}
