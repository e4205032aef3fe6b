import { msgpack } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type SchemaSide, wireShapeOf } from '../src/wire-shape.js';

const mp = msgpack<unknown>();

/** What the other side of the wire gets: lowered, through msgpack, raised. */
function acrossTheWire(schema: z.ZodType, side: SchemaSide, value: unknown): unknown {
  const shape = wireShapeOf(schema, side);
  expect(shape).toBeDefined();
  return shape!.raise(mp.decode(Buffer.from(mp.encode(shape!.lower(value)))));
}

interface TreeNode {
  name: string;
  attrs: Map<string, number>;
  children: TreeNode[];
}
const LazyTree: z.ZodType<TreeNode> = z.lazy(() => z.object({ name: z.string(), attrs: z.map(z.string(), z.number()), children: z.array(LazyTree) }));

const GetterTree = z.object({
  tags: z.set(z.string()),
  get kids() {
    return z.array(GetterTree);
  },
});

describe('wire shapes', () => {
  it('is undefined for schemas with no map or set anywhere (recursive ones too), and computed once', () => {
    interface Plain {
      name: string;
      children: Plain[];
    }
    const PlainTree: z.ZodType<Plain> = z.lazy(() => z.object({ name: z.string(), children: z.array(PlainTree) }));
    for (const schema of [z.number(), z.date(), z.object({ a: z.string(), b: z.array(z.number()).optional() }), z.record(z.string(), z.tuple([z.number()])), z.union([z.string(), z.null()]), z.unknown(), PlainTree]) {
      expect(wireShapeOf(schema, 'input')).toBeUndefined();
      expect(wireShapeOf(schema, 'output')).toBeUndefined();
    }
    const withMap = z.object({ m: z.map(z.string(), z.number()) });
    expect(wireShapeOf(withMap, 'output')).toBe(wireShapeOf(withMap, 'output'));
  });

  it('a Map becomes [key, value] pairs keeping its keys\' types, a Set an array of its items', () => {
    const schema = z.object({ m: z.map(z.number(), z.string()), s: z.set(z.number()) });
    const shape = wireShapeOf(schema, 'output')!;
    expect(shape.lower({ m: new Map([[1, 'a'], [2, 'b']]), s: new Set([3, 4]) })).toEqual({ m: [[1, 'a'], [2, 'b']], s: [3, 4] });
    expect(shape.raise({ m: [[1, 'a']], s: [3] })).toEqual({ m: new Map([[1, 'a']]), s: new Set([3]) });
  });

  it('lowering then raising gives an equal value, through msgpack, wherever the map or set sits', () => {
    const cases: [z.ZodType, unknown][] = [
      [z.map(z.number(), z.string()), new Map([[1, 'one'], [2, 'two']])],
      [z.set(z.string()), new Set(['a', 'b'])],
      [z.map(z.string(), z.set(z.number())), new Map([['x', new Set([1, 2])], ['y', new Set<number>()]])],
      [z.map(z.set(z.number()), z.date()), new Map([[new Set([1]), new Date(1_700_000_000_000)]])],
      [z.array(z.map(z.string(), z.number())), [new Map([['a', 1]]), new Map()]],
      [z.tuple([z.string(), z.set(z.number())], z.map(z.number(), z.number())), ['head', new Set([1]), new Map([[1, 2]]), new Map([[3, 4]])]],
      [z.record(z.string(), z.set(z.string())), { a: new Set(['x']), b: new Set<string>() }],
      [z.object({ id: z.string() }).catchall(z.set(z.number())), { id: 'i', extra: new Set([1]) }],
      [z.object({ m: z.map(z.string(), z.number()).optional(), n: z.set(z.number()).nullable() }), { n: null }],
      [z.object({ m: z.map(z.string(), z.number()).optional(), n: z.set(z.number()).nullable() }), { m: new Map([['k', 1]]), n: new Set([2]) }],
      [z.object({ m: z.map(z.string(), z.number()).default(new Map()).readonly() }), { m: new Map([['k', 1]]) }],
      [z.object({ m: z.map(z.string(), z.number()).catch(new Map()) }), { m: new Map([['k', 1]]) }],
      [z.intersection(z.object({ a: z.map(z.string(), z.number()) }), z.object({ b: z.set(z.string()) })), { a: new Map([['k', 1]]), b: new Set(['s']) }],
      [LazyTree, { name: 'root', attrs: new Map([['depth', 0]]), children: [{ name: 'leaf', attrs: new Map([['depth', 1]]), children: [] }] }],
      [GetterTree, { tags: new Set(['r']), kids: [{ tags: new Set(['k']), kids: [] }] }],
    ];
    for (const [schema, value] of cases) {
      expect(schema.safeParse(value).success).toBe(true);
      expect(acrossTheWire(schema, 'input', value)).toEqual(value);
      expect(acrossTheWire(schema, 'output', value)).toEqual(value);
    }
  });

  it('a union takes the option that fits the value', () => {
    const schema = z.union([z.string(), z.map(z.string(), z.number()), z.object({ s: z.set(z.number()) })]);
    for (const value of ['text', new Map([['a', 1]]), { s: new Set([1, 2]) }]) expect(acrossTheWire(schema, 'output', value)).toEqual(value);
    const tagged = z.discriminatedUnion('kind', [z.object({ kind: z.literal('m'), m: z.map(z.number(), z.number()) }), z.object({ kind: z.literal('s'), s: z.set(z.number()) })]);
    for (const value of [{ kind: 'm', m: new Map([[1, 2]]) }, { kind: 's', s: new Set([3]) }]) expect(acrossTheWire(tagged, 'input', value)).toEqual(value);
  });

  it('a pipe is walked on its input side for inputs and its output side for outputs', () => {
    const mapIn = z.map(z.string(), z.number()).transform((m) => [...m.keys()]);
    expect(wireShapeOf(mapIn, 'output')).toBeUndefined();
    expect(acrossTheWire(mapIn, 'input', new Map([['a', 1]]))).toEqual(new Map([['a', 1]]));
    const mapOut = z
      .array(z.tuple([z.string(), z.number()]))
      .transform((pairs) => new Map(pairs))
      .pipe(z.map(z.string(), z.number()));
    expect(wireShapeOf(mapOut, 'input')).toBeUndefined();
    expect(acrossTheWire(mapOut, 'output', new Map([['a', 1]]))).toEqual(new Map([['a', 1]]));
  });

  it('never changes the value it is given, and passes through values of another shape', () => {
    const schema = z.object({ m: z.map(z.string(), z.set(z.number())), list: z.array(z.set(z.string())) });
    const shape = wireShapeOf(schema, 'input')!;
    const value = { m: new Map([['k', new Set([1])]]), list: [new Set(['a'])] };
    const copy = structuredClone(value);
    shape.lower(value);
    expect(value).toEqual(copy);
    const wire = { m: [['k', [1]]], list: [['a']] };
    const wireCopy = structuredClone(wire);
    shape.raise(wire);
    expect(wire).toEqual(wireCopy);
    expect(shape.lower('not an object')).toBe('not an object');
    const misfit = { m: { k: [1] }, list: 'nope' };
    expect(shape.raise(misfit)).toEqual(misfit);
    expect(wireShapeOf(z.map(z.string(), z.number()), 'output')!.raise([1, 2, 3])).toEqual([1, 2, 3]); // not pairs
  });

  it('keeps keys it does not know and a key named __proto__ as plain keys', () => {
    const shape = wireShapeOf(z.looseObject({ m: z.map(z.string(), z.number()) }), 'output')!;
    const raised = shape.raise(JSON.parse('{"m":[["a",1]],"other":[1],"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(raised.m).toEqual(new Map([['a', 1]]));
    expect(raised.other).toEqual([1]);
    expect(Object.getPrototypeOf(raised)).toBe(Object.prototype);
    expect(Object.hasOwn(raised, '__proto__')).toBe(true);
  });

  it('raises deep recursive unions in time linear in their size (discriminated or not)', () => {
    type Expr = { op: 'and' | 'or'; args: Expr[] } | { op: 'tag'; s: Set<string> };
    const byTag: z.ZodType<Expr> = z.lazy(() =>
      z.discriminatedUnion('op', [z.object({ op: z.literal('and'), args: z.array(byTag) }), z.object({ op: z.literal('or'), args: z.array(byTag) }), z.object({ op: z.literal('tag'), s: z.set(z.string()) })]),
    );
    const plain: z.ZodType<Expr> = z.lazy(() => z.union([z.object({ op: z.literal('and'), args: z.array(plain) }), z.object({ op: z.literal('or'), args: z.array(plain) }), z.object({ op: z.literal('tag'), s: z.set(z.string()) })]));
    let expr: Expr = { op: 'tag', s: new Set(['leaf']) };
    for (let i = 0; i < 40; i++) expr = { op: 'or', args: [expr, { op: 'tag', s: new Set([`t${i}`]) }] };
    for (const schema of [byTag, plain]) {
      // 40 levels: without the per-call memo (or the discriminator) this took longer than the test's timeout
      const back = acrossTheWire(schema, 'input', expr) as Expr;
      let node = back;
      for (let i = 39; i >= 0; i--) {
        expect(node.op).toBe('or');
        const [inner, leaf] = (node as { args: Expr[] }).args as [Expr, Expr];
        expect((leaf as { s: Set<string> }).s).toEqual(new Set([`t${i}`]));
        node = inner;
      }
      expect((node as { s: Set<string> }).s).toEqual(new Set(['leaf']));
    }
  });

  it('walks z.preprocess by the schema it feeds (its input side starts with a transform)', () => {
    const schema = z.preprocess((v) => v, z.object({ m: z.map(z.string(), z.number()) }));
    expect(acrossTheWire(schema, 'input', { m: new Map([['a', 1]]) })).toEqual({ m: new Map([['a', 1]]) });
  });
});
