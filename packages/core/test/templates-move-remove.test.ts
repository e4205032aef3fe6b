import { describe, expect, it } from 'vitest';
import { testBroker, uniqueName, withNamespace } from './support/broker.js';

describe('templates, move and remove', () => {
  it('get with a glob template takes from a matching name', async () => {
    await withNamespace(async (ns) => {
      await ns.put('result:7', 'seven');
      await ns.put('other', 'no');
      expect((await ns.get({ template: 'result:*' })).toString()).toBe('seven');
      await expect(ns.get({ template: 'result:*' }, { timeout: 0 })).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
      expect(await ns.has('other')).toBe(true);
    });
  });

  it('a get by template waits for a future matching put', async () => {
    await withNamespace(async (ns) => {
      const pending = ns.get({ template: 'job-?' }, { timeout: 10_000 });
      await ns.put('jobx-1', 'no');
      await ns.put('job-1', 'yes');
      expect((await pending).toString()).toBe('yes');
    });
  });

  it('read by template does not consume', async () => {
    await withNamespace(async (ns) => {
      await ns.put('k[1]', 'v');
      expect((await ns.read({ template: 'k\\[1\\]' })).toString()).toBe('v');
      expect(await ns.count('k[1]')).toBe(1);
    });
  });

  it('moves a name, and names matching a template, to another namespace', async () => {
    const broker = testBroker();
    const srcName = uniqueName('src');
    const dstName = uniqueName('dst');
    const src = await broker.create(srcName);
    const dst = await broker.create(dstName);
    await src.put('a', '1');
    await src.put('a', '2');
    await src.put('b1', 'x');
    await src.put('b2', 'y');
    await src.move('a', dst);
    expect(await src.has('a')).toBe(false);
    expect((await dst.get('a')).toString()).toBe('1');
    expect((await dst.get('a')).toString()).toBe('2');
    await src.move({ template: 'b*' }, dst);
    expect((await dst.list('b*')).sort()).toEqual(['b1', 'b2']);
    expect(await src.list('*')).toEqual([]);
    await broker.close();
    await broker.delete(srcName);
    await broker.delete(dstName);
  });

  it('moveValue pops one value here and appends it there atomically', async () => {
    await withNamespace(async (ns) => {
      // names that move together share a {hash tag}, so that on Redis Cluster they live in one slot
      await ns.put('q:{t}:pending', 'task-1');
      await ns.put('q:{t}:pending', 'task-2');
      expect((await ns.moveValue('q:{t}:pending', ns, 'q:{t}:running')).toString()).toBe('task-1');
      expect(await ns.count('q:{t}:pending')).toBe(1);
      expect((await ns.read('q:{t}:running')).toString()).toBe('task-1');
      const waiting = ns.moveValue('q:{t}:empty', ns, 'q:{t}:running', { timeout: 10_000 });
      await ns.put('q:{t}:empty', 'late');
      expect((await waiting).toString()).toBe('late');
      expect(await ns.count('q:{t}:running')).toBe(2);
    });
  });

  it('an AbortSignal withdraws a waiting moveValue, and the next value stays where it was put', async () => {
    await withNamespace(async (ns) => {
      const ac = new AbortController();
      const waiting = ns.moveValue('q:{a}:pending', ns, 'q:{a}:running', { timeout: 'infinite', signal: ac.signal });
      await new Promise((resolve) => setTimeout(resolve, 20));
      ac.abort(new Error('worker stopping'));
      await expect(waiting).rejects.toThrow('worker stopping');
      await ns.put('q:{a}:pending', 'kept');
      expect(await ns.count('q:{a}:running')).toBe(0);
      expect((await ns.read('q:{a}:pending')).toString()).toBe('kept');
      await expect(ns.moveValue('q:{a}:pending', ns, 'q:{a}:running', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
      expect(await ns.count('q:{a}:pending')).toBe(1);
    });
  });

  it.runIf(process.env.TSDBR_TEST_BACKEND === 'cluster')('moveValue across cluster slots is refused with a hint', async () => {
    await withNamespace(async (ns) => {
      await ns.put('a-pending', 'x');
      await expect(ns.moveValue('a-pending', ns, 'b-running')).rejects.toMatchObject({ code: 'DBR_ERR_INVALIDOP', message: expect.stringMatching(/hash tag/) });
      expect(await ns.count('a-pending')).toBe(1);
    });
  });

  it('popPut drops the head of one name and appends under another in one step', async () => {
    await withNamespace(async (ns) => {
      expect(await ns.popPut('q:{p}:slot', 'q:{p}:result', 'r0')).toBe(false);
      expect(await ns.has('q:{p}:result')).toBe(false);
      await ns.putMany([
        ['q:{p}:slot', 'task-a'],
        ['q:{p}:slot', 'task-b'],
      ]);
      const waiting = ns.get('q:{p}:result', { timeout: 10_000 });
      expect(await ns.popPut('q:{p}:slot', 'q:{p}:result', 'done-a')).toBe(true);
      expect((await waiting).toString()).toBe('done-a');
      expect((await ns.read('q:{p}:slot')).toString()).toBe('task-b');
    });
  });

  it.runIf(process.env.TSDBR_TEST_BACKEND === 'cluster')('popPut across cluster slots is refused with a hint', async () => {
    await withNamespace(async (ns) => {
      await ns.put('a-slot', 'x');
      await expect(ns.popPut('a-slot', 'b-result', 'r')).rejects.toMatchObject({ code: 'DBR_ERR_INVALIDOP', message: expect.stringMatching(/hash tag/) });
      expect(await ns.count('a-slot')).toBe(1);
    });
  });

  it('removes by name and by template', async () => {
    await withNamespace(async (ns) => {
      await ns.putMany([
        ['x', '1'],
        ['y1', '1'],
        ['y2', '1'],
        ['z', '1'],
      ]);
      expect(await ns.remove('x')).toBe(true);
      expect(await ns.remove({ template: 'y*' })).toBe(true);
      expect(await ns.list()).toEqual(['z']);
      expect(await ns.remove('x')).toBe(false);
      expect(await ns.remove({ template: 'nothing*' })).toBe(false);
      expect(await ns.move('x', ns)).toBe(false);
    });
  });
});
