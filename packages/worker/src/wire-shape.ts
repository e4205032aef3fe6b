/**
 * Wire shapes: how values whose schema has a z.map or a z.set cross the wire. MessagePack and JSON have no Map
 * or Set (msgpackr decodes a map as a plain object with string keys, a set as an array), so where a task's
 * schema says z.map, a Map travels as an array of [key, value] pairs (the keys keep their types), and where it
 * says z.set, a Set travels as an array of its items: plain msgpack or JSON that any library reads and writes
 * (docs/protocol.md). `lower` turns a value into its wire form before encoding; `raise` turns the decoded
 * form back.
 *
 * The schema is walked through zod 4's `_zod.def`. A value that does not have the shape its schema says passes
 * through unchanged (validation reports it), and the caller's value is never mutated. Inside a union, the
 * option that applies is the first one that parses the value (lowering) or the raised value (raising). So a
 * wire form two options read goes to the earlier one (an array where z.set comes before z.array becomes a
 * Set), and an option whose output no longer parses as its input (a transform inside it) is not recognised on
 * the output side: its value crosses as plain msgpack.
 * @module
 */
import { type $ZodLazy, type $ZodType, type $ZodTypes, safeParse } from 'zod/v4/core';

/** Turns values of one schema into their wire form and back. */
export interface WireShape {
  /** The wire form of a value (before encoding). */
  lower(value: unknown): unknown;
  /** The value of a wire form (after decoding). */
  raise(value: unknown): unknown;
}

/** Which type of a schema the values have: what parsing takes (a task's raw input) or what it returns. */
export type SchemaSide = 'input' | 'output';

const cache: Record<SchemaSide, WeakMap<$ZodType, WireShape | null>> = { input: new WeakMap(), output: new WeakMap() };

/**
 * The wire shape of `schema`'s values on `side`, or undefined when the schema has no z.map or z.set anywhere
 * (then values cross as they are). Computed once per schema and side.
 */
export function wireShapeOf(schema: $ZodType, side: SchemaSide): WireShape | undefined {
  const cached = cache[side].get(schema);
  if (cached !== undefined) return cached ?? undefined;
  const built = new WireShapeBuilder(side).build(schema);
  const shape = built === undefined ? undefined : { lower: built.lower, raise: (value: unknown) => raiseOnce(built, value) };
  cache[side].set(schema, shape ?? null);
  return shape;
}

/** `value` in its wire form (itself when the schema has no z.map or z.set on that side). */
export function toWire(schema: $ZodType, side: SchemaSide, value: unknown): unknown {
  const shape = wireShapeOf(schema, side);
  return shape === undefined ? value : shape.lower(value);
}

/** The value of a wire form (itself when the schema has no z.map or z.set on that side). */
export function fromWire(schema: $ZodType, side: SchemaSide, value: unknown): unknown {
  const shape = wireShapeOf(schema, side);
  return shape === undefined ? value : shape.raise(value);
}

/**
 * Raises made during one top-level raise, by shape and wire object: a union tries each option on the same
 * subtree, so without this a recursive union would raise its deepest nodes once per path to them.
 */
let raiseMemo: WeakMap<object, Map<WireShape, unknown>> | undefined;

function raiseOnce(shape: WireShape, value: unknown): unknown {
  if (raiseMemo !== undefined) return shape.raise(value);
  raiseMemo = new WeakMap();
  try {
    return shape.raise(value);
  } finally {
    raiseMemo = undefined;
  }
}

type Def = $ZodTypes['_zod']['def'];

function defOf(schema: unknown): Def | undefined {
  const def = (schema as { _zod?: { def?: unknown } } | null | undefined)?._zod?.def;
  return typeof def === 'object' && def !== null ? (def as Def) : undefined;
}

