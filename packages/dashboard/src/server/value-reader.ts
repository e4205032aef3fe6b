/**
 * Reading values and per-name statistics for the browser, bounded in what reaches the client. It uses
 * `Namespace.peek` / `Namespace.stat` when @tsdbr/core offers them (a prefix read and per-name byte counts
 * without copying whole values), and falls back to a full non-blocking read otherwise.
 * @module
 */
import { isDbrError, type Namespace } from '@tsdbr/core';
import type { NameEntry } from '../api-types.js';
import type { ValueBytes } from './preview.js';

/** Optional core methods that make previews of huge values cheap. */
interface PeekingNamespace {
  peek?(name: string, options: { index?: number; maxBytes: number }): Promise<ValueBytes | undefined>;
  stat?(name: string): Promise<{ count: number; bytes: number; headBytes?: number }>;
}

/**
 * The first `maxBytes` bytes (at least; possibly all) of the index-th value under a name, and its full
 * size, without waiting. Undefined if there is no such value.
 */
export async function readValue(ns: Namespace, name: string, index: number, maxBytes: number): Promise<ValueBytes | undefined> {
  const p = ns as unknown as PeekingNamespace;
  try {
    if (typeof p.peek === 'function') return await p.peek(name, { index, maxBytes });
    const bytes = await ns.read(name, { index, timeout: 0 });
    return { bytes, size: bytes.length };
  } catch (err) {
    if (isDbrError(err, 'DBR_ERR_UNAVAIL') || isDbrError(err, 'DBR_ERR_TIMEOUT')) return undefined;
    throw err;
  }
}

/** Count of values under a name and the size of the oldest one (none if the name or namespace went meanwhile). */
export async function nameEntry(ns: Namespace, name: string): Promise<NameEntry> {
  const p = ns as unknown as PeekingNamespace;
  try {
    if (typeof p.stat === 'function') {
      const s = await p.stat(name);
      if (s.headBytes !== undefined) return { name, count: s.count, headBytes: s.headBytes };
    }
    const count = await ns.count(name);
    if (count === 0) return { name, count, headBytes: null };
    const head = await readValue(ns, name, 0, 0);
    return { name, count, headBytes: head?.size ?? null };
  } catch (err) {
    // gone meanwhile; anything else (an invalid name, an unreachable server) is the caller's error
    if (isDbrError(err, 'DBR_ERR_UNAVAIL') || isDbrError(err, 'DBR_ERR_TIMEOUT') || isDbrError(err, 'DBR_ERR_NSINVAL')) return { name, count: 0, headBytes: null };
    throw err;
  }
}
