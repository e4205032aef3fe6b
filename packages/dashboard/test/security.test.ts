import { Broker } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createDashboard, DashboardConfigError, type SessionInfo } from '../src/index.js';
import { type Fixture, fixture } from './support/fixture.js';

const TOKEN = 'correct-horse-battery-staple';

describe('binding and tokens', () => {
  it('refuses to bind beyond loopback without a token, naming the fix', () => {
    const broker = new Broker();
    expect(() => createDashboard({ broker, host: '0.0.0.0' })).toThrow(DashboardConfigError);
    expect(() => createDashboard({ broker, host: '0.0.0.0' })).toThrow(/--token/);
  });

  it('generates a token for write mode when none is given', async () => {
    const d = createDashboard({ broker: new Broker(), port: 0, write: true });
    expect(d.options.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(d.options.tokenGenerated).toBe(true);
    const url = await d.listen();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    await d.close();
  });

  it('rejects short tokens', () => {
    expect(() => createDashboard({ broker: new Broker(), token: 'short' })).toThrow(/8 characters/);
  });
});

describe('read access with a token', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({ token: TOKEN });
  });
  afterAll(() => f.close());

  it('API and metrics need the token; health, session and the UI shell do not', async () => {
    expect((await f.get('/api/overview')).status).toBe(401);
    expect((await f.get('/metrics')).status).toBe(401);
    expect((await f.get('/api/events')).status).toBe(401);
    expect((await f.get('/health')).status).toBe(200);
    const s = await f.get<SessionInfo>('/api/session');
    expect(s.body).toMatchObject({ authRequired: true, authenticated: false, csrfToken: null });
    expect((await f.get('/api/overview', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await f.get('/api/overview', { authorization: 'Bearer wrong-token-here' })).status).toBe(401);
  });

  it('/?token= trades the token for an HttpOnly SameSite=Strict cookie and strips it from the URL', async () => {
    const r = await f.dashboard.app.inject({ url: `/?token=${TOKEN}`, headers: { host: '127.0.0.1' } });
    expect(r.statusCode).toBe(303);
    expect(r.headers.location).toBe('/');
    const cookie = String(r.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const jar = cookie.split(';')[0] as string;
    expect((await f.get('/api/overview', { cookie: jar })).status).toBe(200);
    const s = await f.get<SessionInfo>('/api/session', { cookie: jar });
    expect(s.body.authenticated).toBe(true);
    const bad = await f.dashboard.app.inject({ url: '/?token=wrong-token-123', headers: { host: '127.0.0.1' } });
    expect(bad.statusCode).toBe(401);
  });

  it('POST /api/login sets the cookie for the right token only', async () => {
    const ok = await f.dashboard.app.inject({ method: 'POST', url: '/api/login', headers: { host: '127.0.0.1' }, payload: { token: TOKEN } });
    expect(ok.statusCode).toBe(200);
    expect(String(ok.headers['set-cookie'])).toMatch(/^dbr_dashboard_0=/);
    const bad = await f.dashboard.app.inject({ method: 'POST', url: '/api/login', headers: { host: '127.0.0.1' }, payload: { token: 'nope-nope-nope' } });
    expect(bad.statusCode).toBe(401);
  });
});

describe('write actions', () => {
  let ro: Fixture;
  let rw: Fixture;
  let cookie: string;
  let csrf: string;
  beforeAll(async () => {
    ro = await fixture();
    rw = await fixture({ broker: ro.broker, token: TOKEN, write: true });
    const login = await rw.dashboard.app.inject({ url: `/?token=${TOKEN}`, headers: { host: '127.0.0.1' } });
    cookie = String(login.headers['set-cookie']).split(';')[0] as string;
    csrf = (await rw.get<SessionInfo>('/api/session', { cookie })).body.csrfToken as string;
  });
  afterAll(async () => {
    await rw.dashboard.close();
    await ro.close();
  });

  const del = (f: Fixture, name: string, headers: Record<string, string>) =>
    f.dashboard.app.inject({ method: 'DELETE', url: `/api/namespaces/${encodeURIComponent(ro.ns.name)}/tuples?name=${encodeURIComponent(name)}`, headers: { host: '127.0.0.1', ...headers } });

  it('a read-only dashboard refuses writes and says how to enable them', async () => {
    await ro.ns.put('victim', 'v');
    const r = await del(ro, 'victim', {});
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toMatchObject({ code: 'READ_ONLY' });
    expect(r.json().error.message).toMatch(/--write/);
    expect(await ro.ns.has('victim')).toBe(true);
  });

  it('write mode needs the token', async () => {
    const r = await del(rw, 'victim', {});
    expect(r.statusCode).toBe(401);
  });

  it('a cookie session needs the CSRF header, and only from the same origin', async () => {
    expect((await del(rw, 'victim', { cookie })).statusCode).toBe(403);
    expect((await del(rw, 'victim', { cookie, 'x-csrf-token': 'forged' })).statusCode).toBe(403);
    expect((await del(rw, 'victim', { cookie, 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await del(rw, 'victim', { cookie, 'x-csrf-token': csrf, origin: 'http://evil.example' })).statusCode).toBe(403);
    expect(await ro.ns.has('victim')).toBe(true);
    const ok = await del(rw, 'victim', { cookie, 'x-csrf-token': csrf, origin: 'http://127.0.0.1', 'sec-fetch-site': 'same-origin' });
    expect(ok.statusCode).toBe(200);
    expect(await ro.ns.has('victim')).toBe(false);
  });

  it('a Bearer token may write without CSRF (no ambient credentials)', async () => {
    await ro.ns.put('victim2', 'v');
    const r = await del(rw, 'victim2', { authorization: `Bearer ${TOKEN}` });
    expect(r.statusCode).toBe(200);
    expect(await ro.ns.has('victim2')).toBe(false);
    expect((await del(rw, 'victim2', { authorization: `Bearer ${TOKEN}` })).statusCode).toBe(404);
  });
});

describe('headers and DNS rebinding', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => f.close());

  it('every response carries the strict CSP and hardening headers, errors too', async () => {
    for (const url of ['/', '/api/overview', '/api/nope', '/health']) {
      const r = await f.get(url);
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("style-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("require-trusted-types-for 'script'");
  });

  it('refuses a foreign Host header on loopback (DNS rebinding)', async () => {
    const r = await f.get('/api/overview', { host: 'attacker.example:8642' });
    expect(r.status).toBe(421);
    expect((await f.get('/api/overview', { host: 'localhost:8642' })).status).toBe(200);
    expect((await f.get('/api/overview', { host: '[::1]:8642' })).status).toBe(200);
  });
});
