import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NamePage } from '../src/index.js';
import { type Fixture, fixture } from './support/fixture.js';

const MILLION = 1_000_000;

describe('namespace browser: server-side cursor paging', () => {
  let f: Fixture;
  let big: Fixture['ns'];
  beforeAll(async () => {
    f = await fixture();
    for (let i = 0; i < 25; i++) await f.ns.put(`item:${String(i).padStart(2, '0')}`, `v${i}`);
    await f.ns.put('other:1', 'x');
    await f.ns.put('item:00', 'second value');
    big = await f.broker.create(`${f.ns.name}-big`);
    const batch: [string, string][] = [];
    for (let i = 0; i < MILLION; i++) {
      batch.push([`n${i}`, 'v']);
      if (batch.length === 100_000) {
        await big.putMany(batch);
        batch.length = 0;
      }
    }
  }, 120_000);
  afterAll(() => f.close());

  const url = (ns: string, q: Record<string, string | number>) =>
    `/api/namespaces/${encodeURIComponent(ns)}/names?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]))}`;

  it('walks every name exactly once, a page at a time, with counts and head sizes', async () => {
    const seen: string[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const r = await f.get<NamePage>(url(f.ns.name, { limit: 10, ...(cursor ? { cursor } : {}) }));
      expect(r.status).toBe(200);
      expect(r.body.names.length).toBeLessThanOrEqual(10);
      seen.push(...r.body.names.map((n) => n.name));
      const first = r.body.names.find((n) => n.name === 'item:00');
      if (first) expect(first).toEqual({ name: 'item:00', count: 2, headBytes: 2 });
      cursor = r.body.cursor;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(26);
    expect(seen.length).toBe(26);
  });

  it('filters names with a glob', async () => {
    const r = await f.get<NamePage>(url(f.ns.name, { pattern: 'item:1*', limit: 100 }));
    expect(r.body.names.map((n) => n.name).sort()).toEqual(['item:10', 'item:11', 'item:12', 'item:13', 'item:14', 'item:15', 'item:16', 'item:17', 'item:18', 'item:19']);
    expect(r.body.cursor).toBeNull();
  });

  it('a cursor used with another pattern or after it ended is refused with 410', async () => {
    const r = await f.get<NamePage>(url(f.ns.name, { limit: 5 }));
    const wrong = await f.get<{ error: { code: string; message: string } }>(url(f.ns.name, { limit: 5, pattern: 'other*', cursor: r.body.cursor as string }));
    expect(wrong.status).toBe(410);
    expect(wrong.body.error.message).toMatch(/start again from the first page/);
  });

  it('rejects bad parameters with a 400 that names them', async () => {
    const r = await f.get<{ error: { code: string; message: string } }>(url(f.ns.name, { limit: 100000 }));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/limit/);
  });

  it('pages through a namespace of 1,000,000 names without listing it whole', async () => {
    const first = await f.get<NamePage>(url(big.name, { limit: 50 }));
    expect(first.body.names).toHaveLength(50);
    expect(first.body.names[0]?.count).toBe(1);
    // walk far into the namespace with big pages, then keep paging with small ones: every page answers
    let cursor = first.body.cursor as string;
    let total = 50;
    for (let i = 0; i < 200; i++) {
      const r = await f.get<NamePage>(url(big.name, { limit: 1000, cursor }));
      total += r.body.names.length;
      cursor = r.body.cursor as string;
    }
    const late = await f.get<NamePage>(url(big.name, { limit: 50, cursor }));
    expect(late.status).toBe(200);
    expect(late.body.names).toHaveLength(50);
    expect(total).toBe(200_050);
    const info = await f.get<{ names: number }>(`/api/namespaces/${big.name}`);
    expect(info.body.names).toBe(MILLION);
  });
});
