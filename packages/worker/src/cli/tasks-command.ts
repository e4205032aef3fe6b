/**
 * `dbr tasks ls|inspect|retry|cancel`: look at queues, one task, dead letters; requeue or cancel tasks.
 * @module
 */
import { isDbrError, type Namespace } from '@tsdbr/core';
import { ExitCode, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { classify, decode, encode, type DeadLetter, type TaskEnvelope } from '../envelope.js';
import { taskDestination } from '../outcome.js';
import { table } from '../progress.js';
import { BANDS, checkId, QueueNames } from '../protocol.js';
import { cancelTask, TaskHandle } from '../task-handle.js';
import { namespaceOption, openNamespace } from './common.js';

/** Queue names found in a namespace. */
export async function discoverQueues(ns: Namespace): Promise<string[]> {
  const queues = new Set<string>();
  for (const name of await ns.list('q:{*}:*')) {
    const m = /^q:\{([^}]+)\}:/.exec(name);
    if (m) queues.add(m[1]!);
  }
  return [...queues].sort();
}

/** Counts of one queue. */
export async function queueCounts(ns: Namespace, queue: string) {
  const n = new QueueNames(queue);
  const pending: Record<string, number> = {};
  for (const b of BANDS) pending[b] = await ns.count(n.pending(b));
  let delayed = 0;
  for (const name of await ns.list(n.delayedPattern())) delayed += await ns.count(name);
  let running = 0;
  for (const name of await ns.list(n.runPattern())) running += await ns.count(name);
  const results = (await ns.list(n.resultPattern())).length;
  return { queue, pending, delayed, running, dead: await ns.count(n.dead()), results };
}

async function findDead(ns: Namespace, names: QueueNames, id: string): Promise<{ index: number; letter: DeadLetter } | undefined> {
  const total = await ns.count(names.dead());
  for (let i = 0; i < total; i++) {
    let bytes: Buffer;
    try {
      bytes = await ns.read(names.dead(), { timeout: 0, index: i });
    } catch (err) {
      if (isDbrError(err, 'DBR_ERR_UNAVAIL')) return undefined;
      throw err;
    }
    const s = classify(bytes);
    if (s.kind === 'dead' && s.env.id === id) return { index: i, letter: s.env };
  }
  return undefined;
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
          const names = new QueueNames(q);
          const total = await ns.count(names.dead());
          for (let i = 0; i < total; i++) {
            const s = classify(await ns.read(names.dead(), { timeout: 0, index: i }));
            if (s.kind === 'dead') rows.push(s.env);
          }
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else process.stdout.write(`${table(['queue', 'id', 'task', 'attempts', 'failed at', 'error'], rows.map((d) => [d.queue, d.id, d.task, String(d.attempts), new Date(d.failedAt).toISOString(), `${d.error.name}: ${d.error.message}`.split('\n')[0]!.slice(0, 80)]))}\n`);
        return;
      }
      const counts = [];
      for (const q of queues) counts.push(await queueCounts(ns, q));
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
      const dead = await findDead(ns, names, id);
      const out: Record<string, unknown> = { ...status, queue: opts.queue };
      if (dead) out.deadLetter = { attempts: dead.letter.attempts, failedAt: new Date(dead.letter.failedAt).toISOString(), error: dead.letter.error, input: dead.letter.env.input };
      if (status.state === 'completed') out.result = (decode(await ns.read(names.result(id), { timeout: 0 })) as { output: unknown }).output;
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
      const names = new QueueNames(opts.queue);
      const found = await findDead(ns, names, checkId(id));
      if (found === undefined) {
        process.stderr.write(`dbr: no dead letter for task ${id} in queue ${opts.queue} (see \`dbr tasks ls --dead\`).\n`);
        process.exitCode = ExitCode.NOT_FOUND;
        return;
      }
      // rotate the FIFO (atomic moveValue onto itself) until the letter is at the head, then take it
      for (let i = 0; i < found.index; i++) await ns.moveValue(names.dead(), ns, names.dead(), { timeout: 0 });
      const head = classify(await ns.read(names.dead(), { timeout: 0 }));
      if (head.kind !== 'dead' || head.env.id !== id) throw new UsageError('The dead-letter list changed while retrying; run the command again.');
      const env: TaskEnvelope = { ...head.env.env, att: 1 };
      delete env.due;
      delete env.rec;
      const dest = taskDestination(names, env);
      await ns.remove(names.result(id));
      await ns.put(dest.to, encode(env));
      await ns.tryGet(names.dead());
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
      await cancelTask(ns, new QueueNames(opts.queue), checkId(id));
      process.stdout.write(`cancel requested for ${id}\n`);
    } finally {
      await broker.close();
    }
  });
}
