import { describe, expect, it } from 'vitest';
import { ChurnMap } from '../src/index.js';

describe('ChurnMap', () => {
  it('stores, finds, counts and deletes entries like a Map', () => {
    const m = new ChurnMap<number, string>();
    expect(m.size).toBe(0);
    m.set(7, 'seven').set(3, 'three').set(7, 'SEVEN');
    expect(m.size).toBe(2);
    expect(m.get(7)).toBe('SEVEN');
    expect(m.has(3)).toBe(true);
    expect(m.has(4)).toBe(false);
    expect(m.delete(3)).toBe(true);
    expect(m.delete(3)).toBe(false);
    expect(m.size).toBe(1);
    expect([...m.values()]).toEqual(['SEVEN']);
    expect([...m.keys()]).toEqual(['7']);
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(7)).toBeUndefined();
  });

  it('takes any string key, __proto__ and constructor included', () => {
    const m = new ChurnMap<string, number>();
    for (const k of ['__proto__', 'constructor', 'toString', 'q:{a}:run:w:1']) m.set(k, k.length);
    expect(m.size).toBe(4);
    expect(m.get('__proto__')).toBe(9);
    expect(m.get('hasOwnProperty')).toBeUndefined();
    expect([...m.keys()].sort()).toEqual(['__proto__', 'constructor', 'q:{a}:run:w:1', 'toString']);
  });

  it('keeps its count through a long run of adds and deletes', () => {
    const m = new ChurnMap<number, { tag: number }>();
    let live = 0;
    for (let tag = 1; tag <= 100_000; tag++) {
      m.set(tag, { tag });
      live++;
      if (tag > 32) {
        expect(m.delete(tag - 32)).toBe(true);
        live--;
      }
    }
    expect(m.size).toBe(live);
    expect([...m.values()].map((v) => v.tag)).toEqual(Array.from({ length: 32 }, (_, i) => 100_000 - 31 + i));
  });
});
