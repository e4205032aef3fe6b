/**
 * fast-check generators of command sequences over a small pool of names, chosen so that templates often
 * match several names and so that glob metacharacters appear in names too. Names that moveValue links share
 * the {q} hash tag, so that on Redis Cluster they live in one slot (moveValue needs that there).
 */
import fc from 'fast-check';
import { globEscape } from './glob.js';
import type { Command, Selector } from './model.js';

export const NAMES = ['a', 'b', 'ab', 'ba', 'a1', 'a10', 'job-1', 'job-2', 'x*', 'x?', 'x[1]', 'x\\y', '^a', 'a b', ':c', 'é', '{q}a', '{q}b'];
const TAGGED = ['{q}a', '{q}b'];
/** Pieces of templates: literals, wildcards, sets, ranges, negations and escapes. */
const TOKENS = ['*', '?', 'a', 'b', '1', 'x', 'job-', '[ab]', '[^a]', '[a-c]', '[0-9]', '[*?]', '\\*', '\\?', '\\[', '\\\\', '{q}', 'é', ':', ' '];
const BIG = 70_000; // over the 64 KiB scratch buffer and peek's default window

/** A few names come up often, so that commands in a sequence meet on them. */
const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a', 'ab', 'x*', '{q}a') }, { weight: 2, arbitrary: fc.constantFrom(...NAMES) });
const template = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 4 }).map((t) => t.join('')) },
  { weight: 2, arbitrary: name.map(globEscape) },
  { weight: 1, arbitrary: name.map((n) => `${globEscape(n.slice(0, 1))}*`) },
  { weight: 1, arbitrary: fc.constant('*') },
);
const selector: fc.Arbitrary<Selector> = fc.oneof(
  { weight: 3, arbitrary: name.map((n) => ({ name: n })) },
  { weight: 2, arbitrary: template.map((t) => ({ template: t })) },
);
/** A payload; the runner prefixes it with a unique id, so every value in a sequence is distinct. */
const payload = fc.oneof({ weight: 30, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: fc.constant(`BIG`) });
const ns = fc.constantFrom(0, 1);
const main = fc.constant(0);

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constant('put' as const), ns: fc.oneof({ weight: 4, arbitrary: main }, ns), name, value: payload }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('putMany' as const), ns: main, entries: fc.array(fc.tuple(name, payload), { minLength: 1, maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('putIfAbsent' as const), ns: main, name, value: payload }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('get' as const), ns, sel: selector }) },
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.record({ op: fc.constant('read' as const), ns, sel: name.map((n): Selector => ({ name: n })), index: fc.nat(3) }),
      fc.record({ op: fc.constant('read' as const), ns, sel: template.map((t): Selector => ({ template: t })), index: fc.constant(0) }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const), ns, name, index: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('count' as const), ns, name }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('has' as const), ns, name }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('move' as const), ns, sel: selector, dst: ns }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), ns, sel: selector }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('moveValue' as const), ns, name: fc.constantFrom(...TAGGED), dst: ns, dstName: fc.constantFrom(...TAGGED) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('list' as const), ns, pattern: template }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('keys' as const), ns, pattern: template }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('query' as const), ns }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drain' as const), ns, sel: selector, consumers: fc.integer({ min: 1, max: 8 }) }) },
  {
    weight: 1,
    arbitrary: name.chain((putName) =>
      fc.record({
        op: fc.constant('getWait' as const),
        ns: main,
        sel: fc.oneof({ weight: 2, arbitrary: fc.constant<Selector>({ name: putName }) }, { weight: 1, arbitrary: template.map((t): Selector => ({ template: t })) }),
        putName: fc.constant(putName),
        value: payload,
        waitMs: fc.constant(600), // a matching put comes 20 ms after the get: room for a slow, busy machine
      }),
    ),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abortRace' as const), ns: main, name, value: payload }) },
);

/** Gives every value a unique prefix (its position), and expands BIG payloads. */
function uniqueValues(cmds: Command[]): Command[] {
  const v = (id: string, p: string) => (p === 'BIG' ? `${id}.${'x'.repeat(BIG)}` : `${id}.${p}`);
  return cmds.map((c, i) => {
    if (c.op === 'put' || c.op === 'putIfAbsent' || c.op === 'getWait' || c.op === 'abortRace') return { ...c, value: v(String(i), c.value) };
    if (c.op === 'putMany') return { ...c, entries: c.entries.map(([n, p], j): [string, string] => [n, v(`${i}-${j}`, p)]) };
    return c;
  });
}

/** Sequences of 1..maxLength commands. */
export function commandSequences(maxLength: number): fc.Arbitrary<Command[]> {
  return fc.array(command, { minLength: 1, maxLength, size: 'max' }).map(uniqueValues);
}
