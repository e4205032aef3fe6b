/**
 * How hard the fault suite pushes: `quick` (inside `pnpm test`, < 2 min), `full` (`pnpm test:faults`,
 * ~10 min on 2 cores) or `soak` (`pnpm test:faults --soak`). TSDBR_FAULTS_MODE selects it; run-faults.ts
 * sets it, and a plain `vitest run` in this package means `full`.
 */
export type Mode = 'quick' | 'full' | 'soak';

export const mode: Mode = ((): Mode => {
  const m = process.env.TSDBR_FAULTS_MODE;
  if (m === 'quick' || m === 'soak') return m;
  return 'full';
})();

/** The value for the current mode. */
export function byMode<T>(values: { quick: T; full: T; soak: T }): T {
  return values[mode];
}
