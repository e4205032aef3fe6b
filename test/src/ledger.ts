/**
 * Accounting of values through a fault: which acknowledged puts were seen again (by gets or by the final
 * drain), which twice, which never.
 */

export interface Ledger {
  acked: number;
  /** Acknowledged values never seen again. */
  lost: string[];
  /** Values seen more than once. */
  duplicates: string[];
  /** Puts that failed (no acknowledgement) but whose value landed all the same. */
  unackedLanded: number;
  failedPuts: number;
  /** Values seen that nobody put: must never happen. */
  unknown: string[];
}

export function audit(acked: string[], failedPuts: string[], seen: string[]): Ledger {
  const count = new Map<string, number>();
  for (const v of seen) count.set(v, (count.get(v) ?? 0) + 1);
  const ackedSet = new Set(acked);
  const failedSet = new Set(failedPuts);
  return {
    acked: acked.length,
    lost: acked.filter((v) => !count.has(v)),
    duplicates: [...count].filter(([, n]) => n > 1).map(([v]) => v),
    unackedLanded: failedPuts.filter((v) => count.has(v)).length,
    failedPuts: failedPuts.length,
    unknown: [...count.keys()].filter((v) => !ackedSet.has(v) && !failedSet.has(v)),
  };
}

/** Error counts by code. */
export function byCode(errors: [number, string, string, ...unknown[]][]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, op, code] of errors) out[`${op} ${code}`] = (out[`${op} ${code}`] ?? 0) + 1;
  return out;
}

/**
 * Lost values that a failed consumer call may have taken: a get is an LPOP, and when the server dies between
 * executing it and sending the reply, the value is gone and the client sees NOCONNECT. Per tuple name, up
 * to as many lost values as there were failed gets on that name are "explained"; the rest are put losses.
 */
export function explainLoss(lost: string[], nameOf: (value: string) => string, failedGets: string[]): { explained: number; unexplained: string[] } {
  const budget = new Map<string, number>();
  for (const name of failedGets) budget.set(name, (budget.get(name) ?? 0) + 1);
  const unexplained: string[] = [];
  let explained = 0;
  for (const v of lost) {
    const name = nameOf(v);
    const left = budget.get(name) ?? 0;
    if (left > 0) {
      budget.set(name, left - 1);
      explained++;
    } else unexplained.push(v);
  }
  return { explained, unexplained };
}
