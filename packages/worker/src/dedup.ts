/**
 * Dedup keys: at most one live task per key, decided by an atomic put-if-absent of the task id under the
 * key's tuple name.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import type { QueueNames } from './protocol.js';

/**
 * Claims dedup key `key` of the queue for task `id` and returns the id of the task that owns it: `id` if this
 * call won, else the live task's. A key whose owner has a result is taken over: that task ended, and its
 * worker died before it released the key (a stored result is what every submitter of the key would read, so
 * the key's window is over).
 */
export async function claimDedupKey(ns: Namespace, names: QueueNames, key: string, id: string): Promise<string> {
  const name = names.dedup(key);
  for (let attempt = 0; attempt < 10; attempt++) {
    if (await ns.putIfAbsent(name, id)) return id;
    const owner = (await ns.tryRead(name))?.toString('utf8');
    if (owner === undefined) continue; // released between our attempt and the read (the owner finished)
    if (owner === id || !(await ns.has(names.result(owner)))) return owner;
    await releaseDedupKey(ns, name, owner);
  }
  throw new Error(`Could not claim dedup key ${name}: it was released 10 times in a row while claiming; retry the submit.`);
}

/**
 * Ends the key's dedup window if task `id` still owns it: when its task reached a final state, or when a
 * submit's claim must be undone because its task was not stored. A key another task owns by now (a duplicate
 * execution finishing late, after a new submit claimed the released key) stays. Reads, then removes: the
 * owner can change between the two only if the task ends and a new submit claims the key within that gap.
 */
export async function releaseDedupKey(ns: Namespace, name: string, id: string): Promise<void> {
  const owner = await ns.tryRead(name);
  if (owner?.toString('utf8') === id) await ns.remove(name);
}
