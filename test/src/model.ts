/**
 * The reference model of a namespace: a multiset of named FIFOs, in plain TypeScript. Commands run against
 * a real backend are checked one by one against it: the model says which outcomes are acceptable and then
 * follows the one observed (for a template, Redis picks an arbitrary matching name, so any matching name's
 * oldest value is accepted, and the model pops from the name that value came from; values are unique).
 */
import { globMatch } from './glob.js';

/** Which tuple: a name, or a glob template over names. */
export type Selector = { name: string } | { template: string };

/** One command of a generated sequence. `ns` and `dst` index the sequence's two namespaces. */
export type Command =
  | { op: 'put'; ns: number; name: string; value: string }
  | { op: 'putMany'; ns: number; entries: [string, string][] }
  | { op: 'putIfAbsent'; ns: number; name: string; value: string }
  | { op: 'get'; ns: number; sel: Selector }
  | { op: 'read'; ns: number; sel: Selector; index: number }
  | { op: 'peek'; ns: number; name: string; index: number }
  | { op: 'count'; ns: number; name: string }
  | { op: 'has'; ns: number; name: string }
  | { op: 'move'; ns: number; sel: Selector; dst: number }
  | { op: 'remove'; ns: number; sel: Selector }
  | { op: 'moveValue'; ns: number; name: string; dst: number; dstName: string }
  | { op: 'list'; ns: number; pattern: string }
  | { op: 'keys'; ns: number; pattern: string }
  | { op: 'query'; ns: number }
  | { op: 'drain'; ns: number; sel: Selector; consumers: number }
  /** A get that waits (up to waitMs), then a put by the same client: the put wakes it if it matches. */
  | { op: 'getWait'; ns: number; sel: Selector; putName: string; value: string; waitMs: number }
  /** A waiting get on a name, a put there, then an abort: either the get took the oldest value, or it was
   * withdrawn (AbortError) and consumed nothing. */
  | { op: 'abortRace'; ns: number; name: string; value: string };

/** What a command returned: a value, or a DbrError code. */
export type Outcome = { ok: unknown } | { err: string };

/** Long values travel and compare as their length and a digest. */
export function normValue(v: string): string {
  if (v.length <= 64) return v;
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193) >>> 0;
  return `<${v.length} chars ${v.slice(0, 12)}... #${h.toString(16)}>`;
}

const PEEK_DEFAULT_BYTES = 64 * 1024;

type Space = Map<string, string[]>;

export class Model {
  readonly spaces: Space[];

  constructor(namespaces: number) {
    this.spaces = Array.from({ length: namespaces }, () => new Map());
  }

