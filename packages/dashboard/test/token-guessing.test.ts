/**
 * Guessing the token is slowed down: after MAX_WRONG_TOKENS wrong tokens from one address within a minute
 * (login form, `/?token=` or a Bearer header), that address gets 429 with Retry-After, right token or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardHttpError } from '../src/index.js';
import { MAX_WRONG_TOKENS, TokenGuessLimiter, WRONG_TOKEN_WINDOW_MS } from '../src/server/token-guess-limiter.js';
import { type Fixture, fixture } from './support/fixture.js';

const TOKEN = 'guess-me-if-you-can-42';

describe('wrong tokens per client address', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({ token: TOKEN });
  });
  afterAll(() => f.close());

  const login = (token: string, remoteAddress: string) =>
    f.dashboard.app.inject({ method: 'POST', url: '/api/login', remoteAddress, headers: { host: '127.0.0.1' }, payload: { token } });
  const withBearer = (url: string, token: string, remoteAddress: string) =>
    f.dashboard.app.inject({ url, remoteAddress, headers: { host: '127.0.0.1', authorization: `Bearer ${token}` } });

  it('locks out an address after too many wrong logins, with Retry-After, and only that address', async () => {
    for (let i = 0; i < MAX_WRONG_TOKENS; i++) expect((await login(`wrong-token-${i}`, '10.0.0.1')).statusCode).toBe(401);
    const locked = await login('wrong-token-x', '10.0.0.1');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('TOO_MANY_WRONG_TOKENS');
    expect(locked.json().error.message).toMatch(/wait \d+ s/);
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WRONG_TOKEN_WINDOW_MS / 1000);
    // the right token does not get through the lock-out either: it would confirm a guess
    expect((await login(TOKEN, '10.0.0.1')).statusCode).toBe(429);
    expect((await f.dashboard.app.inject({ url: `/?token=${TOKEN}`, remoteAddress: '10.0.0.1', headers: { host: '127.0.0.1' } })).statusCode).toBe(429);
    expect((await login(TOKEN, '10.0.0.2')).statusCode).toBe(200);
  });

  it('counts wrong Bearer tokens too, once per request', async () => {
    // /api/session looks at the credentials twice (authenticated, csrfToken): still one wrong token
    for (let i = 0; i < MAX_WRONG_TOKENS; i++) expect((await withBearer('/api/session', 'wrong-bearer', '10.0.0.3')).statusCode).toBe(200);
    expect((await withBearer('/api/overview', TOKEN, '10.0.0.3')).statusCode).toBe(429);
    expect((await withBearer('/api/overview', TOKEN, '10.0.0.4')).statusCode).toBe(200);
  });

  it('counts wrong tokens in the URL', async () => {
    for (let i = 0; i < MAX_WRONG_TOKENS; i++) {
      expect((await f.dashboard.app.inject({ url: '/?token=wrong-url-token', remoteAddress: '10.0.0.5', headers: { host: '127.0.0.1' } })).statusCode).toBe(401);
    }
    expect((await login(TOKEN, '10.0.0.5')).statusCode).toBe(429);
  });
});

describe('TokenGuessLimiter', () => {
  it('lets an address try again once the window is over', () => {
    let now = 1_000_000;
    const limiter = new TokenGuessLimiter(() => now);
    for (let i = 0; i < MAX_WRONG_TOKENS; i++) {
      limiter.check('a');
      limiter.recordFailure('a');
    }
    expect(() => limiter.check('a')).toThrow(DashboardHttpError);
    now += WRONG_TOKEN_WINDOW_MS - 1000;
    try {
      limiter.check('a');
      expect.unreachable('still locked out');
    } catch (err) {
      expect((err as DashboardHttpError).headers['retry-after']).toBe('1');
    }
    now += 1000;
    expect(() => limiter.check('a')).not.toThrow();
  });
});
