/**
 * `dbr run ./workflow.ts`: runs (or resumes) a workflow with a live progress bar, prints a summary table,
 * and exits non-zero if it failed. On the embedded backend it starts worker threads for the module's tasks.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { Namespace } from '@tsdbr/core';
import { ExitCode, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { TaskClient } from '../client.js';
import { WorkflowFailedError } from '../errors.js';
import { collectTasks, collectWorkflows, importModule, loadTasks } from '../load-module.js';
import { workers as workerHeartbeats, workflowRun } from '../inspect.js';
import { createLogger } from '../logger.js';
import { WorkerPool } from '../pool.js';
import { countSteps, ProgressBar, stepTable } from '../progress.js';
import { runWorkflow, type StepReport, type Workflow, type WorkflowReport } from '../workflow.js';
import { intInRange, loadingModule, logLevelFromEnv, namespaceOption, openNamespace, parseJson, positiveInt } from './common.js';
import { type DashboardModule, loadDashboard } from './load-dashboard.js';

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

/** The workflow a module exports (the one named by --workflow, if it exports several). */
function pickWorkflow(mod: Record<string, unknown>, path: string, name: string | undefined): Workflow<unknown, unknown> {
  const workflows = collectWorkflows(mod);
  let wf: Workflow<unknown, unknown> | undefined = workflows[0];
  if (name !== undefined) wf = workflows.find((w) => w.name === name);
  else if (workflows.length > 1) throw new UsageError(`${path} exports ${workflows.length} workflows (${workflows.map((w) => w.name).join(', ')}): pick one with --workflow NAME.`);
  if (wf === undefined) throw new UsageError(`${path} exports no workflow${name ? ` named "${name}"` : ''}: export the value returned by workflow(name, fn).`);
  return wf;
}

/** Starts the dashboard of --dashboard; a start-up failure ends `dbr run` as it ends `dbr dashboard` (port in use: exit 6). */
async function startRunDashboard(module: DashboardModule, options: Parameters<DashboardModule['startDashboard']>[0]): Promise<{ url: string; close(): Promise<void> }> {
  try {
    return await module.startDashboard(options);
  } catch (err) {
    throw module.asCliError?.(err) ?? err;
  }
}

function portOption(opts: RunOptions): number | undefined {
  if (opts.port === undefined) return undefined;
  const port = intInRange(opts.port, '--port', 0, 65535);
  if (!opts.dashboard) throw new UsageError("--port is the dashboard's port: add --dashboard.");
  return port;
}

/**
 * Checks, before any worker starts, that the local workers will find tasks: in --tasks, else in the workflow
 * module. A pool member that cannot load them would only crash and be restarted, and the run would wait forever.
 */
async function checkLocalTasks(path: string, mod: Record<string, unknown>, tasksModule: string | undefined): Promise<void> {
  if (tasksModule !== undefined) await loadingModule(loadTasks(tasksModule));
  else if (collectTasks(mod).length === 0) throw new UsageError(`${path} exports no tasks for the local workers: export them (e.g. \`export { simulate, reduce }\`) or name a module with --tasks.`);
}

/** How long a run on a shared backend without local workers waits for a worker before it says how to start one. */
const NO_WORKER_HINT_MS = 5000;

/**
 * Without local workers the run waits for `dbr worker` processes, silently. Until a step finishes, this looks
 * every few seconds for queues of submitted steps that no live worker serves, and says once, on stderr, how
 * to start one. Returns the function that stops looking.
 */
function hintWhileNoWorkerServes(ns: Namespace, workflow: string, runId: string, steps: () => readonly StepReport[], workerCommand: string): () => void {
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    if (steps().some((s) => s.state === 'done' || s.state === 'failed')) return; // workers are there
    const queues = await queuesWithoutLiveWorker(ns, workflow, runId);
    if (queues.length === 0) return schedule();
    const clearBar = process.stderr.isTTY ? '\r\x1b[K' : '';
    process.stderr.write(`${clearBar}dbr run: no worker serves queue ${queues.join(', ')} (nothing ran for ${NO_WORKER_HINT_MS / 1000}s): start one where DBR_SERVER reaches, e.g. \`${workerCommand}\`, or run with --workers N.\n`);
  };
  const schedule = () => {
    timer = setTimeout(() => void look().catch(() => undefined), NO_WORKER_HINT_MS);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}

