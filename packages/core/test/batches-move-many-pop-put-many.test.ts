import { describe, expect, it } from 'vitest';
import { withNamespace } from './support/broker.js';

// Names share the {q} hash tag so the same test runs on a Redis Cluster.
describe('batches: moveMany and popPutMany', () => {
  it('moveMany fills destinations from the first source that holds values, in order', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany([
        ['p{q}:lo', 'lo'],
        ['p{q}', 'n1'],
        ['p{q}', 'n2'],
        ['p{q}:hi', 'hi'],
      ]);
      const slots = Array.from({ length: 6 }, (_, i) => `s{q}:${i}`);
      const moved = await ns.moveMany(['p{q}:hi', 'p{q}', 'p{q}:lo'], slots);
      expect(moved.map(String)).toEqual(['hi', 'n1', 'n2', 'lo']);
      expect(await Promise.all(slots.map((s) => ns.count(s)))).toEqual([1, 1, 1, 1, 0, 0]);
      expect((await ns.read('s{q}:1')).toString()).toBe('n1');
      expect(await ns.moveMany(['p{q}'], ['s{q}:9'])).toEqual([]);
    });
  });

  it('moveMany wakes a get waiting on a destination', async () => {
    await withNamespace(async (ns) => {
      const waiting = ns.get('s{q}:w', { timeout: 10_000 });
      await ns.put('p{q}', 'task');
      expect((await ns.moveMany(['p{q}'], ['s{q}:w'])).map(String)).toEqual(['task']);
      expect((await waiting).toString()).toBe('task');
    });
  });

  it('popPutMany reports per step whether it happened', async () => {
    await withNamespace(async (ns) => {
      await ns.put('s{q}:0', 'task-0');
      await ns.put('s{q}:1', 'task-1');
      const done = await ns.popPutMany([
        { pop: 's{q}:0', put: 'r{q}:0', value: 'result-0' },
        { pop: 's{q}:9', put: 'r{q}:9', value: 'never' },
        { put: 'e{q}', value: 'expiry' },
        { pop: 's{q}:1' },
        { pop: 's{q}:9' },
      ]);
      expect(done).toEqual(['done', 'empty', 'done', 'done', 'empty']);
      expect((await ns.get('r{q}:0')).toString()).toBe('result-0');
      expect(await ns.has('r{q}:9')).toBe(false);
      expect(await ns.count('s{q}:0')).toBe(0);
      expect(await ns.count('s{q}:1')).toBe(0);
      expect(await ns.count('e{q}')).toBe(1);
      expect(await ns.popPutMany([])).toEqual([]);
    });
  });

  it('unless skips a step when its name holds a value: pops it, or only looks with peekUnless', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany([
        ['s{q}:a', 'task-a'],
        ['s{q}:b', 'task-b'],
        ['c{q}:a', 'cancel'],
      ]);
      const done = await ns.popPutMany([
        { unless: 'c{q}:a', peekUnless: true },
        { unless: 'c{q}:b', peekUnless: true },
        { pop: 's{q}:a', put: 'r{q}:a', value: 'ra', unless: 'c{q}:a' },
        { pop: 's{q}:b', put: 'r{q}:b', value: 'rb', unless: 'c{q}:b' },
      ]);
      expect(done).toEqual(['skipped', 'done', 'skipped', 'done']);
      expect(await ns.has('c{q}:a')).toBe(false); // the skipping finish consumed the marker
      expect(await ns.count('s{q}:a')).toBe(1);
      expect(await ns.has('r{q}:a')).toBe(false);
      expect((await ns.get('r{q}:b')).toString()).toBe('rb');
    });
  });

  it('bad batches are refused with a message, before anything runs', async () => {
    await withNamespace(async (ns) => {
      await ns.put('p{q}', 'stays');
      await expect(ns.moveMany([], ['x'])).rejects.toThrow(/1 to 16 source names/);
      await expect(ns.moveMany(Array.from({ length: 17 }, (_, i) => `n${i}`), ['x'])).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await expect(ns.moveMany(['p{q}'], ['bad\nname'])).rejects.toThrow(/newline/);
      await expect(ns.popPutMany([{}])).rejects.toThrow(/names no tuple/);
      await expect(ns.popPutMany([{ pop: 'p{q}', value: 'x' }])).rejects.toThrow(/no name to put/);
      await expect(ns.popPutMany([{ pop: 'p{q}' }, { put: '' }])).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringMatching(/^Step 1: name to put is empty/) });
      await expect(ns.popPutMany([{ pop: 'p{q}', unless: 'a\0b' }])).rejects.toThrow(/^Step 0: unless name .* contains a NUL/);
      await expect(ns.popPutMany([{ pop: 'n'.repeat(1100) }])).rejects.toThrow(/^Step 0: name to pop is 1100 bytes/);
      await expect(ns.popPutMany([{ pop: 5 as unknown as string }])).rejects.toThrow(/^Step 0: name to pop must be a string/);
      expect(await ns.count('p{q}')).toBe(1);
    });
  });
});
