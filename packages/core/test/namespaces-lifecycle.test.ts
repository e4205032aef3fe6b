import { describe, expect, it } from 'vitest';
import { DbrError } from '../src/index.js';
import { testBroker, uniqueName } from './support/broker.js';

describe('namespace lifecycle', () => {
  it('creates, attaches, detaches and deletes', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    expect(ns.name).toBe(name);
    const again = await broker.attach(name);
    expect((await again.query()).attached).toBe(2);
    await again.close();
    expect((await ns.query()).attached).toBe(1);
    await ns.close();
    await broker.delete(name);
    await expect(broker.attach(name)).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
  });

  it('refuses to create a namespace twice', async () => {
    const broker = testBroker();
    const name = uniqueName();
    await broker.create(name);
    await expect(broker.create(name)).rejects.toMatchObject({ code: 'DBR_ERR_EXISTS' });
    await broker.close();
    await broker.delete(name);
  });

  it('open() attaches or creates', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const a = await broker.open(name);
    const b = await broker.open(name);
    expect((await b.query()).attached).toBe(2);
    await a.close();
    await b.close();
    await broker.delete(name);
  });

  it('delete is refused while others are attached, and happens at the last detach', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    const other = await broker.attach(name);
    await ns.put('x', 'y');
    const err = await broker.delete(name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbrError);
    expect((err as DbrError).code).toBe('DBR_ERR_NSBUSY');
    expect((await ns.query()).deletePending).toBe(true);
    await other.close();
    await expect(broker.attach(name)).rejects.toMatchObject({ code: 'DBR_ERR_NSINVAL', message: expect.stringMatching(/being deleted/) });
    expect((await ns.query()).attached).toBe(1);
    await broker.close();
    await expect(broker.attach(name)).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
  });

  it('the only attached client may delete at once (as with the Data Broker)', async () => {
    const broker = testBroker();
    const name = uniqueName();
    await broker.create(name);
    await broker.delete(name);
    await expect(broker.attach(name)).rejects.toMatchObject({ code: 'DBR_ERR_UNAVAIL' });
    await broker.close();
  });

  it('a closed namespace handle gives DBR_ERR_HANDLE with a hint', async () => {
    const broker = testBroker();
    const name = uniqueName();
    const ns = await broker.create(name);
    await ns.close();
    await ns.close(); // idempotent
    await expect(ns.put('a', 'b')).rejects.toMatchObject({ code: 'DBR_ERR_HANDLE', message: expect.stringMatching(/attach again/) });
    await broker.delete(name);
  });

  it('lists namespaces by glob, with glob characters in names escaped', async () => {
    const broker = testBroker();
    const base = uniqueName('glob');
    const star = await broker.create(`${base}-n*`);
    const other = await broker.create(`${base}-nx`);
    expect(await broker.namespaces(`${base}-*`)).toEqual(expect.arrayContaining([`${base}-n*`, `${base}-nx`]));
    await star.close();
    await broker.delete(`${base}-n*`);
    expect(await broker.namespaces(`${base}-*`)).toEqual([`${base}-nx`]);
    await expect(broker.namespaces(7n as unknown as string)).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringMatching(/Namespace pattern must be a glob string/) });
    await other.close();
    await broker.delete(`${base}-nx`);
  });

  it('closes every namespace it opened with await using', async () => {
    const name = uniqueName();
    {
      await using broker = testBroker();
      await broker.create(name);
    }
    const broker = testBroker();
    expect((await (await broker.attach(name)).query()).attached).toBe(1);
    await broker.close();
    await broker.delete(name);
  });
});