/** Queues of a run's submitted, unfinished steps that no worker with a fresh heartbeat serves. */
async function queuesWithoutLiveWorker(ns: Namespace, workflow: string, runId: string): Promise<string[]> {
  const run = await workflowRun(ns, workflow, runId);
  const queues = new Set((run?.steps ?? []).filter((s) => !s.done && s.task !== undefined).map((s) => s.task!.queue));
  const now = Date.now();
  for (const hb of await workerHeartbeats(ns)) {
    // a worker beats every third of its lease; one silent for two leases is gone
    if (now - hb.lastBeat < 2 * hb.leaseTtlMs) for (const q of hb.queues) queues.delete(q);
  }
  return [...queues].sort();
}

/** Runs a workflow module; shared by `dbr run` and `dbr demo`. Returns the exit code. */
export async function runWorkflowModule(path: string, opts: RunOptions, globals: GlobalOptions, print: (report: WorkflowReport<unknown>) => Promise<void> | void = () => undefined): Promise<number> {
  // from the start, before the namespace exists: the first SIGINT/SIGTERM stops the run and lets it clean up
  // (a signal during set-up would otherwise kill the process and leave the namespace behind); a second one ends it
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runWithSignal(path, opts, globals, print, abort);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runWithSignal(path: string, opts: RunOptions, globals: GlobalOptions, print: (report: WorkflowReport<unknown>) => Promise<void> | void, abort: AbortController): Promise<number> {
  const logLevel = logLevelFromEnv('warn');
  const port = portOption(opts);
  const args = opts.args !== undefined ? parseJson(opts.args, '--args') : undefined;
  const concurrency = positiveInt(opts.concurrency, '--concurrency', 1);
  const requestedWorkers = opts.workers === undefined ? undefined : intInRange(opts.workers, '--workers', 0, 1024);
  const mod = await loadingModule(importModule(path));
  const wf = pickWorkflow(mod, path, opts.workflow);
  const log = createLogger({ level: logLevel });
  const dashboardModule = opts.dashboard ? await loadDashboard() : undefined;
  const { broker, ns } = await openNamespace(globals, opts.namespace, true);
  const onMem = broker.backend === 'mem';
  const workers = requestedWorkers ?? (onMem ? Math.max(1, Math.min(availableParallelism(), 8)) : 0);
  let pool: WorkerPool | undefined;
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  try {
    if (onMem && workers === 0) throw new UsageError('On the embedded backend the workflow needs local workers: use --workers N (N >= 1), or set DBR_SERVER to share a Redis server with `dbr worker`.');
    if (workers > 0) {
      await checkLocalTasks(path, mod, opts.tasks);
      pool = new WorkerPool({ member: { tasksModule: opts.tasks ?? path, concurrency, namespace: ns.name, logLevel, leaseTtl: '10s' }, size: workers, kind: onMem ? 'threads' : 'processes', log });
      pool.start();
    }
    if (dashboardModule !== undefined) {
      dashboard = await startRunDashboard(dashboardModule, { broker, ...(port !== undefined ? { port } : {}) });
      process.stderr.write(`dashboard: ${dashboard.url}\n`);
    }
  } catch (err) {
    await pool?.close();
    await broker.close();
    throw err;
  }
  const bar = new ProgressBar();
  let steps: readonly StepReport[] = [];
  const runId = opts.id ?? wf.name;
  const stopHint = workers === 0 ? hintWhileNoWorkerServes(ns, wf.name, runId, () => steps, `dbr worker --tasks ${opts.tasks ?? path} -n ${ns.name}`) : () => undefined;
  let report: WorkflowReport<unknown>;
  let code: number = ExitCode.OK;
  try {
    if (abort.signal.aborted) return ExitCode.INTERRUPTED; // interrupted while setting up
    const client = new TaskClient({ namespace: ns });
    try {
      report = await runWorkflow(wf, { client, args, signal: abort.signal, runId, onStep: (_s, all) => bar.update(countSteps((steps = all))) });
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
    stopHint();
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
