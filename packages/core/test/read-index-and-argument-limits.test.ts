import { describe, expect, it } from 'vitest';
import { DBR_MAX_READ_INDEX } from '../src/index.js';
import { withNamespace } from './support/broker.js';

describe('read index limits', () => {
  it('the largest index is what the flags word holds above its flag bits', () => {
    expect(DBR_MAX_READ_INDEX).toBe(2 ** 27 - 1);
  });

  it('an index past the limit is refused, never wrapped onto another value', async () => {
    await withNamespace(async (ns) => {
      await ns.put('k', 'v0');
      await ns.put('k', 'v1');
      for (const index of [2 ** 27, 2 ** 28, 2 ** 28 + 1, 2 ** 31, 2 ** 32]) {
        const refusal = { code: 'DBR_ERR_INVALID', message: expect.stringContaining(`from 0 to ${DBR_MAX_READ_INDEX}`) };
        await expect(ns.read('k', { index, timeout: 0 }), `read ${index}`).rejects.toMatchObject(refusal);
        await expect(ns.tryRead('k', { index }), `tryRead ${index}`).rejects.toMatchObject(refusal);
        await expect(ns.peek('k', { index }), `peek ${index}`).rejects.toMatchObject(refusal);
      }
    });
  });

  it('the largest index is accepted and finds nothing when there are fewer values', async () => {
    await withNamespace(async (ns) => {
      await ns.put('k', 'v0');
      await expect(ns.read('k', { index: DBR_MAX_READ_INDEX, timeout: 0 })).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
      expect(await ns.peek('k', { index: DBR_MAX_READ_INDEX })).toBeUndefined();
    });
  });
});

describe('arguments C would cut short', () => {
  it('a NUL in a template is refused instead of cutting the template at the NUL', async () => {
    await withNamespace(async (ns) => {
      await ns.put('a', 'v');
      for (const take of [() => ns.get({ template: 'a\0*' }, { timeout: 0 }), () => ns.read({ template: 'a\0*' }, { timeout: 0 }), () => ns.remove({ template: 'a\0*' })]) {
        await expect(take()).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringContaining('NUL') });
      }
      expect(await ns.count('a')).toBe(1);
    });
  });

  it('a peek maxBytes larger than a Buffer can be is a DbrError naming the limit', async () => {
    await withNamespace(async (ns) => {
      await ns.put('k', 'v');
      await expect(ns.peek('k', { maxBytes: 2 ** 40 })).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringMatching(/maxBytes must be an integer from 0 to \d+/) });
    });
  });
});
