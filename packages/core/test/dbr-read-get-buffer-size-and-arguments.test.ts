import { describe, expect, it } from 'vitest';
import { dbr } from '../src/index.js';
import { uniqueName } from './support/broker.js';

const G = dbr.DBR_GROUP_EMPTY;

function fresh() {
  const name = uniqueName('pydbr-bufsize');
  const h = dbr.create(name, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
  expect(h).not.toBeNull();
  expect(dbr.put(h, 'hello world', 'b', G)).toBe(dbr.DBR_SUCCESS);
  return { h, done: () => (dbr.detach(h), dbr.delete(name)) };
}

describe('PyDBR read/get with a buffer_size', () => {
  it('a too-small buffer_size list receives the needed size, and the retry with it succeeds', async () => {
    const { h, done } = fresh();
    for (const op of ['read', 'get'] as const) {
      const bufferSize = [4];
      expect(await dbr[op](h, 'b', '', G, dbr.DBR_FLAGS_NOWAIT, bufferSize)).toEqual([Buffer.alloc(0), dbr.DBR_ERR_UBUFFER]);
      expect(bufferSize).toEqual([11]);
      expect(dbr.testKey(h, 'b'), `${op} kept the value`).toBe(dbr.DBR_SUCCESS);
      const [value, status] = await dbr[op](h, 'b', '', G, dbr.DBR_FLAGS_NOWAIT, bufferSize);
      expect([value.toString(), status, bufferSize]).toEqual(['hello world', dbr.DBR_SUCCESS, [11]]);
    }
    done();
  });

  it('a large enough buffer_size list receives the value size', async () => {
    const { h, done } = fresh();
    const bufferSize = [100];
    const [value, status] = await dbr.read(h, 'b', '', G, dbr.DBR_FLAGS_NOWAIT, bufferSize);
    expect([value.toString(), status, bufferSize]).toEqual(['hello world', dbr.DBR_SUCCESS, [11]]);
    done();
  });

  it('DBR_FLAGS_PARTIAL returns the first bytes that fit, with DBR_ERR_UBUFFER and the full size', async () => {
    const { h, done } = fresh();
    const bufferSize = [4];
    const [value, status] = await dbr.read(h, 'b', '', G, dbr.DBR_FLAGS_NOWAIT | dbr.DBR_FLAGS_PARTIAL, bufferSize);
    expect([value.toString(), status, bufferSize]).toEqual(['hell', dbr.DBR_ERR_UBUFFER, [11]]);
    const [got, getStatus] = await dbr.get(h, 'b', '', G, dbr.DBR_FLAGS_NOWAIT | dbr.DBR_FLAGS_PARTIAL, 5);
    expect([got.toString(), getStatus]).toEqual(['hello', dbr.DBR_ERR_UBUFFER]);
    expect(dbr.testKey(h, 'b')).toBe(dbr.DBR_ERR_UNAVAIL); // a partial get consumes the value
    done();
  });

  it('a missing value leaves buffer_size as it was', async () => {
    const { h, done } = fresh();
    const bufferSize = [4];
    expect(await dbr.read(h, 'missing', '', G, dbr.DBR_FLAGS_NOWAIT, bufferSize)).toEqual([Buffer.alloc(0), dbr.DBR_ERR_UNAVAIL]);
    expect(bufferSize).toEqual([4]);
    done();
  });
});

describe('PyDBR arguments C would silently change', () => {
  it('a flag beyond a C int is refused instead of wrapping (2**32 + 1 used to act as NOWAIT)', async () => {
    const { h, done } = fresh();
    for (const flag of [2 ** 31, 2 ** 32 + 1, 2 ** 40]) {
      await expect(dbr.get(h, 'missing', '', G, flag), String(flag)).rejects.toThrow(/dbr\.get: flag must be between 0 and 2147483647/);
      await expect(dbr.read(h, 'missing', '', G, flag, [4]), String(flag)).rejects.toThrow(/dbr\.read: flag must be between 0 and 2147483647/);
    }
    done();
  });

  it('a NUL in a name or template is refused instead of cutting it at the NUL', async () => {
    const { h, done } = fresh();
    const refusal = { code: 'DBR_ERR_INVALID', message: expect.stringContaining('contains a NUL') };
    expect(() => dbr.put(h, 'x', 'n\0ul', G)).toThrow(expect.objectContaining(refusal));
    expect(dbr.testKey(h, 'n')).toBe(dbr.DBR_ERR_UNAVAIL);
    expect(() => dbr.testKey(h, 'b\0')).toThrow(expect.objectContaining(refusal));
    expect(() => dbr.create('ns\0x', 0, null)).toThrow(expect.objectContaining(refusal));
    await expect(dbr.read(h, '', 'b\0*', G, dbr.DBR_FLAGS_NOWAIT)).rejects.toMatchObject(refusal);
    await expect(dbr.get(h, 'b\0', '', G, dbr.DBR_FLAGS_NOWAIT)).rejects.toMatchObject(refusal);
    expect(() => dbr.directory(h, 'b\0', G, 0, 100)).toThrow(expect.objectContaining(refusal));
    expect(() => dbr.iterator(h, dbr.DBR_ITERATOR_NEW, '\0', G)).toThrow(expect.objectContaining(refusal));
    expect(dbr.testKey(h, 'b')).toBe(dbr.DBR_SUCCESS);
    done();
  });
});
