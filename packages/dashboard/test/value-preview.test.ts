import { msgpack } from '@tsdbr/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ValuePreview } from '../src/index.js';
import { type Fixture, fixture } from './support/fixture.js';

const SIXTEEN_MIB = 16 * 1024 * 1024;

describe('value previews', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({
      previewBytes: 4096,
      schemas: [
        { name: 'job:*', schema: z.object({ id: z.string(), size: z.number().int() }), label: 'Job' },
        { name: 'packed:*', schema: z.object({ n: z.number() }), codec: 'msgpack' },
      ],
    });
    await f.ns.put('json', JSON.stringify({ a: 1, b: [true, null, 'x'] }));
    await f.ns.put('text', 'plain text\nline two');
    await f.ns.put('bin', Buffer.from([0, 1, 2, 255, 254, 0x41]));
    await f.ns.put('packed:1', msgpack().encode({ n: 42 }));
    await f.ns.put('job:ok', JSON.stringify({ id: 'j1', size: 3 }));
    await f.ns.put('job:bad', JSON.stringify({ id: 7 }));
    await f.ns.put('fifo', 'first');
    await f.ns.put('fifo', 'second');
    const big = Buffer.alloc(SIXTEEN_MIB, 'a');
    big.write('{"start": "of a huge value"', 0);
    await f.ns.put('huge', big);
  });
  afterAll(() => f.close());

  const preview = (name: string, extra = '') => f.get<ValuePreview>(`/api/namespaces/${encodeURIComponent(f.ns.name)}/value?name=${encodeURIComponent(name)}${extra}`);

  it('detects JSON and pretty-prints it', async () => {
    const r = await preview('json');
    expect(r.body).toMatchObject({ detected: 'json', format: 'json', truncated: false, size: 27 });
    expect(JSON.parse(r.body.content)).toEqual({ a: 1, b: [true, null, 'x'] });
  });

  it('shows text as text and binary as a hex dump', async () => {
    expect((await preview('text')).body).toMatchObject({ detected: 'text', content: 'plain text\nline two' });
    const bin = (await preview('bin')).body;
    expect(bin.detected).toBe('hex');
    expect(bin.content).toMatch(/^00000000 {2}00 01 02 ff fe 41/);
    expect(bin.content).toContain('|....~A|'.replace('~', '.'));
  });

  it('decodes MessagePack maps', async () => {
    const r = await preview('packed:1');
    expect(r.body.detected).toBe('msgpack');
    expect(JSON.parse(r.body.content)).toEqual({ n: 42 });
    expect(r.body.schema).toMatchObject({ valid: true });
  });

  it('renders any value in the format asked for', async () => {
    const r = await preview('json', '&format=hex');
    expect(r.body.format).toBe('hex');
    expect(r.body.content).toMatch(/^00000000 {2}7b 22 61 22/);
  });

  it('reads the n-th value of a FIFO', async () => {
    expect((await preview('fifo', '&index=1')).body.content).toBe('second');
    const gone = await preview('fifo', '&index=2');
    expect(gone.status).toBe(404);
  });

  it('checks values against registered zod schemas', async () => {
    expect((await preview('job:ok')).body.schema).toEqual({ label: 'Job', valid: true, issues: [] });
    const bad = (await preview('job:bad')).body.schema;
    expect(bad?.valid).toBe(false);
    expect(bad?.issues.map((i) => i.path).sort()).toEqual(['id', 'size']);
    expect((await preview('text')).body.schema).toBeNull();
  });

  it('previews a 16 MiB value truncated: only previewBytes reach the client', async () => {
    const r = await preview('huge');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ size: SIXTEEN_MIB, shownBytes: 4096, truncated: true, detected: 'text' });
    expect(r.raw.length).toBeLessThan(10_000);
    expect(r.body.content.startsWith('{"start": "of a huge value"')).toBe(true);
  });

  it('lists the 16 MiB value with its size', async () => {
    const r = await f.get<{ names: { name: string; headBytes: number }[] }>(`/api/namespaces/${encodeURIComponent(f.ns.name)}/names?pattern=huge`);
    expect(r.body.names).toEqual([{ name: 'huge', count: 1, headBytes: SIXTEEN_MIB }]);
  });

  it('never lets a client raise the preview size above the server limit', async () => {
    const r = await preview('huge', '&max=1000000');
    expect(r.body.shownBytes).toBe(4096);
  });
});
