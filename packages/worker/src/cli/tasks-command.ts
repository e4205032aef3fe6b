/**
 * `dbr tasks ls|inspect|retry|cancel`: look at queues, one task, dead letters; requeue or cancel tasks.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { ExitCode, type GlobalOptions } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { cancelTask, retryDeadLetter } from '../admin.js';
import type { DeadLetter } from '../envelope.js';
import { failedTasks, findFailedTask, listQueues, peekResult, queueCounts } from '../inspect.js';
import { table } from '../progress.js';
import { checkId, checkQueue, QueueNames } from '../protocol.js';
import { TaskHandle } from '../task-handle.js';
import { namespaceOption, openNamespace } from './common.js';

/** Queue names found in a namespace (any queue with a tuple). */
export function discoverQueues(ns: Namespace): Promise<string[]> {
  return listQueues(ns, { scope: 'all' });
}

/** Registers `dbr tasks ...`. */
export function registerTasksCommand(program: Command, globals: () => GlobalOptions): void {
  const tasks = program.command('tasks').description('Inspect queues and tasks; retry dead letters; cancel tasks');

  namespaceOption(
    tasks
      .command('ls')
      .description('Queues with their pending (hi/normal/lo), delayed, running, dead and unread-result counts; with --dead, the dead letters')
      .option('-Q, --queue <name>', 'only this queue')
      .option('--dead', 'list the dead letters of the queue(s)')
      .option('--json', 'print JSON'),
  ).action(async (opts: { queue?: string; dead?: boolean; json?: boolean; namespace?: string }) => {
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    try {
      const queues = opts.queue ? [opts.queue] : await discoverQueues(ns);
      if (opts.dead) {
        const rows: DeadLetter[] = [];
        for (const q of queues) {
          const page = await failedTasks(ns, checkQueue(q), { order: 'oldest', limit: Number.MAX_SAFE_INTEGER });
          for (const t of page.tasks) if (t.letter !== undefined) rows.push(t.letter);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else process.stdout.write(`${table(['queue', 'id', 'task', 'attempts', 'failed at', 'error'], rows.map((d) => [d.queue, d.id, d.task, String(d.attempts), new Date(d.failedAt).toISOString(), `${d.error.name}: ${d.error.message}`.split('\n')[0]!.slice(0, 80)]))}\n`);
        return;
      }
      const counts = [];
      for (const q of queues) {
        const c = await queueCounts(ns, checkQueue(q), { detail: true });
        counts.push({ queue: c.queue, pending: c.pending, delayed: c.delayed ?? 0, running: c.running ?? 0, dead: c.dead, results: c.results ?? 0 });
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
      .description('Show where a task is (queued, running with progress, completed, failed) and its dead letter if any')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    try {
      const names = new QueueNames(opts.queue);
      const status = await new TaskHandle(ns, names, checkId(id), true).status();
      const dead = await findFailedTask(ns, opts.queue, id);
      const out: Record<string, unknown> = { ...status, queue: opts.queue };
      if (dead) {
        out.deadLetter = { attempts: dead.attempts, failedAt: new Date(dead.failedAt).toISOString(), error: dead.error, input: dead.env?.input };
        // its failure result may have been read (and so removed) already: the dead letter still tells
        if (status.state === 'queued') Object.assign(out, { state: 'failed', attempt: dead.attempts, error: { name: dead.error.name, message: dead.error.message } });
      } else if (status.state === 'queued') {
        out.note = 'queued, or finished with its result already read by result() (results are consumed); `dbr tasks ls` shows the queue';
      }
      if (status.state === 'completed') out.result = (await peekResult(ns, opts.queue, id))?.output;
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } finally {
      await broker.close();
    }
  });

  namespaceOption(
    tasks
      .command('retry')
      .description('Requeue a dead-lettered task with fresh attempts (its failed result is dropped)')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    try {
      const env = await retryDeadLetter(ns, opts.queue, checkId(id));
      if (env === undefined) {
        process.stderr.write(`dbr: no dead letter for task ${id} in queue ${opts.queue}: list them with \`dbr tasks ls --dead -Q ${opts.queue}\`.\n`);
        process.exitCode = ExitCode.NOT_FOUND;
        return;
      }
      process.stdout.write(`requeued ${id}\n`);
    } finally {
      await broker.close();
    }
  });

  namespaceOption(
    tasks
      .command('cancel')
      .description('Cancel a task: a queued one is dropped when claimed, a running one is aborted at once')
      .argument('<id>', 'task id')
      .option('-Q, --queue <name>', 'queue', 'default'),
  ).action(async (id: string, opts: { queue: string; namespace?: string }) => {
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    try {
      await cancelTask(ns, opts.queue, id);
      process.stdout.write(`cancel requested for ${id}\n`);
    } finally {
      await broker.close();
    }
  });
}
