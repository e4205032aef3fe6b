/**
 * Who may do what. The rules:
 * - Without a token (loopback, read-only) every local client may read.
 * - With a token, the API, the event stream and /metrics need it: `Authorization: Bearer <token>`, or the
 *   session cookie set by opening `/?token=<token>` (or `POST /api/login`).
 * - Write routes need write mode, the token, and with the cookie also the CSRF header (`x-csrf-token`, from
 *   `GET /api/session`) and a same-origin request.
 * - Wrong tokens (in the URL, the login form or a Bearer header) are limited per client address.
 * - On loopback the Host header must name a loopback host (no DNS rebinding).
 * - Every response carries a strict Content-Security-Policy (no inline scripts or styles, Trusted Types).
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DashboardHttpError } from '../errors.js';
import { isLoopback } from '../options.js';
import { TokenGuessLimiter } from './token-guess-limiter.js';

/** The Content-Security-Policy of every response. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers set on every response. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/** How a request proved it knows the token. */
export type AuthVia = 'none' | 'bearer' | 'cookie';

/** The security state of one dashboard. */
export class Security {
  private port: number;
  private readonly sessionValue: string | undefined;
  private readonly csrfValue: string | undefined;
  private readonly guesses = new TokenGuessLimiter();
  /** How each request authenticated, so that a wrong Bearer token counts once per request. */
  private readonly authByRequest = new WeakMap<FastifyRequest, AuthVia>();

  constructor(
    readonly token: string | undefined,
    readonly write: boolean,
    private readonly loopbackOnly: boolean,
    port: number,
  ) {
    this.port = port;
    this.sessionValue = token === undefined ? undefined : hmac(token, 'tsdbr-dashboard-session');
    this.csrfValue = token === undefined ? undefined : hmac(token, 'tsdbr-dashboard-csrf');
  }

  /** A token protects the dashboard. */
  get authRequired(): boolean {
    return this.token !== undefined;
  }

  /** Name of the session cookie (per port: cookies do not tell ports apart). */
  get cookieName(): string {
    return `dbr_dashboard_${this.port}`;
  }

  /** Sets the port once it is known (after binding port 0). */
  setPort(port: number): void {
    this.port = port;
  }

  /** How the request authenticated ('none' if it did not, or no token is set). */
  authOf(req: FastifyRequest): AuthVia {
    let via = this.authByRequest.get(req);
    if (via === undefined) {
      via = this.authenticate(req);
      this.authByRequest.set(req, via);
    }
    return via;
  }

  private authenticate(req: FastifyRequest): AuthVia {
    if (this.token === undefined) return 'none';
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Bearer ') && this.checkToken(auth.slice(7).trim(), req.ip)) return 'bearer';
    const cookie = parseCookies(req.headers.cookie)[this.cookieName];
    if (cookie !== undefined && this.sessionValue !== undefined && safeEqual(cookie, this.sessionValue)) return 'cookie';
    return 'none';
  }

  /** True if the request may read (no token set, or it carries it). */
  mayRead(req: FastifyRequest): boolean {
    return this.token === undefined || this.authOf(req) !== 'none';
  }

  /** The CSRF token for an authenticated request, else null. */
  csrfFor(req: FastifyRequest): string | null {
    return this.csrfValue !== undefined && this.authOf(req) !== 'none' ? this.csrfValue : null;
  }

  /** True if `candidate` is the token; throws 429 while `client` (an address) is locked out for wrong tokens. */
  checkToken(candidate: string, client: string): boolean {
    if (this.token === undefined) return false;
    this.guesses.check(client);
    const ok = safeEqual(candidate, this.token);
    if (!ok) this.guesses.recordFailure(client);
    return ok;
  }

  /** The Set-Cookie value that starts a browser session. */
  sessionCookie(): string {
    return `${this.cookieName}=${this.sessionValue ?? ''}; Path=/; HttpOnly; SameSite=Strict`;
  }

  /** Rejects requests whose Host header is not a loopback name while bound to loopback (DNS rebinding). */
  checkHost(req: FastifyRequest): void {
    if (!this.loopbackOnly) return;
    const host = hostnameOf(req.headers.host);
    if (host === undefined || !isLoopback(host)) {
      throw new DashboardHttpError(421, 'BAD_HOST', `Host "${String(req.headers.host)}" is not this dashboard's loopback address: open it as http://127.0.0.1:<port>/ (or localhost).`);
    }
  }

  /** Throws 401 unless the request may read. */
  requireRead(req: FastifyRequest): void {
    if (!this.mayRead(req)) {
      throw new DashboardHttpError(401, 'UNAUTHORIZED', 'This dashboard needs its token: open /?token=<token>, or send "Authorization: Bearer <token>".');
    }
  }

  /** Throws unless a write may happen: write mode, the token, and with the cookie a CSRF header from this origin. */
  requireWrite(req: FastifyRequest): void {
    if (!this.write) {
      throw new DashboardHttpError(403, 'READ_ONLY', 'The dashboard is read-only: restart it with --write (and a token) to retry, cancel, delete or purge.');
    }
    const via = this.authOf(req);
    if (via === 'none') {
      throw new DashboardHttpError(401, 'UNAUTHORIZED', 'Write actions need the token: open /?token=<token> in the browser, or send "Authorization: Bearer <token>".');
    }
    if (via === 'cookie') {
      const site = req.headers['sec-fetch-site'];
      if (site !== undefined && site !== 'same-origin') {
        throw new DashboardHttpError(403, 'CSRF', 'Cross-site write refused: write actions must come from the dashboard page itself.');
      }
      const origin = req.headers.origin;
      if (origin !== undefined && hostOfUrl(origin) !== String(req.headers.host ?? '').toLowerCase()) {
        throw new DashboardHttpError(403, 'CSRF', `Write from origin ${origin} refused: write actions must come from the dashboard page itself.`);
      }
      const csrf = req.headers['x-csrf-token'];
      if (typeof csrf !== 'string' || this.csrfValue === undefined || !safeEqual(csrf, this.csrfValue)) {
        throw new DashboardHttpError(403, 'CSRF', 'Missing or wrong x-csrf-token header: read csrfToken from GET /api/session and send it with write requests.');
      }
    }
  }
}

/** Adds the security headers to a reply. */
export function applySecurityHeaders(reply: FastifyReply): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
}

function hmac(key: string, what: string): string {
  return createHmac('sha256', key).update(what).digest('base64url');
}

/** Key of the digests that safeEqual compares, new in every process. */
const COMPARE_KEY = randomBytes(32);

/** Equality in time independent of the inputs, their lengths included: it compares fixed-length HMACs. */
function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHmac('sha256', COMPARE_KEY).update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Cookies of a Cookie header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? undefined : host.slice(1, end);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return undefined;
  }
}
