import { describe, expect, it } from 'vitest';
import { withNamespace } from './support/broker.js';

describe('listing names', () => {
  it('list returns matching names, with a limit', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany(Array.from({ length: 50 }, (_, i) => [`item-${i}`, 'v'] as const));
      await ns.put('other', 'v');
      const all = await ns.list('item-*');
      expect(all).toHaveLength(50);
      expect(new Set(all).size).toBe(50);
      expect(await ns.list('item-*', { limit: 7 })).toHaveLength(7);
      expect(await ns.list('nothing-*')).toEqual([]);
    });
  });

  it('list grows its buffer for many long names', async () => {
    await withNamespace(async (ns) => {
      const long = 'n'.repeat(900);
      await ns.putMany(Array.from({ length: 200 }, (_, i) => [`${long}${i}`, ''] as const));
      expect(await ns.list()).toHaveLength(200);
    });
  });

  it('keys() walks every name once, one at a time', async () => {
    await withNamespace(async (ns) => {
      const n = 3000;
      await ns.putMany(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'] as const));
      const seen = new Set<string>();
      for await (const key of ns.keys('k*')) seen.add(key);
      expect(seen.size).toBe(n);
    });
  });

  it('keys() can stop early without leaking the iterator', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'] as const));
      let count = 0;
      for await (const _ of ns.keys()) if (++count === 5) break;
      expect(count).toBe(5);
    });
  });

  it('query reports names, values and bytes', async () => {
    await withNamespace(async (ns) => {
      await ns.put('a', 'xyz');
      await ns.put('a', 'xy');
      await ns.put('b', 'x');
      const info = await ns.query();
      expect(info).toMatchObject({ names: 2, values: 3, attached: 1, deletePending: false });
      if (info.bytes >= 0) expect(info.bytes).toBe(6);
    });
  });

  it('a pattern that is not a string is refused with DBR_ERR_INVALID (never handed to C)', async () => {
    await withNamespace(async (ns) => {
      const loose = ns as unknown as { list(p: unknown): Promise<string[]>; keys(p: unknown): AsyncGenerator<string> };
      await expect(loose.list(5n)).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringMatching(/Name pattern must be a glob string, got bigint/) });
      await expect(loose.keys(5).next()).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      expect(await ns.list('')).toEqual([]);
    });
  });
});