  /** A canonical snapshot, to tell whether two models are in the same state. */
  snapshot(): string {
    return JSON.stringify(this.spaces.map((s) => [...s].filter(([, q]) => q.length > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  /**
   * Checks an observed outcome and applies it. Returns undefined if it is acceptable, or what was expected.
   */
  apply(cmd: Command, got: Outcome): string | undefined {
    const expect = (want: Outcome): string | undefined => (same(want, got) ? undefined : JSON.stringify(want));
    const space = this.spaces[cmd.ns] as Space;
    switch (cmd.op) {
      case 'put':
        this.fifo(space, cmd.name).push(cmd.value);
        return expect({ ok: null });
      case 'putMany':
        for (const [name, value] of cmd.entries) this.fifo(space, name).push(value);
        return expect({ ok: null });
      case 'putIfAbsent': {
        const q = this.fifo(space, cmd.name);
        const stored = q.length === 0;
        if (stored) q.push(cmd.value);
        return expect({ ok: stored });
      }
      case 'get':
      case 'read': {
        if ('name' in cmd.sel) {
          const q = this.fifo(space, cmd.sel.name);
          const index = cmd.op === 'read' ? cmd.index : 0;
          if (index >= q.length) return expect({ err: 'DBR_ERR_UNAVAIL' });
          const v = q[index] as string;
          if (cmd.op === 'get') q.shift();
          return expect({ ok: normValue(v) });
        }
        const candidates = this.matching(space, cmd.sel.template);
        if (candidates.length === 0) return expect({ err: 'DBR_ERR_UNAVAIL' });
        const heads = candidates.map((n) => (space.get(n) as string[])[0] as string);
        const i = 'ok' in got ? heads.findIndex((h) => normValue(h) === got.ok) : -1;
        if (i < 0) return `the oldest value of one of ${JSON.stringify(candidates)}: ${JSON.stringify(heads.map(normValue))}`;
        if (cmd.op === 'get') (space.get(candidates[i] as string) as string[]).shift();
        return undefined;
      }
      case 'peek': {
        const v = this.fifo(space, cmd.name)[cmd.index];
        if (v === undefined) return expect({ ok: null });
        return expect({ ok: { value: normValue(v.slice(0, PEEK_DEFAULT_BYTES)), size: v.length } });
      }
      case 'count':
        return expect({ ok: this.fifo(space, cmd.name).length });
      case 'has':
        return expect({ ok: this.fifo(space, cmd.name).length > 0 });
      case 'move':
      case 'remove': {
        const names = 'name' in cmd.sel ? [cmd.sel.name].filter((n) => this.fifo(space, n).length > 0) : this.matching(space, cmd.sel.template);
        const dst = cmd.op === 'move' ? (this.spaces[cmd.dst] as Space) : undefined;
        for (const n of names) {
          if (dst === space) continue;
          const values = space.get(n) as string[];
          space.set(n, []);
          if (dst) this.fifo(dst, n).push(...values);
        }
        return expect({ ok: names.length > 0 });
      }
      case 'moveValue': {
        const q = this.fifo(space, cmd.name);
        if (q.length === 0) return expect({ err: 'DBR_ERR_UNAVAIL' });
        const v = q.shift() as string;
        this.fifo(this.spaces[cmd.dst] as Space, cmd.dstName).push(v);
        return expect({ ok: normValue(v) });
      }
      case 'list':
      case 'keys':
        return expect({ ok: this.matching(space, cmd.pattern).sort() });
      case 'query': {
        const names = [...space.values()].filter((q) => q.length > 0);
        return expect({ ok: { names: names.length, values: names.reduce((n, q) => n + q.length, 0) } });
      }
      case 'getWait': {
        const candidates = this.candidates(space, cmd.sel);
        if (candidates.length === 0) {
          this.fifo(space, cmd.putName).push(cmd.value);
          const woken = 'name' in cmd.sel ? cmd.sel.name === cmd.putName : globMatch(cmd.sel.template, cmd.putName);
          if (!woken) return expect({ err: 'DBR_ERR_TIMEOUT' });
          this.fifo(space, cmd.putName).pop();
          return expect({ ok: normValue(cmd.value) });
        }
        const heads = candidates.map((n) => (space.get(n) as string[])[0] as string);
        const i = 'ok' in got ? heads.findIndex((h) => normValue(h) === got.ok) : -1;
        if (i < 0) return `the oldest value of one of ${JSON.stringify(candidates)}: ${JSON.stringify(heads.map(normValue))}`;
        (space.get(candidates[i] as string) as string[]).shift();
        this.fifo(space, cmd.putName).push(cmd.value);
        return undefined;
      }
      case 'abortRace': {
        const q = this.fifo(space, cmd.name);
        q.push(cmd.value);
        if ('err' in got && got.err === 'AbortError') return undefined;
        return expect({ ok: normValue(q.shift() as string) });
      }
      case 'drain': {
        const names = 'name' in cmd.sel ? [cmd.sel.name] : this.matching(space, cmd.sel.template);
        const all: string[] = [];
        for (const n of names) all.push(...this.fifo(space, n).splice(0));
        return expect({ ok: all.map(normValue).sort() });
      }
    }
  }

  private fifo(space: Space, name: string): string[] {
    let q = space.get(name);
    if (!q) {
      q = [];
      space.set(name, q);
    }
    return q;
  }

  private candidates(space: Space, sel: Selector): string[] {
    return 'name' in sel ? [sel.name].filter((n) => this.fifo(space, n).length > 0) : this.matching(space, sel.template);
  }

  private matching(space: Space, pattern: string): string[] {
    return [...space].filter(([n, q]) => q.length > 0 && globMatch(pattern, n)).map(([n]) => n);
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
