import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamespaceSummary, Overview, SessionInfo } from '../src/index.js';
import { type Fixture, fixture } from './support/fixture.js';

describe('overview, health and session', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
    await f.ns.put('a', 'hello');
    await f.ns.put('a', 'world');
    await f.ns.put('b', Buffer.alloc(100));
  });
  afterAll(() => f.close());

  it('GET /health answers ok with the backend', async () => {
    const r = await f.get<{ status: string; backend: string }>('/health');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'ok', backend: 'mem' });
  });

  it('GET /api/session says read-only and open on loopback without a token', async () => {
    const r = await f.get<SessionInfo>('/api/session');
    expect(r.body).toMatchObject({ write: false, authRequired: false, authenticated: true, csrfToken: null, backend: 'mem' });
  });

  it('GET /api/overview lists the namespace with its counts and totals', async () => {
    const r = await f.get<Overview>('/api/overview');
    expect(r.status).toBe(200);
    expect(r.body.backend).toBe('mem');
    expect(r.body.scope).toBe('process');
    const mine = r.body.namespaces.find((n) => n.name === f.ns.name);
    expect(mine).toMatchObject({ names: 2, values: 3, bytes: 110, attached: 1 });
    expect(r.body.totals.values).toBeGreaterThanOrEqual(3);
  });

  it('GET /api/namespaces/:ns reports one namespace and 404s a missing one', async () => {
    const r = await f.get<NamespaceSummary>(`/api/namespaces/${encodeURIComponent(f.ns.name)}`);
    expect(r.body).toMatchObject({ name: f.ns.name, names: 2, values: 3 });
    const missing = await f.get<{ error: { code: string; message: string } }>('/api/namespaces/no-such-namespace');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NAMESPACE_NOT_FOUND');
    expect(missing.body.error.message).toMatch(/does not exist/);
  });

  it('namespace names with slashes and spaces work in paths', async () => {
    const odd = await f.broker.create('team a/run #1');
    await odd.put('x', '1');
    const r = await f.get<NamespaceSummary>(`/api/namespaces/${encodeURIComponent('team a/run #1')}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'team a/run #1', names: 1 });
    await odd.close();
  });

  it('unknown API routes are JSON 404s naming the docs', async () => {
    const r = await f.get<{ error: { code: string; message: string } }>('/api/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/API\.md/);
  });
});
