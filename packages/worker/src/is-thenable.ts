/**
 * Telling a task's async run() from a synchronous one.
 * @module
 */

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === 'function';
}