/** The schemas a value of `schema` is made of, on `side` (a map's and a set's are its keys, values and items). */
function partsOf(schema: unknown, side: SchemaSide): readonly unknown[] {
  const def = defOf(schema);
  switch (def?.type) {
    case 'map':
      return [def.keyType, def.valueType];
    case 'set':
      return [def.valueType];
    case 'object':
      return def.catchall === undefined ? Object.values(def.shape) : [...Object.values(def.shape), def.catchall];
    case 'array':
      return [def.element];
    case 'tuple':
      return def.rest === null ? def.items : [...def.items, def.rest];
    case 'record':
      return [def.valueType];
    case 'union':
      return def.options;
    case 'intersection':
      return [def.left, def.right];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return [def.innerType];
    case 'success': // its output is a boolean
      return side === 'input' ? [def.innerType] : [];
    case 'pipe':
      // z.preprocess(fn, schema) is a pipe from a transform: its input's shape is the schema's
      return [side === 'input' && defOf(def.in)?.type !== 'transform' ? def.in : def.out];
    case 'lazy':
      return [(schema as $ZodLazy)._zod.innerType];
    default:
      return [];
  }
}

/** True if a z.map or z.set is reachable from `schema` on `side`; `seen` stops the walk of recursive schemas. */
function hasMapOrSet(schema: unknown, side: SchemaSide, seen: Set<unknown>): boolean {
  if (seen.has(schema)) return false;
  seen.add(schema);
  const type = defOf(schema)?.type;
  if (type === 'map' || type === 'set') return true;
  return partsOf(schema, side).some((part) => hasMapOrSet(part, side, seen));
}

/** Builds the wire shape of a schema and of the schemas inside it, each once. */
class WireShapeBuilder {
  private readonly built = new Map<unknown, WireShape | null>();

  constructor(private readonly side: SchemaSide) {}

  build(schema: unknown): WireShape | undefined {
    const known = this.built.get(schema);
    if (known !== undefined) return known ?? undefined;
    if (!hasMapOrSet(schema, this.side, new Set())) {
      this.built.set(schema, null);
      return undefined;
    }
    // a recursive schema meets itself while it is being built: those inner uses go through this forwarder
    let target: WireShape = passThrough;
    this.built.set(schema, { lower: (value) => target.lower(value), raise: (value) => target.raise(value) });
    target = this.shapeOf(schema) ?? passThrough;
    this.built.set(schema, target);
    return target;
  }

  private shapeOf(schema: unknown): WireShape | undefined {
    const def = defOf(schema);
    switch (def?.type) {
      case 'map':
        return mapShape(this.build(def.keyType), this.build(def.valueType));
      case 'set':
        return setShape(this.build(def.valueType));
      case 'object': {
        const fields = new Map<string, WireShape>();
        for (const [key, field] of Object.entries(def.shape)) {
          const shape = this.build(field);
          if (shape !== undefined) fields.set(key, shape);
        }
        const rest = def.catchall === undefined ? undefined : this.build(def.catchall);
        return objectShape(fields, new Set(Object.keys(def.shape)), rest);
      }
      case 'record':
        return objectShape(new Map(), new Set(), this.build(def.valueType));
      case 'array': {
        const element = this.build(def.element);
        return element === undefined ? undefined : arrayShape(() => element);
      }
      case 'tuple': {
        const items = def.items.map((item) => this.build(item));
        const rest = def.rest === null ? undefined : this.build(def.rest);
        return arrayShape((index) => (index < items.length ? items[index] : rest));
      }
      case 'union':
        return unionShape(
          def.options.map((option) => ({ schema: option, shape: this.build(option) })),
          (def as { discriminator?: string }).discriminator,
        );
      case 'intersection':
        return bothShapes(this.build(def.left), this.build(def.right));
      default: {
        // wrappers (optional, nullable, default, readonly, ...), pipes and lazy schemas: the one part inside
        const [inner] = partsOf(schema, this.side);
        return inner === undefined ? undefined : this.build(inner);
      }
    }
  }
}

const passThrough: WireShape = { lower: (value) => value, raise: (value) => value };

function lowered(shape: WireShape | undefined, value: unknown): unknown {
  return shape === undefined ? value : shape.lower(value);
}

function raised(shape: WireShape | undefined, value: unknown): unknown {
  if (shape === undefined) return value;
  if (raiseMemo === undefined || typeof value !== 'object' || value === null) return shape.raise(value);
  let byShape = raiseMemo.get(value);
  if (byShape === undefined) raiseMemo.set(value, (byShape = new Map()));
  if (byShape.has(shape)) return byShape.get(shape);
  const out = shape.raise(value);
  byShape.set(shape, out);
  return out;
}

