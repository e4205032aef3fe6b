import { describe, expect, it } from 'vitest';
import { dbr } from '../src/index.js';
import { uniqueName, withNamespace } from './support/broker.js';

describe('large values', () => {
  it('round-trips values larger than the scratch buffer', async () => {
    await withNamespace(async (ns) => {
      for (const size of [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1 << 20, 16 << 20]) {
        const value = Buffer.alloc(size, size % 251);
        value[size - 1] = 7;
        await ns.put('big', value);
        expect(Buffer.compare(await ns.read('big'), value)).toBe(0);
        expect(Buffer.compare(await ns.get('big'), value)).toBe(0);
      }
    });
  });

  it('many values of mixed sizes in flight at once arrive intact (replies of every size share the reads)', async () => {
    await withNamespace(async (ns) => {
      // sizes around the reply reader's 4 KiB feeding pieces and the 256 KiB read buffer, among tiny ones
      const sizes = [1, 100, 4095, 4096, 4097, 8191, 9000, 65537, 300_000];
      const values = Array.from({ length: 450 }, (_, i) => {
        const v = Buffer.alloc(sizes[i % sizes.length] as number, i % 251);
        if (v.length >= 4) v.writeUInt32LE(i, v.length - 4); // each value its own
        return v;
      });
      await ns.putMany(values.map((v, i) => [`v${i}`, v] as const));
      const read = await Promise.all(values.map((_, i) => ns.read(`v${i}`)));
      const got = await Promise.all(values.map((_, i) => ns.get(`v${i}`)));
      for (const [i, v] of values.entries()) {
        expect(Buffer.compare(read[i] as Buffer, v), `read v${i}`).toBe(0);
        expect(Buffer.compare(got[i] as Buffer, v), `get v${i}`).toBe(0);
      }
    });
  });

  it('a get into a too-small buffer keeps the value and reports the size', async () => {
    const name = uniqueName();
    const h = dbr.create(name, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
    dbr.put(h, 'x'.repeat(1000), 'big', dbr.DBR_GROUP_EMPTY);
    const [small, status] = await dbr.get(h, 'big', '', dbr.DBR_GROUP_EMPTY, dbr.DBR_FLAGS_NONE, 10);
    expect(status).toBe(dbr.DBR_ERR_UBUFFER);
    expect(small.length).toBe(0);
    const [value, ok] = await dbr.get(h, 'big', '', dbr.DBR_GROUP_EMPTY, dbr.DBR_FLAGS_NONE, 1000);
    expect(ok).toBe(dbr.DBR_SUCCESS);
    expect(value.toString()).toBe('x'.repeat(1000));
    dbr.detach(h);
    dbr.delete(name);
  });

  it('DBR_FLAGS_PARTIAL returns the first bytes', async () => {
    const name = uniqueName();
    const h = dbr.create(name, 0, null);
    dbr.put(h, 'abcdefghij', 'p', null);
    const [, status] = await dbr.read(h, 'p', '', null, dbr.DBR_FLAGS_PARTIAL, 4);
    expect(status).toBe(dbr.DBR_ERR_UBUFFER);
    const [full] = await dbr.read(h, 'p', '', null, dbr.DBR_FLAGS_NONE);
    expect(full.toString()).toBe('abcdefghij');
    dbr.detach(h);
    dbr.delete(name);
  });
});

describe('peek', () => {
  it('previews the first bytes of a large value with its full size, without consuming it', async () => {
    await withNamespace(async (ns) => {
      const big = Buffer.alloc(16 << 20, 0x61);
      await ns.put('big', big);
      await ns.put('big', 'second');
      const head = await ns.peek('big', { maxBytes: 4096 });
      expect(head?.size).toBe(16 << 20);
      expect(head?.bytes.length).toBe(4096);
      expect(head?.bytes.every((b) => b === 0x61)).toBe(true);
      const second = await ns.peek('big', { index: 1 });
      expect(second).toMatchObject({ size: 6 });
      expect(second?.bytes.toString()).toBe('second');
      expect(await ns.count('big')).toBe(2);
      expect(await ns.peek('missing')).toBeUndefined();
      expect((await ns.peek('big', { maxBytes: 0 }))?.size).toBe(16 << 20);
      // many at once (a dashboard page) stay within the native call pool
      const many = await Promise.all(Array.from({ length: 300 }, () => ns.peek('big', { index: 1, maxBytes: 16 })));
      expect(many.every((p) => p?.bytes.toString() === 'second')).toBe(true);
    });
  });
});
