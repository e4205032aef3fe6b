import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineTask, NonRetryableError, runWorkflow, workflow } from '../src/index.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const letters = defineTask({
  name: 'ms-letters',
  input: z.object({ n: z.number().int() }),
  output: z.map(z.number(), z.string()),
  run: ({ n }) => new Map(Array.from({ length: n }, (_, i) => [i + 1, String.fromCharCode(97 + i)] as const)),
});

const nested = defineTask({
  name: 'ms-nested',
  input: z.object({ withOptional: z.boolean() }),
  output: z.object({
    byId: z.map(z.number(), z.string()),
    rows: z.array(z.map(z.string(), z.number())),
    maybe: z.map(z.string(), z.boolean()).optional(),
    tags: z.set(z.string()),
  }),
  run: ({ withOptional }) => ({
    byId: new Map([[7, 'seven']]),
    rows: [new Map([['a', 1]]), new Map([['b', 2], ['c', 3]])],
    ...(withOptional ? { maybe: new Map([['yes', true]]) } : {}),
    tags: new Set(['x', 'y']),
  }),
});

const distinct = defineTask({
  name: 'ms-distinct',
  input: z.object({ words: z.array(z.string()) }),
  output: z.set(z.string()),
  run: ({ words }) => new Set(words),
});

/** What run() saw of its input: the kinds of its values, and a digest of their contents. */
const inspectsInput = defineTask({
  name: 'ms-inspects-input',
  input: z.object({ weights: z.map(z.number(), z.string()), seen: z.set(z.number()) }),
  output: z.object({ weightsIsMap: z.boolean(), seenIsSet: z.boolean(), keys: z.array(z.number()), seen: z.array(z.number()) }),
  run: ({ weights, seen }) => ({ weightsIsMap: weights instanceof Map, seenIsSet: seen instanceof Set, keys: [...weights.keys()], seen: [...seen] }),
});

const mapOrText = defineTask({
  name: 'ms-map-or-text',
  input: z.object({ value: z.union([z.string(), z.map(z.string(), z.number())]) }),
  output: z.union([z.string(), z.map(z.string(), z.number())]),
  run: ({ value }) => value,
});

interface TreeNode {
  name: string;
  attrs: Map<string, number>;
  children: TreeNode[];
}
const Tree: z.ZodType<TreeNode> = z.lazy(() => z.object({ name: z.string(), attrs: z.map(z.string(), z.number()), children: z.array(Tree) }));

const echoTree = defineTask({
  name: 'ms-echo-tree',
  input: Tree,
  output: Tree,
  run: (tree) => tree,
});

/** The input is a Map (keys become the run's input), the output is made into a Map by a transform and a pipe. */
const transformed = defineTask({
  name: 'ms-transformed',
  input: z.map(z.string(), z.number()).transform((m) => [...m.entries()].map(([k, v]) => [k.toUpperCase(), v * 10] as [string, number])),
  output: z
    .array(z.tuple([z.string(), z.number()]))
    .transform((pairs) => new Map(pairs))
    .pipe(z.map(z.string(), z.number())),
  run: (pairs) => pairs,
});

/** Fails (for good) while globalThis.__msFail is true: a workflow run then stops after its first step. */
const valuesOf = defineTask({
  name: 'ms-values-of',
  input: z.object({ m: z.map(z.number(), z.string()) }),
  output: z.set(z.string()),
  retries: 0,
  run: ({ m }) => {
    if (!(m instanceof Map)) throw new NonRetryableError(`the input is not a Map: ${JSON.stringify(m)}`);
    if (globalThis.__msFail === true) throw new NonRetryableError('failing on purpose');
    return new Set(m.values());
  },
});

declare global {
  var __msFail: boolean | undefined;
}

const tasks = [letters, nested, distinct, inspectsInput, mapOrText, echoTree, transformed, valuesOf];