/** A Map as an array of [key, value] pairs. */
function mapShape(key: WireShape | undefined, value: WireShape | undefined): WireShape {
  return {
    lower: (map) => (map instanceof Map ? Array.from(map, ([k, v]) => [lowered(key, k), lowered(value, v)]) : map),
    raise: (pairs) => (Array.isArray(pairs) && pairs.every(isPair) ? new Map(pairs.map(([k, v]) => [raised(key, k), raised(value, v)])) : pairs),
  };
}

function isPair(entry: unknown): entry is [unknown, unknown] {
  return Array.isArray(entry) && entry.length === 2;
}

/** A Set as an array of its items. */
function setShape(item: WireShape | undefined): WireShape {
  return {
    lower: (set) => (set instanceof Set ? Array.from(set, (v) => lowered(item, v)) : set),
    raise: (items) => (Array.isArray(items) ? new Set(items.map((v) => raised(item, v))) : items),
  };
}

/** An object (or record): its fields by their own shapes, the other keys by `rest` (catchall, record values). */
function objectShape(fields: ReadonlyMap<string, WireShape>, declared: ReadonlySet<string>, rest: WireShape | undefined): WireShape {
  const convert = (value: unknown, by: (shape: WireShape | undefined, v: unknown) => unknown): unknown => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    // fromEntries defines the keys, so a key named __proto__ stays a plain key
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, by(fields.get(k) ?? (declared.has(k) ? undefined : rest), v)]));
  };
  return { lower: (value) => convert(value, lowered), raise: (value) => convert(value, raised) };
}

/** An array or a tuple: item `index` by `itemShape(index)`. */
function arrayShape(itemShape: (index: number) => WireShape | undefined): WireShape {
  return {
    lower: (value) => (Array.isArray(value) ? value.map((v, i) => lowered(itemShape(i), v)) : value),
    raise: (value) => (Array.isArray(value) ? value.map((v, i) => raised(itemShape(i), v)) : value),
  };
}

/**
 * A union: a discriminated union by the option its discriminator names (lowering leaves literals as they are);
 * another by the first option that parses the value (lowering) or the raised value (raising).
 */
function unionShape(options: readonly { schema: $ZodType; shape: WireShape | undefined }[], discriminator: string | undefined): WireShape {
  const byTag = discriminator === undefined ? undefined : optionsByTag(options, discriminator);
  if (byTag !== undefined) {
    const pick = (value: unknown) => (typeof value === 'object' && value !== null ? byTag.get((value as Record<string, unknown>)[discriminator as string]) : undefined);
    return { lower: (value) => lowered(pick(value), value), raise: (value) => raised(pick(value), value) };
  }
  return {
    lower(value) {
      const option = options.find((o) => parses(o.schema, value));
      return option === undefined ? value : lowered(option.shape, value);
    },
    raise(value) {
      for (const option of options) {
        const candidate = raised(option.shape, value);
        if (parses(option.schema, candidate)) return candidate;
      }
      return value;
    },
  };
}

/** The shape of each discriminator value, or undefined when an option does not declare its values. */
function optionsByTag(options: readonly { schema: $ZodType; shape: WireShape | undefined }[], discriminator: string): Map<unknown, WireShape | undefined> | undefined {
  const byTag = new Map<unknown, WireShape | undefined>();
  for (const { schema, shape } of options) {
    const values = (schema._zod as { propValues?: Record<string, Set<unknown>> }).propValues?.[discriminator];
    if (values === undefined || values.size === 0) return undefined;
    for (const v of values) byTag.set(v, shape);
  }
  return byTag;
}

function parses(schema: $ZodType, value: unknown): boolean {
  try {
    return safeParse(schema, value).success;
  } catch {
    return false; // an async refinement or transform: not a fit for a synchronous choice
  }
}

/** An intersection: both sides' shapes, one after the other (each passes over what the other converted). */
function bothShapes(left: WireShape | undefined, right: WireShape | undefined): WireShape {
  return {
    lower: (value) => lowered(right, lowered(left, value)),
    raise: (value) => raised(right, raised(left, value)),
  };
}
