/**
 * References to workflow steps' future outputs, and their resolution inside a step's input: the dataflow
 * that builds a workflow's DAG.
 * @module
 */
import { DependencyFailedError } from './errors.js';

const STEP_REF = Symbol.for('tsdbr.worker.StepRef');

/** A reference to a step's future output. Await it, or pass it inside another step's input. */
export class StepRef<T> implements PromiseLike<T> {
  /** @internal */
  readonly [STEP_REF] = true;

  /** @internal */
  constructor(
    /** The step's key, unique in its run. */
    readonly key: string,
    /** @internal */
    readonly promise: Promise<T>,
  ) {
    promise.catch(() => undefined); // failures are reported by the run; awaiting still rejects
  }

  then<A = T, B = never>(onfulfilled?: ((value: T) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.promise.then(onfulfilled, onrejected);
  }
}

/** True if value is a StepRef (works across module copies). */
export function isStepRef(value: unknown): value is StepRef<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[STEP_REF] === true;
}

/** A value in which any part may be a StepRef (or another promise) to that part. */
export type Refs<T> =
  | T
  | StepRef<T>
  | PromiseLike<T>
  | (T extends readonly (infer E)[] ? readonly Refs<E>[] : T extends Map<infer K, infer V> ? Map<Refs<K>, Refs<V>> : T extends Set<infer E> ? Set<Refs<E>> : T extends object ? { [K in keyof T]: Refs<T[K]> } : never);

/** Replaces every StepRef inside value with its output (deeply, in arrays, plain objects, Maps and Sets). */
export async function resolveRefs(value: unknown, step: string): Promise<unknown> {
  if (isStepRef(value) || (typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function')) {
    try {
      return await (value as PromiseLike<unknown>);
    } catch (err) {
      throw err instanceof DependencyFailedError ? err : new DependencyFailedError(step, err);
    }
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveRefs(v, step)));
  // z.map and z.set inputs are supported, so a reference may sit in a Map's keys or values or in a Set
  if (value instanceof Map) return new Map(await Promise.all([...value].map(async ([k, v]) => [await resolveRefs(k, step), await resolveRefs(v, step)] as const)));
  if (value instanceof Set) return new Set(await Promise.all([...value].map((v) => resolveRefs(v, step))));
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveRefs(v, step)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}