describe('Map and Set in task inputs and outputs', () => {
  it('an output Map comes back as a Map with its number keys, typed Map<number, string>', async () => {
    const { ns } = await freshNamespace('ms-top');
    const worker = await startWorker(ns, { tasks });
    const events: unknown[] = [];
    worker.on('completed', (e) => events.push(e.output));
    const handle = await clientOn(ns).submit(letters, { n: 3 });
    const out = await handle.result({ timeout: '60s' });
    expectTypeOf(out).toEqualTypeOf<Map<number, string>>();
    expect(out).toEqual(new Map([[1, 'a'], [2, 'b'], [3, 'c']]));
    await until(() => events.length === 1, "the 'completed' event"); // emitted after the result is stored
    expect(events).toEqual([new Map([[1, 'a'], [2, 'b'], [3, 'c']])]); // the output itself, not its wire form
  });

  it('Maps and Sets nested in objects, arrays and optional fields come back; so does a Set output', async () => {
    const { ns } = await freshNamespace('ms-nested');
    await startWorker(ns, { tasks });
    const client = clientOn(ns);
    const [withMaybe, without] = await Promise.all([client.submit(nested, { withOptional: true }), client.submit(nested, { withOptional: false })]);
    expect(await withMaybe.result({ timeout: '60s' })).toEqual({
      byId: new Map([[7, 'seven']]),
      rows: [new Map([['a', 1]]), new Map([['b', 2], ['c', 3]])],
      maybe: new Map([['yes', true]]),
      tags: new Set(['x', 'y']),
    });
    expect(await without.result({ timeout: '60s' })).toEqual({ byId: new Map([[7, 'seven']]), rows: [new Map([['a', 1]]), new Map([['b', 2], ['c', 3]])], tags: new Set(['x', 'y']) });
    const [set] = await client.submitMany(distinct, [{ words: ['b', 'a', 'b'] }]);
    const words = await set!.result({ timeout: '60s' });
    expectTypeOf(words).toEqualTypeOf<Set<string>>();
    expect(words).toEqual(new Set(['b', 'a']));
  });

  it('an input Map and Set reach run() as a Map and a Set', async () => {
    const { ns } = await freshNamespace('ms-input');
    await startWorker(ns, { tasks });
    const handle = await clientOn(ns).submit(inspectsInput, { weights: new Map([[10, 'ten'], [20, 'twenty']]), seen: new Set([3, 1]) });
    expect(await handle.result({ timeout: '60s' })).toEqual({ weightsIsMap: true, seenIsSet: true, keys: [10, 20], seen: [3, 1] });
  });

  it('a foreign program writes and reads them as [key, value] pairs and arrays (JSON here)', async () => {
    const { ns } = await freshNamespace('ms-json');
    await startWorker(ns, { tasks });
    await ns.put('q:{default}:pending', JSON.stringify({ id: 'from-py-1', task: 'ms-inspects-input', input: { weights: [[1, 'one']], seen: [5] } }));
    await ns.put('q:{default}:pending', JSON.stringify({ id: 'from-py-2', task: 'ms-letters', input: { n: 2 } }));
    const inspected = JSON.parse((await ns.get('q:{default}:result:from-py-1', { timeout: '60s' })).toString('utf8'));
    expect(inspected).toMatchObject({ ok: true, output: { weightsIsMap: true, seenIsSet: true, keys: [1], seen: [5] } });
    const lettered = JSON.parse((await ns.get('q:{default}:result:from-py-2', { timeout: '60s' })).toString('utf8'));
    expect(lettered).toMatchObject({ ok: true, output: [[1, 'a'], [2, 'b']] });
  });

  it('a union holding a map, a recursive lazy schema and transforms round-trip', async () => {
    const { ns } = await freshNamespace('ms-shapes');
    await startWorker(ns, { tasks });
    const client = clientOn(ns);
    const tree: TreeNode = { name: 'root', attrs: new Map([['depth', 0]]), children: [{ name: 'leaf', attrs: new Map([['depth', 1], ['weight', 5]]), children: [] }] };
    const [asMap, asText, echoed, upper] = await Promise.all([
      client.submit(mapOrText, { value: new Map([['k', 1]]) }).then((h) => h.result({ timeout: '60s' })),
      client.submit(mapOrText, { value: 'plain' }).then((h) => h.result({ timeout: '60s' })),
      client.submit(echoTree, tree).then((h) => h.result({ timeout: '60s' })),
      client.submit(transformed, new Map([['a', 1], ['b', 2]])).then((h) => h.result({ timeout: '60s' })),
    ]);
    expectTypeOf(asMap).toEqualTypeOf<string | Map<string, number>>();
    expect(asMap).toEqual(new Map([['k', 1]]));
    expect(asText).toBe('plain');
    expect(echoed).toEqual(tree);
    expectTypeOf(upper).toEqualTypeOf<Map<string, number>>();
    expect(upper).toEqual(new Map([['A', 10], ['B', 20]]));
  });

  it('a handle made later from the task and the id also brings the Map back', async () => {
    const { ns } = await freshNamespace('ms-handle');
    await startWorker(ns, { tasks });
    const { id } = await clientOn(ns).submit(letters, { n: 1 });
    const later = await clientOn(ns).handle(letters, id);
    expect(await later.result({ timeout: '60s' })).toEqual(new Map([[1, 'a']]));
  });

  it('a workflow step outputting a Map feeds another step, and a resumed run reuses the saved Map', async () => {
    const { ns } = await freshNamespace('ms-wf');
    await startWorker(ns, { tasks, concurrency: 2 });
    const wf = workflow('ms-map-flow', (w) => {
      const m = w.run(letters, { n: 2 });
      return { m, values: w.run(valuesOf, { m }) };
    });
    globalThis.__msFail = true;
    await expect(runWorkflow(wf, { client: clientOn(ns), runId: 'r' })).rejects.toThrow(/failing on purpose/);
    expect(await ns.list('wf:ms-map-flow:r:out:ms-letters.*')).toHaveLength(1);
    globalThis.__msFail = false;
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.resumed).toBe(1);
    expect(report.steps.find((s) => s.key === 'ms-letters.0')?.state).toBe('cached');
    expect(report.output).toEqual({ m: new Map([[1, 'a'], [2, 'b']]), values: new Set(['a', 'b']) });
  });
});
