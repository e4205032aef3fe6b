/**
 * The program a pool member runs: loads the tasks module, starts a Worker, and shuts it down gracefully on
 * SIGTERM/SIGINT (processes) or on the pool's 'shutdown' message.
 *
 * The pool asks by message, not by signal: a Ctrl-C in a terminal (or `scancel`, or `timeout`) signals the
 * whole process group, so a member already has its own first signal when the pool passes the request on, and
 * a forwarded signal would count as the second one, which forces the exit and kills the running tasks.
 * @module
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LevelWithSilent } from 'pino';
import { loadTasks, tasksOfQueues } from './load-module.js';
import { createLogger } from './logger.js';
import { POOL_CONFIG_ENV, type PoolMemberConfig } from './pool.js';
import { onShutdownSignals } from './shutdown.js';
import { Worker } from './worker.js';
import type { Duration } from '@tsdbr/core';

const config = (isMainThread ? JSON.parse(process.env[POOL_CONFIG_ENV] ?? '{}') : workerData) as PoolMemberConfig & { index: number };
const log = createLogger({ ...(config.logLevel ? { level: config.logLevel as LevelWithSilent } : {}), base: { pid: process.pid, member: config.index } });
const loaded = await loadTasks(config.tasksModule);
const worker = new Worker({
  // --queues serves exactly those queues (the parent checked that tasks use them)
  tasks: config.queues ? tasksOfQueues(loaded, config.queues) : loaded,
  concurrency: config.concurrency,
  logger: log,
  ...(config.queues ? { queues: config.queues } : {}),
  ...(config.namespace ? { namespace: config.namespace } : {}),
  ...(config.leaseTtl ? { leaseTtl: config.leaseTtl as Duration } : {}),
  ...(config.shutdownGrace ? { shutdownGrace: config.shutdownGrace as Duration } : {}),
});
const onPoolMessage = (msg: { type?: string }) => {
  if (msg?.type === 'shutdown') void worker.close().then(() => process.exit(0));
};
// handlers first: a signal or a request that arrives while starting still shuts down gracefully
if (isMainThread) {
  onShutdownSignals(() => worker.close(), log);
  process.on('message', onPoolMessage);
} else {
  parentPort?.on('message', onPoolMessage);
}
await worker.start();
if (isMainThread) process.send?.({ type: 'ready', id: worker.id });
else parentPort?.postMessage({ type: 'ready', id: worker.id });
