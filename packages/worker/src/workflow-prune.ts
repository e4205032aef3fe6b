/**
 * Pruning of finished workflow runs: a completed run keeps only its summary (`wf:<name>:<run>:info`), for
 * dashboards and `dbr`; pruneWorkflowRuns drops the summaries (and any other state) of runs that completed
 * long enough ago. Failed runs are kept: running them again with the same run id resumes them.
 * @module
 */
import { type Duration, type Namespace, parseDuration } from '@tsdbr/core';
import { workflowRuns } from './inspect.js';
import { WorkflowNames } from './protocol.js';

/** Options of {@link pruneWorkflowRuns}. */
export interface PruneWorkflowRunsOptions {
  /** Drop runs that completed at least this long ago (default '168h', a week; 0 drops every completed run). */
  completedFor?: Duration;
  /** Also drop failed runs that were last updated that long ago (default false: they can still be resumed). */
  failed?: boolean;
}

/** Removes the state of completed (and, if asked, failed) workflow runs; resolves to the number of runs removed. */
export async function pruneWorkflowRuns(ns: Namespace, options: PruneWorkflowRunsOptions = {}): Promise<number> {
  const cutoff = Date.now() - parseDuration(options.completedFor ?? '168h', 'pruneWorkflowRuns() completedFor');
  let removed = 0;
  for (const run of await workflowRuns(ns, { limit: 1_000_000 })) {
    const info = run.info;
    if (info === undefined || info.updatedAt > cutoff) continue;
    if (info.status !== 'completed' && !(options.failed === true && info.status === 'failed')) continue;
    const names = new WorkflowNames(run.workflow, run.runId);
    await ns.remove({ template: `${names.prefix.replace(/[*?[\]\\]/g, (m) => `\\${m}`)}*` });
    removed++;
  }
  return removed;
}
