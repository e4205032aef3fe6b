/**
 * `dbr worker`: runs workers for the tasks of a module, as N processes (Redis) or N threads (embedded mem
 * backend). Configured by options or environment, so srun/jsrun/mpirun can start one per node.
 * @module
 */
import { type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { loadTasks, tasksOfQueues } from '../load-module.js';
import { createLogger } from '../logger.js';
import { WorkerPool } from '../pool.js';
import { onShutdownSignals } from '../shutdown.js';
import type { AnyTask } from '../task.js';
import { Worker } from '../worker.js';
import { defaultConcurrencyForNode } from '../worker-options.js';
import { durationOption, env, loadingModule, logLevelFromEnv, namespaceOption, openNamespace, positiveInt, queueArg } from './common.js';

interface WorkerCommandOptions {
  tasks?: string;
  concurrency?: string;
  prefetch?: string;
  procs?: string;
  queues?: string;
  namespace?: string;
  lease?: string;
  grace?: string;
}

/** The command's settings, every option and variable validated before anything starts. */
interface WorkerSettings {
  tasksModule: string;
  procs: number;
  concurrency: number;
  prefetch: number | 'auto' | undefined;
  queues: string[] | undefined;
  leaseTtlMs: number | undefined;
  shutdownGraceMs: number | undefined;
  logLevel: LevelWithSilent | undefined;
}

/** A setting from its flag, else its environment variable; `from` names whichever was used, for messages. */
function setting(flagValue: string | undefined, flag: string, variable: string): { value: string; from: string } | undefined {
  if (flagValue !== undefined) return { value: flagValue, from: flag };
  const value = env(variable);
  return value === undefined ? undefined : { value, from: variable };
}

function prefetchSetting(value: string, from: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  if (!/^\d+$/.test(value) || Number(value) > 1000) throw new UsageError(`${from} must be auto or an integer from 0 to 1000, got "${value}".`);
  return Number(value);
}

function queuesSetting(value: string, from: string): string[] {
  const queues = value.split(',').map((q) => q.trim()).filter(Boolean);
  if (queues.length === 0) throw new UsageError(`${from} names no queue, got "${value}": give a comma-separated list, e.g. default,render.`);
  return queues.map((q) => queueArg(q, from));
}

/** Reads and checks every option (and its environment variable). */
function workerSettings(opts: WorkerCommandOptions): WorkerSettings {
  const tasksModule = opts.tasks ?? env('DBR_WORKER_TASKS');
  if (tasksModule === undefined) throw new UsageError('Name the tasks module: `dbr worker --tasks ./tasks.ts` (or set DBR_WORKER_TASKS).');
  const procs = positiveInt(opts.procs ?? env('DBR_WORKER_PROCS'), opts.procs !== undefined ? '--procs' : 'DBR_WORKER_PROCS', 1);
  const concurrency = positiveInt(opts.concurrency ?? env('DBR_WORKER_CONCURRENCY'), opts.concurrency !== undefined ? '--concurrency' : 'DBR_WORKER_CONCURRENCY', Math.max(1, Math.floor(defaultConcurrencyForNode() / procs)));
  const prefetch = setting(opts.prefetch, '--prefetch', 'DBR_WORKER_PREFETCH');
  const queues = setting(opts.queues, '--queues', 'DBR_WORKER_QUEUES');
  const lease = setting(opts.lease, '--lease', 'DBR_LEASE_TTL');
  const grace = setting(opts.grace, '--grace', 'DBR_SHUTDOWN_GRACE');
  return {
    tasksModule,
    procs,
    concurrency,
    prefetch: prefetch && prefetchSetting(prefetch.value, prefetch.from),
    queues: queues && queuesSetting(queues.value, queues.from),
    // the worker checks its lease against its heartbeat (a third of the lease, at least 50 ms)
    leaseTtlMs: lease && durationOption(lease.value, lease.from, { minMs: 200 }),
    shutdownGraceMs: grace && durationOption(grace.value, grace.from),
    logLevel: env('DBR_LOG_LEVEL') === undefined ? undefined : logLevelFromEnv('info'),
  };
}

/** The tasks that serve exactly `queues`; each queue must be one some task uses, or no worker would run its tasks. */
function tasksForQueues(tasks: AnyTask[], queues: string[], tasksModule: string): AnyTask[] {
  const used = [...new Set(tasks.map((t) => t.queue))];
  const unknown = queues.filter((q) => !used.includes(q));
  if (unknown.length > 0) {
    throw new UsageError(`No task in ${tasksModule} uses queue${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (its tasks use ${used.join(', ')}): name only those with --queues, or load the module that defines the tasks of ${unknown.length > 1 ? 'those queues' : 'that queue'}.`);
  }
  return tasksOfQueues(tasks, queues);
}

/**
 * Blocks until a shutdown signal ends the process. A ref'd timer keeps it alive: a worker whose every slot
 * runs a task claims nothing, and tasks awaiting only promises hold no handle, so Node would exit (code 13).
 */
function runUntilSignalled(): Promise<never> {
  setInterval(() => undefined, 2 ** 31 - 1);
  return new Promise<never>(() => undefined);
}

/** Registers `dbr worker`. */
export function registerWorkerCommand(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('worker')
    .description('Run workers for the tasks exported by a module (blocks until SIGTERM/SIGINT; a second signal forces exit)')
    .option('-t, --tasks <file>', 'module exporting tasks made with defineTask (.ts or .js) (env DBR_WORKER_TASKS)')
    .option('-c, --concurrency <n>', 'tasks run at once per process/thread (env DBR_WORKER_CONCURRENCY, SLURM_CPUS_PER_TASK, LSB_DJOB_NUMPROC; default: CPUs / procs)')
    .option('--prefetch <n|auto>', "tasks claimed ahead of free concurrency (env DBR_WORKER_PREFETCH; default auto: about 50 ms of work, none for long tasks)")
    .option('-p, --procs <n>', 'worker processes (Redis) or threads (embedded backend) (env DBR_WORKER_PROCS, default 1)')
    .option('-Q, --queues <list>', 'serve only these comma-separated queues, each used by some task of the module (env DBR_WORKER_QUEUES; default: every queue of the tasks)')
    .option('--lease <duration>', "lease TTL: a dead worker's tasks are recovered after it, e.g. 30s; a bare number is ms (env DBR_LEASE_TTL, default 30s)")
    .option('--grace <duration>', 'shutdown grace: running tasks may finish for this long, e.g. 30s; a bare number is ms (env DBR_SHUTDOWN_GRACE, default 30s)');
  namespaceOption(cmd).addHelpText(
    'after',
    `
Environment (for srun/jsrun/mpirun, which start one per node): DBR_SERVER, DBR_NAMESPACE, DBR_WORKER_TASKS,
DBR_WORKER_CONCURRENCY, DBR_WORKER_PREFETCH, DBR_WORKER_PROCS, DBR_WORKER_QUEUES, DBR_LEASE_TTL, DBR_SHUTDOWN_GRACE, DBR_LOG_LEVEL.
Examples: examples/hpc/slurm-workers.sbatch, examples/hpc/lsf-workers.bsub.`,
  );
  cmd.action(async (opts: WorkerCommandOptions) => {
    const s = workerSettings(opts);
    const log = createLogger(s.logLevel ? { level: s.logLevel } : {});
    const loaded = await loadingModule(loadTasks(s.tasksModule)); // fail early, in the parent, on a bad module
    const tasks = s.queues ? tasksForQueues(loaded, s.queues, s.tasksModule) : loaded;
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    const leaseTtl = s.leaseTtlMs === undefined ? {} : { leaseTtl: s.leaseTtlMs };
    const shutdownGrace = s.shutdownGraceMs === undefined ? {} : { shutdownGrace: s.shutdownGraceMs };
    if (s.procs === 1) {
      const prefetch = s.prefetch === undefined ? {} : { prefetch: s.prefetch };
      const worker = new Worker({ tasks, concurrency: s.concurrency, namespace: ns, logger: log, ...prefetch, ...(s.queues ? { queues: s.queues } : {}), ...leaseTtl, ...shutdownGrace });
      onShutdownSignals(async () => {
        await worker.close();
        await broker.close(); // detach: on Redis the namespace would count this process as attached for good
      }, log);
      await worker.start();
      await runUntilSignalled();
    }
    // members read it from the environment they inherit
    if (s.prefetch !== undefined) process.env.DBR_WORKER_PREFETCH = String(s.prefetch);
    const kind = broker.backend === 'mem' ? 'threads' : 'processes';
    const pool = new WorkerPool({
      member: {
        tasksModule: s.tasksModule,
        concurrency: s.concurrency,
        namespace: ns.name,
        ...(s.queues ? { queues: s.queues } : {}),
        ...(s.leaseTtlMs !== undefined ? { leaseTtl: `${s.leaseTtlMs}ms` } : {}),
        ...(s.shutdownGraceMs !== undefined ? { shutdownGrace: `${s.shutdownGraceMs}ms` } : {}),
        ...(s.logLevel ? { logLevel: s.logLevel } : {}),
      },
      size: s.procs,
      kind,
      log,
    });
    log.info({ procs: s.procs, kind, concurrency: s.concurrency, namespace: ns.name }, `starting ${s.procs} worker ${kind}`);
    onShutdownSignals(async () => {
      await pool.close();
      await broker.close();
    }, log);
    process.once('exit', () => pool.forceKill());
    pool.start();
    await runUntilSignalled();
  });
}
