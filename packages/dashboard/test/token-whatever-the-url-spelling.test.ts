/**
 * With a token, the API and /metrics need it for the route a request reaches, however its URL is spelled:
 * percent-encoded letters (`/%61pi/...`) and absolute-form request targets (`GET http://x/api/...`) reach
 * the same routes as `/api/...`, so they need the token too.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, fixture } from './support/fixture.js';

const TOKEN = 'spelling-test-token-0';
const SECRET = 'the secret value';

/** The status of a raw HTTP request whose request target is sent exactly as given. */
function statusOf(port: number, target: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, headers: { host: '127.0.0.1', ...headers } }, (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy(); // the event stream would never end
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the token is checked for the matched route', () => {
  let f: Fixture;
  let port: number;
  let value: string;
  beforeAll(async () => {
    f = await fixture({ token: TOKEN });
    await f.ns.put('x', SECRET);
    value = `namespaces/${encodeURIComponent(f.ns.name)}/value?name=x`;
    port = Number(new URL(await f.dashboard.listen()).port);
  });
  afterAll(() => f.close());

  it('refuses percent-encoded spellings of API and metrics paths without the token', async () => {
    for (const url of ['/%61pi/namespaces', '/%61pi/overview', `/%61pi/${value}`, '/%6detrics', '/%61%70%69/queues', '/api/%6eamespaces']) {
      const r = await f.get(url);
      expect(r.status, url).toBe(401);
      expect(r.raw, url).not.toContain(SECRET);
    }
    const head = await f.dashboard.app.inject({ method: 'HEAD', url: '/%61pi/namespaces', headers: { host: '127.0.0.1' } });
    expect(head.statusCode).toBe(401);
  });

  it('refuses the encoded event stream without the token', async () => {
    expect(await statusOf(port, '/%61pi/events')).toBe(401);
  });

  it('refuses absolute-form request targets without the token', async () => {
    for (const target of ['http://x/api/namespaces', 'http://x/metrics', `http://x/api/${value}`, 'http://x/api/events', 'http://x/%61pi/overview']) {
      expect(await statusOf(port, target), target).toBe(401);
    }
  });

  it('serves the same spellings with the token, so they do reach the data routes', async () => {
    const r = await f.get(`/%61pi/${value}`, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.raw).toContain(SECRET);
    expect(await statusOf(port, 'http://x/api/namespaces', { authorization: `Bearer ${TOKEN}` })).toBe(200);
  });

  it('answers an unknown API path 404 without data, and keeps the login routes open', async () => {
    const r = await f.get('/%61pi/nope');
    expect(r.status).toBe(404);
    expect(r.raw).not.toContain(SECRET);
    expect((await f.get('/%61pi/session')).status).toBe(200);
    expect((await f.get('/h%65alth')).status).toBe(200);
  });
});
