/**
 * Values nested deeper than the preview indents (JSON or MessagePack thousands of levels deep) are shown as
 * text or a hex dump with a note, instead of failing, and the JSON of a value never outgrows its bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FailedPage, ValuePreview } from '../src/index.js';
import { displayJson, MAX_DISPLAY_DEPTH } from '../src/server/display-json.js';
import { type Fixture, fixture } from './support/fixture.js';
import { deadLetter } from './support/sim-worker.js';

const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};

describe('deeply nested values', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture({
      // JSON.stringify recurses: it runs out of stack on 20,000 levels, as a recursive zod schema would
      schemas: [{ name: 'checked', schema: { safeParse: (v: unknown) => (JSON.stringify(v), { success: true as const }) }, label: 'recursive' }],
    });
    await f.ns.put('json', `${'['.repeat(3000)}${']'.repeat(3000)}`);
    await f.ns.put('msgpack', Buffer.alloc(3000, 0x91).fill(0x90, 2999));
    await f.ns.put('object', `${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`);
    await f.ns.put('checked', `${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    await f.ns.put('shallow', JSON.stringify(nested(MAX_DISPLAY_DEPTH - 1)));
    await f.ns.put('wide', JSON.stringify(Array.from({ length: 500 }, () => nested(40))));
  });
  afterAll(() => f.close());

  const preview = (name: string, extra = '') => f.get<ValuePreview>(`/api/namespaces/${encodeURIComponent(f.ns.name)}/value?name=${name}${extra}`);

  it('shows deep JSON as text, with a note', async () => {
    for (const name of ['json', 'object']) {
      const r = await preview(name);
      expect(r.status, r.raw.slice(0, 300)).toBe(200);
      expect(r.body).toMatchObject({ detected: 'json', format: 'text', truncated: false });
      expect(r.body.note).toMatch(new RegExp(`nested deeper than ${MAX_DISPLAY_DEPTH} levels: shown as text`));
      expect(r.body.content.startsWith(name === 'json' ? '[[[[' : '{"a":{"a":')).toBe(true);
    }
    expect((await preview('json', '&format=json')).body.format).toBe('text');
  });

  it('shows deep MessagePack as a hex dump, with a note', async () => {
    const r = await preview('msgpack', '&format=msgpack');
    expect(r.status, r.raw.slice(0, 300)).toBe(200);
    expect(r.body.format).toBe('hex');
    expect(r.body.content).toMatch(/^00000000 {2}91 91 91/);
    expect(r.body.note).toMatch(/shown as a hex dump/);
  });

  it('still indents values up to the depth limit, without a note', async () => {
    const r = await preview('shallow');
    expect(r.body).toMatchObject({ detected: 'json', format: 'json' });
    expect(r.body.note).toBeUndefined();
    expect(JSON.parse(r.body.content)).toEqual(nested(MAX_DISPLAY_DEPTH - 1));
  });

  it('bounds the indented JSON of a wide and deep value', async () => {
    const r = await preview('wide');
    expect(r.status).toBe(200);
    expect(r.body.content.length).toBeLessThan(2 * 64 * 1024 + 100);
    expect(r.body.content).toMatch(/… \(cut at \d+ characters\)$/);
  });

  it('answers when a schema check runs out of stack on the value', async () => {
    const r = await preview('checked');
    expect(r.status, r.raw.slice(0, 300)).toBe(200);
    expect(r.body.schema).toMatchObject({ valid: null });
    expect(r.body.schema?.note).toMatch(/^not checked/);
  });

  it('lists failed tasks whose input is nested too deeply', async () => {
    await deadLetter(f.ns, 'deep', 'd1', 'boom', nested(1000));
    const r = await f.get<FailedPage>(`/api/queues/${encodeURIComponent(f.ns.name)}/deep/failed`);
    expect(r.status, r.raw.slice(0, 300)).toBe(200);
    // the indentation of the first levels fills the input's preview before the depth limit is reached
    expect(r.body.tasks[0]?.input).toMatch(/^\[\n {2}\[\n[\s\S]*… \(cut at 4096 characters\)$/);
  });
});

describe('displayJson', () => {
  it('writes what JSON.stringify(value, null, 2) writes', () => {
    const values: unknown[] = [null, 0, -0, 1e21, Number.NaN, 'a"\n', true, [], {}, [1, [2, [3, {}]]], { a: undefined, b: () => 1, c: [undefined, null] }, { d: new Date(0), e: [] }];
    for (const v of values) expect(displayJson(v, 1e6)?.text).toBe(JSON.stringify(v, null, 2));
  });

  it('writes bigints, bytes and Maps readably', () => {
    expect(displayJson({ a: 10n, b: new Uint8Array(3), m: new Map([[1, 'x']]) }, 1e6)?.text).toBe(JSON.stringify({ a: '10', b: '<3 bytes>', m: { 1: 'x' } }, null, 2));
  });

  it('stops at the size asked for', () => {
    expect(displayJson(Array.from({ length: 1000 }, (_, i) => i), 100)).toEqual({ text: expect.stringMatching(/^\[\n {2}0,/), cut: true });
    expect(displayJson(Array.from({ length: 1000 }, (_, i) => i), 100)?.text).toHaveLength(100);
  });
});
