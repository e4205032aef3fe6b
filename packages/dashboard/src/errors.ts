/**
 * Errors of @tsdbr/dashboard. Each message names the problem and the fix. `instanceof` works across
 * duplicated module copies (a registered symbol marks instances), as in @tsdbr/core.
 * @module
 */

const CONFIG = Symbol.for('tsdbr.DashboardConfigError');
const HTTP = Symbol.for('tsdbr.DashboardHttpError');

function marked(value: unknown, mark: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[mark] === true;
}

/** Invalid dashboard options (an unsafe bind address without a token, a bad port, a schema module that does not load). */
export class DashboardConfigError extends Error {
  /** Set when the address asked for is taken by another listener: a conflict rather than a mistake. */
  readonly inUse: boolean;

  constructor(message: string, options: { inUse?: boolean } = {}) {
    super(message);
    this.inUse = options.inUse === true;
    this.name = 'DashboardConfigError';
    Object.defineProperty(this, CONFIG, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return marked(value, CONFIG);
  }
}

/**
 * An error the JSON API answers with: an HTTP status, a stable machine-readable `code` and a message that
 * says what to do. The body is `{ "error": { "code", "message" } }`.
 */
export class DashboardHttpError extends Error {
  /** HTTP status code. */
  readonly statusCode: number;
  /** Stable code, e.g. `READ_ONLY`, `UNAUTHORIZED`, `NOT_FOUND`. */
  readonly code: string;
  /** Response headers that go with the error, e.g. `retry-after`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, code: string, message: string, options: { headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'DashboardHttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.headers = options.headers ?? {};
    Object.defineProperty(this, HTTP, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return marked(value, HTTP);
  }
}
