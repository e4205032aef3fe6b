/**
 * `dbr worker`: runs workers for the tasks of a module, as N processes (Redis) or N threads (embedded mem
 * backend). Configured by options or environment, so srun/jsrun/mpirun can start one per node.
 * @module
 */
import type { Duration } from '@tsdbr/core';
import { type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { loadTasks } from '../load-module.js';
import { createLogger } from '../logger.js';
import { WorkerPool } from '../pool.js';
import { onShutdownSignals } from '../shutdown.js';
import { Worker } from '../worker.js';
import { defaultConcurrencyForNode } from '../worker-options.js';
import { env, namespaceOption, openNamespace, positiveInt } from './common.js';

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

/** Registers `dbr worker`. */
export function registerWorkerCommand(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('worker')
    .description('Run workers for the tasks exported by a module (blocks until SIGTERM/SIGINT; a second signal forces exit)')
    .option('-t, --tasks <file>', 'module exporting tasks made with defineTask (.ts or .js) (env DBR_WORKER_TASKS)')
    .option('-c, --concurrency <n>', 'tasks run at once per process/thread (env DBR_WORKER_CONCURRENCY, SLURM_CPUS_PER_TASK, LSB_DJOB_NUMPROC; default: CPUs / procs)')
    .option('--prefetch <n|auto>', "tasks claimed ahead of free concurrency (env DBR_WORKER_PREFETCH; default auto: about 50 ms of work, none for long tasks)")
    .option('-p, --procs <n>', 'worker processes (Redis) or threads (embedded backend) (env DBR_WORKER_PROCS, default 1)')
    .option('-Q, --queues <list>', 'comma-separated queues (default: the queues of the tasks) (env DBR_WORKER_QUEUES)')
    .option('--lease <duration>', "lease TTL: a dead worker's tasks are recovered after it (env DBR_LEASE_TTL, default 30s)")
    .option('--grace <duration>', 'shutdown grace: running tasks may finish for this long (env DBR_SHUTDOWN_GRACE, default 30s)');
  namespaceOption(cmd).addHelpText(
    'after',
    `
Environment (for srun/jsrun/mpirun, which start one per node): DBR_SERVER, DBR_NAMESPACE, DBR_WORKER_TASKS,
DBR_WORKER_CONCURRENCY, DBR_WORKER_PREFETCH, DBR_WORKER_PROCS, DBR_WORKER_QUEUES, DBR_LEASE_TTL, DBR_SHUTDOWN_GRACE, DBR_LOG_LEVEL.
Examples: examples/hpc/slurm-workers.sbatch, examples/hpc/lsf-workers.bsub.`,
  );
  cmd.action(async (opts: WorkerCommandOptions) => {
    const tasksModule = opts.tasks ?? env('DBR_WORKER_TASKS');
    if (tasksModule === undefined) throw new UsageError('Name the tasks module: `dbr worker --tasks ./tasks.ts` (or set DBR_WORKER_TASKS).');
    const procs = positiveInt(opts.procs ?? env('DBR_WORKER_PROCS'), '--procs', 1);
    const concurrency = positiveInt(opts.concurrency ?? env('DBR_WORKER_CONCURRENCY'), '--concurrency', Math.max(1, Math.floor(defaultConcurrencyForNode() / procs)));
    // members read it from the environment they inherit; the Worker validates it
    if (opts.prefetch !== undefined) process.env.DBR_WORKER_PREFETCH = opts.prefetch;
    const queues = (opts.queues ?? env('DBR_WORKER_QUEUES'))?.split(',').map((q) => q.trim()).filter(Boolean);
    const lease = opts.lease ?? env('DBR_LEASE_TTL');
    const grace = opts.grace ?? env('DBR_SHUTDOWN_GRACE');
    const log = createLogger();
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    const tasks = await loadTasks(tasksModule); // fail early, in the parent, on a bad module
    if (procs === 1) {
      const worker = new Worker({ tasks, concurrency, namespace: ns, logger: log, ...(queues ? { queues } : {}), ...(lease ? { leaseTtl: lease as Duration } : {}), ...(grace ? { shutdownGrace: grace as Duration } : {}) });
      onShutdownSignals(() => worker.close(), log);
      await worker.start();
      await new Promise<never>(() => undefined);
    }
    const kind = broker.backend === 'mem' ? 'threads' : 'processes';
    const pool = new WorkerPool({
      member: { tasksModule, concurrency, namespace: ns.name, ...(queues ? { queues } : {}), ...(lease ? { leaseTtl: lease } : {}), ...(grace ? { shutdownGrace: grace } : {}), ...(env('DBR_LOG_LEVEL') ? { logLevel: env('DBR_LOG_LEVEL')! } : {}) },
      size: procs,
      kind,
      log,
    });
    log.info({ procs, kind, concurrency, namespace: ns.name }, `starting ${procs} worker ${kind}`);
    onShutdownSignals(async () => {
      await pool.close();
      await broker.close();
    }, log);
    process.once('exit', () => pool.forceKill());
    pool.start();
    await new Promise<never>(() => undefined);
  });
}
