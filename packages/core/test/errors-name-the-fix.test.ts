import { describe, expect, it } from 'vitest';
import { Broker, DbrError, isDbrError } from '../src/index.js';
import { testBroker, withNamespace } from './support/broker.js';

describe('errors', () => {
  it('rejects names over 1023 bytes, with NULs or newlines, or empty', async () => {
    await withNamespace(async (ns) => {
      await expect(ns.put('x'.repeat(1024), 'v')).rejects.toMatchObject({ code: 'DBR_ERR_INVALID', message: expect.stringMatching(/1024 bytes; the limit is 1023/) });
      await expect(ns.put('é'.repeat(512), 'v')).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await ns.put('x'.repeat(1023), 'ok');
      await expect(ns.put('a\nb', 'v')).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await expect(ns.put('a\0b', 'v')).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await expect(ns.put('', 'v')).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await expect(ns.get({ template: '' })).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
    });
  });

  it('rejects bad options clearly', async () => {
    await withNamespace(async (ns) => {
      await expect(ns.get('a', { timeout: '5 parsecs' as never })).rejects.toThrow(/is not a duration/);
      await expect(ns.read('a', { index: -1 })).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
      await expect(ns.list('*', { limit: 1.5 })).rejects.toMatchObject({ code: 'DBR_ERR_INVALID' });
    });
  });

  it('rejects a bad DBR_SERVER with the fix', () => {
    expect(() => new Broker({ server: 'http://x' })).toThrow(/sock:\/\/host:port/);
    expect(() => new Broker({ timeout: 'soon' as never })).toThrow(/is not a duration/);
  });

  it('DbrError is recognisable by code and instanceof', async () => {
    const err = await testBroker().attach('does-not-exist-ever').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbrError);
    expect(err).toBeInstanceOf(Error);
    expect(isDbrError(err, 'DBR_ERR_UNAVAIL')).toBe(true);
    expect((err as DbrError).errno).toBe(7);
    expect((err as DbrError).message).toMatch(/does-not-exist-ever/);
    // a structurally identical error from another module copy is recognised too
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('tsdbr.DbrError'), { value: true });
    expect(foreign).toBeInstanceOf(DbrError);
  });
});
