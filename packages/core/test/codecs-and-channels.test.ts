import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codecs, json, msgpack, SchemaError } from '../src/index.js';
import { withNamespace } from './support/broker.js';

describe('codecs', () => {
  it('round-trips utf8, JSON and msgpack', async () => {
    await withNamespace(async (ns) => {
      await ns.put('t', 'héllo ✓', { codec: codecs.utf8 });
      expect(await ns.get('t', { codec: codecs.utf8 })).toBe('héllo ✓');
      const obj = { a: 1, b: [true, null, 'x'], c: { d: 2.5 } };
      await ns.put('j', obj, { codec: json<typeof obj>() });
      expect(await ns.get('j', { codec: json<typeof obj>() })).toEqual(obj);
      await ns.put('m', obj, { codec: msgpack() });
      expect(await ns.get('m', { codec: msgpack() })).toEqual(obj);
    });
  });

  it('msgpack writes undefined as JSON does, without an extension type other libraries cannot read', () => {
    const codec = msgpack<unknown>();
    const bytes = Buffer.from(codec.encode({ a: undefined, b: [1, undefined], c: 'x' }));
    // {b: [1, nil], c: 'x'}, with no 0xd4 (msgpackr's undefined extension)
    expect(bytes.toString('hex')).toBe('82a1629201c0a163a178');
    expect(codec.decode(bytes)).toEqual({ b: [1, null], c: 'x' });
    expect(Buffer.from(codec.encode(undefined)).toString('hex')).toBe('c0');
  });

  it('strings are stored as plain UTF-8 bytes (PyDBR interop)', async () => {
    await withNamespace(async (ns) => {
      await ns.put('s', 'Hello World!');
      expect((await ns.get('s')).equals(Buffer.from('Hello World!', 'utf8'))).toBe(true);
    });
  });

  it('objects without a codec are refused with a hint', async () => {
    await withNamespace(async (ns) => {
      await expect(ns.put('o', { a: 1 } as never)).rejects.toThrow(/give a codec/);
    });
  });
});

describe('channels', () => {
  const Particle = z.object({ id: z.number().int(), x: z.number(), tag: z.string().default('none') });

  it('validates on put and get, with types from the schema', async () => {
    await withNamespace(async (ns) => {
      const ch = ns.channel('particles', Particle);
      await ch.put({ id: 1, x: 0.5 });
      const p = await ch.get();
      expect(p).toEqual({ id: 1, x: 0.5, tag: 'none' });
      const id: number = p.id;
      expect(id).toBe(1);
    });
  });

  it('reports schema errors with the field path, storing nothing', async () => {
    await withNamespace(async (ns) => {
      const ch = ns.channel('particles', Particle);
      const err = await ch.put({ id: 1.5, x: 'no' } as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaError);
      expect((err as SchemaError).message).toMatch(/id/);
      expect((err as SchemaError).message).toMatch(/x/);
      expect((err as SchemaError).issues.length).toBe(2);
      expect(await ns.has('particles')).toBe(false);
    });
  });

  it('rejects an invalid value put by another program', async () => {
    await withNamespace(async (ns) => {
      await ns.put('particles', '{"id":"seven"}');
      await expect(ns.channel('particles', Particle).get()).rejects.toBeInstanceOf(SchemaError);
    });
  });

  it('read leaves the value for others', async () => {
    await withNamespace(async (ns) => {
      const ch = ns.channel('config', z.object({ steps: z.number() }));
      await ch.put({ steps: 10 });
      expect(await ch.read()).toEqual({ steps: 10 });
      expect(await ch.get({ timeout: 0 })).toEqual({ steps: 10 });
    });
  });
});
