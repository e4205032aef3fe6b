/**
 * Requests the router or the tuple space cannot take answer 400 in the API's error shape, with the security
 * headers, and the same way on every route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/index.js';
import { type Fixture, fixture } from './support/fixture.js';

describe('malformed requests', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });
  afterAll(() => f.close());

  it('a malformed percent-escape in the path is a 400 in the API shape, with the security headers', async () => {
    const r = await f.get<{ error: { code: string; message: string } }>('/api/namespaces/%ff');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_URL');
    expect(r.body.error.message).toMatch(/percent-escape.*encodeURIComponent/);
    expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers['x-frame-options']).toBe('DENY');
  });

  it('an invalid tuple name is a 400 on /tuple as on /value', async () => {
    const base = `/api/namespaces/${encodeURIComponent(f.ns.name)}`;
    const value = await f.get<{ error: { code: string } }>(`${base}/value?name=a%00b`);
    expect(value.status).toBe(400);
    const tuple = await f.get<{ error: { code: string } }>(`${base}/tuple?name=a%00b`);
    expect(tuple.status).toBe(400);
    expect(tuple.body.error.code).toBe(value.body.error.code);
  });
});
