import { describe, expect, it } from 'vitest';
import { json } from '../src/index.js';
import { withNamespace } from './support/broker.js';

describe('putMany', () => {
  it('stores every value in order under its name: UTF-8 names, empty and binary values', async () => {
    await withNamespace(async (ns) => {
      const names = ['plain', 'é-accent', '数据', 'emoji-🚀', 'x'.repeat(1023)];
      const entries: [string, Buffer][] = [];
      for (let round = 0; round < 3; round++) for (const n of names) entries.push([n, Buffer.from([round, 0, 255, n.length % 256])]);
      entries.push(['empty', Buffer.alloc(0)]);
      await ns.putMany(entries);
      for (const n of names) {
        expect(await ns.count(n)).toBe(3);
        for (let round = 0; round < 3; round++) expect(await ns.get(n, { timeout: 0 })).toEqual(Buffer.from([round, 0, 255, n.length % 256]));
      }
      expect(await ns.get('empty', { timeout: 0 })).toEqual(Buffer.alloc(0));
    });
  });

  it('encodes with a codec, and stores nothing when a name is invalid', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany([['a', { n: 1 }], ['b', { n: 2 }]], { codec: json() });
      expect(await ns.get('b', { timeout: 0, codec: json<{ n: number }>() })).toEqual({ n: 2 });
      await expect(ns.putMany([['ok', 'v'], ['bad\nname', 'v']])).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      expect(await ns.count('ok')).toBe(0);
    });
  });
});
