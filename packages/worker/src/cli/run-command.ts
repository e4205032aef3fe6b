/**
 * `dbr run ./workflow.ts`: runs (or resumes) a workflow with a live progress bar, prints a summary table,
 * and exits non-zero if it failed. On the embedded backend it starts worker threads for the module's tasks.
 * @module
 */
import { availableParallelism } from 'node:os';
import { ExitCode, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { TaskClient } from '../client.js';
import { WorkflowFailedError } from '../errors.js';
import { collectTasks, collectWorkflows, importModule } from '../load-module.js';
import { createLogger } from '../logger.js';
import { WorkerPool } from '../pool.js';
import { countSteps, ProgressBar, stepTable } from '../progress.js';
import { runWorkflow, type StepReport, type Workflow, type WorkflowReport } from '../workflow.js';
import { namespaceOption, openNamespace, parseJson, positiveInt } from './common.js';
import { loadDashboard } from './load-dashboard.js';

interface RunOptions {
  id?: string;
  workflow?: string;
  args?: string;
  workers?: string;
  concurrency?: string;
  tasks?: string;
  namespace?: string;
  json?: boolean;
  dashboard?: boolean;
  port?: string;
}

/** Runs a workflow module; shared by `dbr run` and `dbr demo`. Returns the exit code. */
export async function runWorkflowModule(path: string, opts: RunOptions, globals: GlobalOptions, print: (report: WorkflowReport<unknown>) => Promise<void> | void = () => undefined): Promise<number> {
  const mod = await importModule(path);
  const workflows = collectWorkflows(mod);
  let wf: Workflow<unknown, unknown> | undefined = workflows[0];
  if (opts.workflow !== undefined) wf = workflows.find((w) => w.name === opts.workflow);
  else if (workflows.length > 1) throw new UsageError(`${path} exports ${workflows.length} workflows (${workflows.map((w) => w.name).join(', ')}): pick one with --workflow NAME.`);
  if (wf === undefined) throw new UsageError(`${path} exports no workflow${opts.workflow ? ` named "${opts.workflow}"` : ''}: export the value returned by workflow(name, fn).`);
  const log = createLogger({ level: (process.env.DBR_LOG_LEVEL as 'warn' | undefined) ?? 'warn' });
  const port = opts.port === undefined ? undefined : Number(opts.port);
  if (port !== undefined && (!/^\d+$/.test(opts.port ?? '') || port > 65535)) throw new UsageError(`--port must be a port number (0-65535; 0 picks a free one), got "${opts.port}".`);
  if (port !== undefined && !opts.dashboard) throw new UsageError('--port is the dashboard\'s port: add --dashboard.');
  const dashboardModule = opts.dashboard ? await loadDashboard() : undefined;
  const { broker, ns } = await openNamespace(globals, opts.namespace, true);
  const onMem = broker.backend === 'mem';
  const workers = opts.workers !== undefined ? Number(opts.workers) : onMem ? Math.max(1, Math.min(availableParallelism(), 8)) : 0;
  if (!Number.isInteger(workers) || workers < 0) throw new UsageError(`--workers must be a non-negative integer, got "${opts.workers}".`);
  if (onMem && workers === 0) throw new UsageError('On the embedded backend the workflow needs local workers: use --workers N (N >= 1), or set DBR_SERVER to share a Redis server with `dbr worker`.');
  const tasksModule = opts.tasks ?? path;
  if (workers > 0 && opts.tasks === undefined && collectTasks(mod).length === 0) {
    throw new UsageError(`${path} exports no tasks for the local workers: export them (e.g. \`export { simulate, reduce }\`) or name a module with --tasks.`);
  }
  let pool: WorkerPool | undefined;
  if (workers > 0) {
    pool = new WorkerPool({ member: { tasksModule, concurrency: positiveInt(opts.concurrency, '--concurrency', 1), namespace: ns.name, logLevel: process.env.DBR_LOG_LEVEL ?? 'warn', leaseTtl: '10s' }, size: workers, kind: onMem ? 'threads' : 'processes', log });
    pool.start();
  }
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  if (dashboardModule !== undefined) {
    try {
      dashboard = await dashboardModule.startDashboard({ broker, ...(port !== undefined ? { port } : {}) });
    } catch (err) {
      await pool?.close();
      await broker.close();
      throw err;
    }
    process.stderr.write(`dashboard: ${dashboard.url}\n`);
  }
  const bar = new ProgressBar();
  const abort = new AbortController();
  const onSigint = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  let report: WorkflowReport<unknown>;
  let code: number = ExitCode.OK;
  try {
    const client = new TaskClient({ namespace: ns });
    const args = opts.args !== undefined ? parseJson(opts.args, '--args') : undefined;
    let steps: readonly StepReport[] = [];
    try {
      report = await runWorkflow(wf, { client, args, signal: abort.signal, ...(opts.id ? { runId: opts.id } : {}), onStep: (_s, all) => bar.update(countSteps((steps = all))) });
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      report = (err as WorkflowFailedError & { report: WorkflowReport<unknown> }).report;
      code = abort.signal.aborted ? ExitCode.INTERRUPTED : ExitCode.FAILURE;
    }
    bar.done(countSteps(report.steps.length > 0 ? report.steps : steps));
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(`${stepTable(report.steps)}\n\n`);
      const c = countSteps(report.steps);
      process.stdout.write(`workflow ${report.workflow} run ${report.runId}: ${report.status} (${c.done}/${c.total} steps done, ${c.failed} failed, ${report.resumed} resumed) in ${(report.durationMs / 1000).toFixed(1)}s\n`);
      if (report.status === 'failed') process.stdout.write(`Fix the failures and run the same command again (same --id): completed steps are not re-run.\n`);
      await print(report);
    }
  } finally {
    process.off('SIGINT', onSigint);
    await dashboard?.close();
    await pool?.close();
    await broker.close();
  }
  return code;
}

/** Registers `dbr run`. */
export function registerRunCommand(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('run')
    .description('Run (or resume) the workflow a module exports; live progress, summary table, exit 1 on failure')
    .argument('<file>', 'module exporting a workflow (and, for local workers, its tasks)')
    .option('--id <runId>', 'run id; the same id resumes an unfinished run (default: the workflow name)')
    .option('-w, --workflow <name>', 'which workflow, if the module exports several')
    .option('--args <json>', 'arguments of the workflow function, as JSON')
    .option('--workers <n>', 'local worker threads (embedded backend; default: CPUs, max 8) or processes (Redis; default 0: use `dbr worker`)')
    .option('-c, --concurrency <n>', 'tasks at once per local worker (default 1)')
    .option('-t, --tasks <file>', 'module with the tasks for local workers (default: the workflow module)')
    .option('--json', 'print the report as JSON')
    .option('--dashboard', 'serve the dashboard in this process while the workflow runs (needs @tsdbr/dashboard); prints its URL')
    .option('--port <n>', 'port of --dashboard (default 8642; 0 picks a free one)');
  namespaceOption(cmd).action(async (file: string, opts: RunOptions) => {
    process.exitCode = await runWorkflowModule(file, opts, globals());
  });
}
