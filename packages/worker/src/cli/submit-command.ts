/**
 * `dbr submit <task> [input]`: queues a task from the command line, optionally waiting for its result.
 * @module
 */
import { ExitCode, type GlobalOptions, readStdin, UsageError } from '@tsdbr/core/cli';
import type { Duration } from '@tsdbr/core';
import type { Command } from 'commander';
import { TaskClient } from '../client.js';
import { InvalidInputError, ResultTimeoutError } from '../errors.js';
import { loadTasks } from '../load-module.js';
import { defineTask } from '../task.js';
import { z } from 'zod';
import { namespaceOption, openNamespace, parseJson } from './common.js';

interface SubmitCommandOptions {
  queue?: string;
  tasks?: string;
  priority?: string;
  delay?: string;
  dedupKey?: string;
  id?: string;
  wait?: string | boolean;
  namespace?: string;
}

/** Registers `dbr submit`. */
export function registerSubmitCommand(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('submit')
    .description('Submit a task; prints its id (or, with --wait, its result as JSON)')
    .argument('<task>', 'task name')
    .argument('[input]', 'input as JSON ("-" or omitted: read stdin)')
    .option('-t, --tasks <file>', 'module defining the task: validates the input and picks its queue')
    .option('-Q, --queue <name>', 'queue (default: the task\'s, else "default")')
    .option('--priority <n>', '> 0 runs first, < 0 last')
    .option('--delay <duration>', 'run no earlier than this from now, e.g. 30s')
    .option('--dedup-key <key>', 'at most one live task per key')
    .option('--id <id>', 'task id (default: generated)')
    .option('-w, --wait [timeout]', 'wait for the result (optionally at most this long, e.g. 5m) and print it');
  namespaceOption(cmd).addHelpText('after', '\nExit codes with --wait: 0 the task succeeded, 1 it failed or was cancelled, 4 no result in time.');
  cmd.action(async (taskName: string, inputArg: string | undefined, opts: SubmitCommandOptions) => {
    const text = inputArg === undefined || inputArg === '-' ? (process.stdin.isTTY ? '{}' : (await readStdin()).toString('utf8')) : inputArg;
    const input = parseJson(text || '{}', 'The input');
    let task = undefined as ReturnType<typeof defineTask> | undefined;
    if (opts.tasks !== undefined) {
      task = (await loadTasks(opts.tasks)).find((t) => t.name === taskName);
      if (task === undefined) throw new UsageError(`${opts.tasks} exports no task named "${taskName}".`);
    } else {
      // no definition: submit unvalidated (the worker validates)
      task = defineTask({ name: taskName, queue: opts.queue ?? 'default', input: z.unknown(), output: z.unknown(), run: () => undefined });
    }
    if (opts.queue !== undefined && opts.queue !== task.queue) task = { ...task, queue: opts.queue };
    const { broker, ns } = await openNamespace(globals(), opts.namespace);
    try {
      const client = new TaskClient({ namespace: ns });
      const priority = opts.priority !== undefined ? Number(opts.priority) : undefined;
      if (priority !== undefined && !Number.isFinite(priority)) throw new UsageError(`--priority must be a number, got "${opts.priority}".`);
      let handle;
      try {
        handle = await client.submit(task, input as never, {
          ...(priority !== undefined ? { priority } : {}),
          ...(opts.delay ? { delay: opts.delay as Duration } : {}),
          ...(opts.dedupKey ? { dedupKey: opts.dedupKey } : {}),
          ...(opts.id ? { id: opts.id } : {}),
        });
      } catch (err) {
        if (err instanceof InvalidInputError) throw new UsageError(err.message);
        throw err;
      }
      if (opts.wait === undefined) {
        process.stdout.write(`${handle.id}\n`);
        return;
      }
      try {
        const out = await handle.result({ timeout: typeof opts.wait === 'string' ? (opts.wait as Duration) : 'infinite' });
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } catch (err) {
        process.stderr.write(`dbr: ${(err as Error).message}\n`);
        process.exitCode = err instanceof ResultTimeoutError ? ExitCode.TIMEOUT : ExitCode.FAILURE;
      }
    } finally {
      await broker.close();
    }
  });
}
