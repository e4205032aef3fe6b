/**
 * `dbr tasks ls|inspect|retry|cancel`: look at queues, one task, dead letters; requeue or cancel tasks.
 * They need a shared backend (the tasks live in other processes) and a namespace that exists.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { ExitCode, type GlobalOptions } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { cancelTask, retryDeadLetter } from '../admin.js';
import type { DeadLetter } from '../envelope.js';
import { failedTasks, findFailedTask, listQueues, locateTask, peekResult, queueCounts, type TaskLocation } from '../inspect.js';
import { table } from '../progress.js';
import { QueueNames } from '../protocol.js';
import { TaskHandle } from '../task-handle.js';
import { TaskStillFinishingError } from '../errors.js';
import { namespaceOption, queueArg, sharedNamespace, taskIdArg } from './common.js';

/** Queue names found in a namespace (any queue with a tuple). */
export function discoverQueues(ns: Namespace): Promise<string[]> {
  return listQueues(ns, { scope: 'all' });
}

/** Says that a task is nowhere to be found and sets exit code 3. */
function reportNotFound(id: string, queue: string): void {
  process.stderr.write(
    `dbr: no task ${id} in queue ${queue}: it is not queued, running or finished with an unread result (a result is removed once read; failures stay in \`dbr tasks ls --dead -Q ${queue}\`); check the id and -Q.\n`,
  );
  process.exitCode = ExitCode.NOT_FOUND;
}

/** What `tasks inspect` prints of a task that is waiting or claimed but not (yet) in a heartbeat. */
function describeLocation(place: TaskLocation): Record<string, unknown> {
  switch (place.where) {
    case 'claimed':
      return { state: 'running', worker: place.worker, note: 'claimed by the worker: running, or prefetched to run next; progress shows after its next heartbeat' };
    case 'finishing':
      return { state: 'running', worker: place.worker, note: 'finished; its outcome is being delivered' };
    case 'pending':
      return { state: 'queued', band: place.band };
    case 'delayed':
      return { state: 'queued', delayedUntil: new Date(place.dueAt).toISOString() };
    case 'retrying':
      return { state: 'queued', note: 'being requeued from the dead letters (if it stays so, a retry was interrupted: `dbr tasks retry` it again)' };
  }
}

/** A task's state as `tasks inspect` prints it, or undefined if the queue has no trace of it. */
async function inspectTask(ns: Namespace, queue: string, id: string): Promise<Record<string, unknown> | undefined> {
  const status = await new TaskHandle(ns, new QueueNames(queue), id, true).status();
  const out: Record<string, unknown> = { ...status, queue };
  const dead = await findFailedTask(ns, queue, id);
  if (status.state === 'queued') {
    const place = await locateTask(ns, queue, id);
    if (place !== undefined) Object.assign(out, describeLocation(place));
    // its failure result may have been read (and so removed) already: the dead letter still tells
    else if (dead) Object.assign(out, { state: 'failed', attempt: dead.attempts, error: { name: dead.error.name, message: dead.error.message } });
    else return undefined;
  }
  if (dead) out.deadLetter = { attempts: dead.attempts, failedAt: new Date(dead.failedAt).toISOString(), error: dead.error, input: dead.env?.input };
  if (status.state === 'completed') out.result = (await peekResult(ns, queue, id))?.output;
  return out;
}

/** Why a task cannot be cancelled, if it already finished (its result is there, or its dead letter). */
async function finishedState(ns: Namespace, queue: string, id: string): Promise<string | undefined> {
  const result = await peekResult(ns, queue, id);
  if (result !== undefined) return result.ok ? 'completed' : result.cancelled ? 'cancelled' : 'failed';
  return (await findFailedTask(ns, queue, id)) !== undefined ? 'failed' : undefined;
}

