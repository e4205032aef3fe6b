/**
 * Dedup keys: at most one live task per key, decided by an atomic put-if-absent of the task id under the
 * key's tuple name.
 * @module
 */
import { isDbrError, type Namespace } from '@tsdbr/core';

/**
 * Claims `name` for task `id` and returns the id of the task that owns it: `id` if this call won, else the
 * live task's.
 */
export async function claimDedupKey(ns: Namespace, name: string, id: string): Promise<string> {
  for (let attempt = 0; attempt < 10; attempt++) {
    if (await ns.putIfAbsent(name, id)) return id;
    try {
      return (await ns.read(name, { timeout: 0 })).toString('utf8');
    } catch (err) {
      // released between our attempt and the read (the owner finished): claim again
      if (!isDbrError(err, 'DBR_ERR_UNAVAIL')) throw err;
    }
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
