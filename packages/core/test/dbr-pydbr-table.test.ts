import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dbr } from '../src/index.js';
import { uniqueName } from './support/broker.js';

const G = dbr.DBR_GROUP_EMPTY;

function fresh() {
  const name = uniqueName('pydbr');
  const h = dbr.create(name, dbr.DBR_PERST_VOLATILE_SIMPLE, dbr.DBR_GROUP_LIST_EMPTY);
  expect(h).not.toBeNull();
  return { name, h };
}

describe('the PyDBR function table', () => {
  it('create, attach, query, detach, delete', () => {
    const { name, h } = fresh();
    expect(dbr.create(name, 0, null)).toBeNull();
    const h2 = dbr.attach(name);
    expect(h2).not.toBeNull();
    const state = new Uint32Array(1);
    expect(dbr.query(h, state, dbr.DBR_STATE_MASK_ALL)).toBe(dbr.DBR_SUCCESS);
    expect(state[0]).toBe(2);
    expect(dbr.detach(h2)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.detach(h)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.delete(name)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.attach(name)).toBeNull();
    expect(dbr.delete(name)).toBe(dbr.DBR_ERR_UNAVAIL);
  });

  it('put, read, get, testKey, with statuses', async () => {
    const { name, h } = fresh();
    expect(dbr.put(h, 'Hello World!', 'HelloTuple', G)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.testKey(h, 'HelloTuple')).toBe(dbr.DBR_SUCCESS);
    let [value, status] = await dbr.read(h, 'HelloTuple', '', G, dbr.DBR_FLAGS_NOWAIT);
    expect([value.toString(), status]).toEqual(['Hello World!', dbr.DBR_SUCCESS]);
    [value, status] = await dbr.get(h, 'HelloTuple', '', G, dbr.DBR_FLAGS_NONE);
    expect([value.toString(), status]).toEqual(['Hello World!', dbr.DBR_SUCCESS]);
    expect(dbr.testKey(h, 'HelloTuple')).toBe(dbr.DBR_ERR_UNAVAIL);
    [, status] = await dbr.get(h, 'HelloTuple', '', G, dbr.DBR_FLAGS_NOWAIT);
    expect(status).toBe(dbr.DBR_ERR_UNAVAIL);
    dbr.detach(h);
    dbr.delete(name);
  });

  it('putA, getA, readA with test and cancel', async () => {
    const { name, h } = fresh();
    const putTag = dbr.putA(h, 'async value', 'tup', G);
    expect(putTag).toBeGreaterThan(0);
    while (dbr.test(putTag) === dbr.DBR_ERR_INPROGRESS) await sleep(1);
    const [readTag, readFuture] = dbr.readA(h, 'tup', '', G);
    const [getTag, future] = dbr.getA(h, 'tup', '', G);
    for (const tag of [readTag, getTag]) {
      let state = dbr.test(tag);
      while (state === dbr.DBR_ERR_INPROGRESS) {
        await sleep(1);
        state = dbr.test(tag);
      }
      expect(state).toBe(dbr.DBR_SUCCESS);
    }
    expect(dbr.decodeTuple(readFuture)).toBe('async value');
    expect(dbr.decodeTuple(future)).toBe('async value');
    expect(dbr.test(getTag)).toBe(dbr.DBR_ERR_TAGERROR);

    const [pendingTag] = dbr.getA(h, 'nothing-yet', '', G);
    expect(dbr.test(pendingTag)).toBe(dbr.DBR_ERR_INPROGRESS);
    const cancelled = dbr.cancel(pendingTag);
    if (cancelled !== dbr.DBR_SUCCESS) {
      // on Redis its first pop may be on the wire: it then completes by itself, finding nothing
      expect(cancelled).toBe(dbr.DBR_ERR_INVALIDOP);
      let state = dbr.test(pendingTag);
      while (state === dbr.DBR_ERR_INPROGRESS) {
        await sleep(1);
        state = dbr.test(pendingTag);
      }
      expect(state).toBe(dbr.DBR_ERR_CANCELLED);
    }
    expect(dbr.test(pendingTag)).toBe(dbr.DBR_ERR_TAGERROR);
    dbr.put(h, 'after cancel', 'nothing-yet', G);
    const [v, s] = await dbr.get(h, 'nothing-yet', '', G, dbr.DBR_FLAGS_NOWAIT);
    expect([v.toString(), s]).toEqual(['after cancel', dbr.DBR_SUCCESS]);
    dbr.detach(h);
    dbr.delete(name);
  });

  it('readA/getA futures give their value only on DBR_SUCCESS; a too-small buffer names the size and keeps the value', async () => {
    const { name, h } = fresh();
    const collect = async (tag: number) => {
      let state = dbr.test(tag);
      while (state === dbr.DBR_ERR_INPROGRESS) {
        await sleep(1);
        state = dbr.test(tag);
      }
      return state;
    };
    const [pendingTag, pending] = dbr.readA(h, 'later', '', G);
    expect(pending.status).toBe(dbr.DBR_ERR_INPROGRESS);
    expect(() => pending.value).toThrow(/dbr\.readA has not completed: poll test\(tag\)/);
    dbr.put(h, 'hello world', 'k', G);
    for (const fn of [dbr.readA, dbr.getA]) {
      const [tag, future] = fn(h, 'k', '', G, dbr.DBR_FLAGS_NONE, 4);
      expect(await collect(tag)).toBe(dbr.DBR_ERR_UBUFFER);
      expect(future.status).toBe(dbr.DBR_ERR_UBUFFER);
      expect(future.size).toBe(11);
      expect(() => future.value).toThrow(/found a 11-byte value, larger than its 4-byte buffer \(DBR_ERR_UBUFFER\): the value stays in the namespace; call (readA|getA) again with bufferSize >= 11/);
    }
    const [tag, future] = dbr.getA(h, 'k', '', G, dbr.DBR_FLAGS_NONE, 11);
    expect(await collect(tag)).toBe(dbr.DBR_SUCCESS);
    expect(future.value.toString()).toBe('hello world');
    dbr.put(h, 'now', 'later', G);
    expect(await collect(pendingTag)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.decodeTuple(pending)).toBe('now');
    const [cancelledTag, cancelled] = dbr.getA(h, 'never', '', G);
    if (dbr.cancel(cancelledTag) === dbr.DBR_SUCCESS) {
      expect(cancelled.status).toBe(dbr.DBR_ERR_CANCELLED);
      expect(() => cancelled.value).toThrow(/dbr\.getA ended with DBR_ERR_CANCELLED/);
    }
    dbr.detach(h);
    dbr.delete(name);
  });

  it('directory and iterator', async () => {
    const { name, h } = fresh();
    dbr.put(h, 'Hello World!', 'HelloTuple', G);
    dbr.put(h, 'Goodbye World!', 'GoodbyeTuple', G);
    const [keys, size, res] = dbr.directory(h, '*', G, 1000, 1024);
    expect(res).toBe(dbr.DBR_SUCCESS);
    expect(keys.sort()).toEqual(['GoodbyeTuple', 'HelloTuple']);
    expect(size).toBeGreaterThan(0);
    const [one, , limited] = dbr.directory(h, '*', G, 1, 1024);
    expect([one.length, limited]).toEqual([1, dbr.DBR_SUCCESS]);
    const [cut, , truncated] = dbr.directory(h, '*', G, 0, 14);
    expect(truncated).toBe(dbr.DBR_ERR_UBUFFER);
    expect(cut.length).toBeLessThan(2);

    const seen: string[] = [];
    // PyDBR's order: iterator(dbr_hdl, iterator, match_template, group)
    let [key, it] = dbr.iterator(h, dbr.DBR_ITERATOR_NEW, '*', G);
    while (it !== dbr.DBR_ITERATOR_DONE) {
      seen.push(key as string);
      [key, it] = dbr.iterator(h, it, '*', G);
    }
    expect(seen.sort()).toEqual(['GoodbyeTuple', 'HelloTuple']);
    expect(dbr.iterator(h, dbr.DBR_ITERATOR_NEW, 'Hello*', G)[0]).toBe('HelloTuple');
    dbr.detach(h);
    dbr.delete(name);
  });

  it('move and remove', async () => {
    const a = fresh();
    const b = fresh();
    dbr.put(a.h, 'v', 'm1', G);
    dbr.put(a.h, 'v', 'm2', G);
    expect(dbr.move(a.h, G, 'm1', '', b.h, G)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.testKey(b.h, 'm1')).toBe(dbr.DBR_SUCCESS);
    expect(dbr.move(a.h, G, '', 'm*', b.h, G)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.testKey(b.h, 'm2')).toBe(dbr.DBR_SUCCESS);
    expect(dbr.remove(b.h, G, '', 'm*')).toBe(dbr.DBR_SUCCESS);
    expect(dbr.testKey(b.h, 'm1')).toBe(dbr.DBR_ERR_UNAVAIL);
    for (const x of [a, b]) {
      dbr.detach(x.h);
      dbr.delete(x.name);
    }
  });

  it('createBuf, getErrorCode and getErrorMessage', () => {
    expect(dbr.createBuf('char[]', 16).length).toBe(16);
    expect(dbr.getErrorCode(dbr.DBR_ERR_TIMEOUT)).toBe('DBR_ERR_TIMEOUT');
    expect(dbr.getErrorMessage(dbr.DBR_SUCCESS)).toBe('Operation successful');
    expect(dbr.getErrorMessage(999)).toBe('Unknown Error');
  });

  it('bad handles and tags give error codes, never crashes', async () => {
    expect(dbr.detach(null)).toBe(dbr.DBR_ERR_HANDLE);
    expect(dbr.put(123456789n, 'x', 'y', G)).toBe(dbr.DBR_ERR_HANDLE);
    expect(dbr.test(-5)).toBe(dbr.DBR_ERR_TAGERROR);
    expect(dbr.cancel(987654321)).toBe(dbr.DBR_ERR_TAGERROR);
    const [, status] = await dbr.get(42n, 'x', '', G, dbr.DBR_FLAGS_NOWAIT);
    expect(status).toBe(dbr.DBR_ERR_HANDLE);
  });

  it('arguments of the wrong type throw an error naming the function and parameter, never reach C', async () => {
    const { name, h } = fresh();
    // koffi would pass a number or BigInt given for a string or a buffer to C as a raw address
    const bad = dbr as unknown as Record<string, (...args: unknown[]) => unknown>;
    const call = (fn: string, ...args: unknown[]) => () => bad[fn]?.(...args);
    expect(call('delete', 123n)).toThrow(/dbr\.delete: dbrname must be a string, got bigint/);
    expect(call('delete', 123)).toThrow(TypeError);
    expect(call('attach', {})).toThrow(/dbr\.attach: dbrname/);
    expect(call('create', name, 'volatile')).toThrow(/dbr\.create: level/);
    expect(call('put', h, 'x', 5n, G)).toThrow(/dbr\.put: tupleName must be a string/);
    expect(call('put', h, 'x', 'k', 5)).toThrow(/dbr\.put: group must be a string or null/);
    expect(call('put', 'not-a-handle', 'x', 'k', G)).toThrow(/dbr\.put: dbrHdl must be a handle/);
    expect(call('putA', h, 'x', 7, G)).toThrow(/dbr\.putA: tupleName/);
    expect(call('query', h, 5n)).toThrow(/dbr\.query: dbrState must be a Uint32Array/);
    expect(call('query', h, new Uint8Array(1))).toThrow(/got Uint8Array/);
    expect(call('testKey', h, 9n)).toThrow(/dbr\.testKey: tupleName/);
    expect(call('directory', h, 5n, G, 10, 100)).toThrow(/dbr\.directory: matchTemplate/);
    expect(call('directory', h, '*', G, 10, -5)).toThrow(/dbr\.directory: size must be between 0 and/);
    expect(call('iterator', h, 'it', '*', G)).toThrow(/dbr\.iterator: it must be a handle/);
    expect(call('iterator', h, null, G, '*')).toThrow(/dbr\.iterator: matchTemplate must be a string, got null/);
    expect(call('move', h, G, 'k', 5n, h, G)).toThrow(/dbr\.move: matchTemplate/);
    expect(call('remove', h, 5n, 'k', '')).toThrow(/dbr\.remove: group/);
    expect(call('readA', h, 'k', '', G, 0, 1e15)).toThrow(/dbr\.readA: bufferSize must be between 0 and/);
    expect(call('getA', h, 3, '', G)).toThrow(/dbr\.getA: tupleName/);
    expect(call('test', 'tag')).toThrow(/dbr\.test: tag must be an integer/);
    expect(call('cancel', 1.5)).toThrow(/dbr\.cancel: tag/);
    expect(call('createBuf', 'char[]', -1)).toThrow(/dbr\.createBuf: bufsize/);
    await expect(bad.get?.(h, 5n, '', G, dbr.DBR_FLAGS_NOWAIT)).rejects.toThrow(/dbr\.get: tupleName/);
    await expect(bad.read?.(h, 'k', null, G, dbr.DBR_FLAGS_NOWAIT)).rejects.toThrow(/dbr\.read: matchTemplate/);
    await expect(bad.get?.(h, 'k', '', G, dbr.DBR_FLAGS_NOWAIT, -5)).rejects.toThrow(/dbr\.get: bufferSize/);
    // the namespace is untouched and still works
    expect(dbr.put(h, 'ok', 'k', G)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.testKey(h, 'k')).toBe(dbr.DBR_SUCCESS);
    expect(dbr.detach(h)).toBe(dbr.DBR_SUCCESS);
    expect(dbr.delete(name)).toBe(dbr.DBR_SUCCESS);
  });
});