/** Registers `dbr tasks ...`. */
export function registerTasksCommand(program: Command, globals: () => GlobalOptions): void {
  const tasks = program
    .command('tasks')
    .description('Inspect queues and tasks; retry dead letters; cancel tasks (needs DBR_SERVER: the tasks live in other processes)');

  namespaceOption(
    tasks
      .command('ls')
      .description('Queues with their pending (hi/normal/lo), delayed, running, dead and unread-result counts; with --dead, the dead letters')
      .option('-Q, --queue <name>', 'only this queue')
      .option('--dead', 'list the dead letters of the queue(s)')
      .option('--json', 'print JSON'),
  ).action(async (opts: { queue?: string; dead?: boolean; json?: boolean; namespace?: string }) => {
    const only = opts.queue === undefined ? undefined : queueArg(opts.queue, '-Q/--queue');
    const { broker, ns } = await sharedNamespace(globals(), opts.namespace, 'tasks ls', { create: false });
    try {
      const queues = only ? [only] : await discoverQueues(ns);
      if (opts.dead) {
        const rows: DeadLetter[] = [];
        for (const q of queues) {
          const page = await failedTasks(ns, q, { order: 'oldest', limit: Number.MAX_SAFE_INTEGER });
          for (const t of page.tasks) if (t.letter !== undefined) rows.push(t.letter);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else process.stdout.write(`${table(['queue', 'id', 'task', 'attempts', 'failed at', 'error'], rows.map((d) => [d.queue, d.id, d.task, String(d.attempts), new Date(d.failedAt).toISOString(), `${d.error.name}: ${d.error.message}`.split('\n')[0]!.slice(0, 80)]))}\n`);
        return;
      }
      const counts = [];
      for (const q of queues) {
        const c = await queueCounts(ns, q, { detail: true });
        // the normal band also holds the bells hi and lo tasks ring: they are no tasks
        const pending = { ...c.pending, normal: c.pending.normal - (c.bells ?? 0) };
        counts.push({ queue: c.queue, pending, delayed: c.delayed ?? 0, running: c.running ?? 0, dead: c.dead, results: c.results ?? 0 });
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(counts)}\n`);
      else process.stdout.write(`${table(['queue', 'pending hi', 'pending', 'pending lo', 'delayed', 'running', 'dead', 'results'], counts.map((c) => [c.queue, String(c.pending.hi), String(c.pending.normal), String(c.pending.lo), String(c.delayed), String(c.running), String(c.dead), String(c.results)]))}\n`);
    } finally {
      await broker.close();
    }
  });

  namespaceOption(
    tasks
      .command('inspect')
      .description('Show where a task is (queued, running with progress, completed, failed) and its dead letter if any; exit 3 if it is nowhere')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default')
      .addHelpText('after', '\nA task claimed by a worker shows as running at once; its progress appears with the worker\'s next heartbeat\n(every third of the lease). Reads every waiting task of the queue to find a queued one.'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const queue = queueArg(opts.queue, '-Q/--queue');
    taskIdArg(id);
    const { broker, ns } = await sharedNamespace(globals(), opts.namespace, 'tasks inspect', { create: false });
    try {
      const out = await inspectTask(ns, queue, id);
      if (out === undefined) reportNotFound(id, queue);
      else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } finally {
      await broker.close();
    }
  });

  namespaceOption(
    tasks
      .command('retry')
      .description('Requeue a dead-lettered task with fresh attempts (its failed result is dropped); exit 6 while its outcome is still being delivered (try again)')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const queue = queueArg(opts.queue, '-Q/--queue');
    taskIdArg(id);
    const { broker, ns } = await sharedNamespace(globals(), opts.namespace, 'tasks retry', { create: false });
    try {
      const retried = await retryDeadLetter(ns, queue, id);
      if (retried === undefined) {
        process.stderr.write(`dbr: no dead letter for task ${id} in queue ${queue}: list them with \`dbr tasks ls --dead -Q ${queue}\`.\n`);
        process.exitCode = ExitCode.NOT_FOUND;
        return;
      }
      const without = retried.dedupKeyTakenBy === undefined ? '' : ` without its dedup key (task ${retried.dedupKeyTakenBy} owns it now)`;
      process.stdout.write(`requeued ${id}${without}\n`);
    } catch (err) {
      if (!(err instanceof TaskStillFinishingError)) throw err;
      process.stderr.write(`dbr: ${err.message}\n`);
      process.exitCode = ExitCode.CONFLICT;
    } finally {
      await broker.close();
    }
  });

  namespaceOption(
    tasks
      .command('cancel')
      .description('Cancel a task: a running one is aborted at once, a queued one as soon as a worker claims it; exit 3 if it is nowhere')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const queue = queueArg(opts.queue, '-Q/--queue');
    taskIdArg(id);
    const { broker, ns } = await sharedNamespace(globals(), opts.namespace, 'tasks cancel', { create: false });
    try {
      const place = await locateTask(ns, queue, id);
      if (place?.where === 'finishing') {
        process.stdout.write(`${id} already finished (its outcome is being delivered): nothing to cancel\n`);
        return;
      }
      if (place !== undefined) {
        await cancelTask(ns, queue, id);
        process.stdout.write(`cancel requested for ${id}\n`);
        return;
      }
      const finished = await finishedState(ns, queue, id);
      if (finished !== undefined) process.stdout.write(`${id} already finished (${finished}): nothing to cancel\n`);
      else reportNotFound(id, queue);
    } finally {
      await broker.close();
    }
  });
}
