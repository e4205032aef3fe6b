import { describe, expect, it } from 'vitest';
import { withNamespace } from './support/broker.js';

describe('put and get', () => {
  it('gets values under one name in FIFO order, each once', async () => {
    await withNamespace(async (ns) => {
      for (let i = 0; i < 100; i++) await ns.put('q', `v${i}`);
      expect(await ns.count('q')).toBe(100);
      for (let i = 0; i < 100; i++) expect((await ns.get('q')).toString()).toBe(`v${i}`);
      expect(await ns.has('q')).toBe(false);
      await expect(ns.get('q', { timeout: 0 })).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
    });
  });

  it('read copies without consuming', async () => {
    await withNamespace(async (ns) => {
      await ns.put('a', 'first');
      await ns.put('a', 'second');
      expect((await ns.read('a')).toString()).toBe('first');
      expect((await ns.read('a')).toString()).toBe('first');
      expect((await ns.read('a', { index: 1 })).toString()).toBe('second');
      await expect(ns.read('a', { index: 2, timeout: 0 })).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
      expect(await ns.count('a')).toBe(2);
    });
  });

  it('stores empty values and binary bytes exactly', async () => {
    await withNamespace(async (ns) => {
      const bytes = Buffer.from([0, 1, 2, 255, 0, 128]);
      await ns.put('bin', bytes);
      await ns.put('empty', new Uint8Array(0));
      expect(Buffer.compare(await ns.get('bin'), bytes)).toBe(0);
      expect((await ns.get('empty')).length).toBe(0);
    });
  });

  it('stores typed arrays as their bytes', async () => {
    await withNamespace(async (ns) => {
      const arr = new Float64Array([1.5, -2.25, Math.PI]);
      await ns.put('arr', arr);
      const back = await ns.get('arr');
      expect(Array.from(new Float64Array(back.buffer, back.byteOffset, back.length / 8))).toEqual(Array.from(arr));
    });
  });

  it('tryRead copies the value at an index if there is one, else returns undefined', async () => {
    await withNamespace(async (ns) => {
      expect(await ns.tryRead('none')).toBeUndefined();
      await ns.put('two', 'a');
      await ns.put('two', 'b');
      expect((await ns.tryRead('two', { index: 1 }))?.toString()).toBe('b');
      expect(await ns.tryRead('two', { index: 2 })).toBeUndefined();
      expect(await ns.count('two')).toBe(2);
    });
  });

  it('tryGet returns undefined when nothing is there', async () => {
    await withNamespace(async (ns) => {
      expect(await ns.tryGet('none')).toBeUndefined();
      await ns.put('one', 'x');
      expect((await ns.tryGet('one'))?.toString()).toBe('x');
    });
  });

  it('putMany stores a batch in order', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany([
        ['a', '1'],
        ['b', '2'],
        ['a', '3'],
      ]);
      expect((await ns.get('a')).toString()).toBe('1');
      expect((await ns.get('a')).toString()).toBe('3');
      expect((await ns.get('b')).toString()).toBe('2');
      await ns.putMany([]);
    });
  });

  it('putIfAbsent stores only when the name holds no value', async () => {
    await withNamespace(async (ns) => {
      expect(await ns.putIfAbsent('dedup:a', 'first')).toBe(true);
      expect(await ns.putIfAbsent('dedup:a', 'second')).toBe(false);
      expect(await ns.count('dedup:a')).toBe(1);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => ns.putIfAbsent('dedup:race', String(i))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await ns.get('dedup:a')).toString()).toBe('first');
      expect(await ns.putIfAbsent('dedup:a', 'again')).toBe(true);
    });
  });

  it('many concurrent consumers each get a distinct value', async () => {
    await withNamespace(async (ns) => {
      const n = 200;
      const gets = Array.from({ length: n }, () => ns.get('work', { timeout: 10_000 }));
      for (let i = 0; i < n; i++) await ns.put('work', String(i));
      const values = (await Promise.all(gets)).map((b) => Number(b.toString()));
      expect(new Set(values).size).toBe(n);
    });
  });
});
