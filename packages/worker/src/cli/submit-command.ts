/**
 * `dbr submit <task> [input]`: queues a task from the command line, optionally waiting for its result.
 * @module
 */
import type { Namespace } from '@tsdbr/core';
import { ExitCode, type GlobalOptions, readStdin, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { z } from 'zod';
import { TaskClient } from '../client.js';
import { InvalidInputError, ResultTimeoutError, toIssues } from '../errors.js';
import { locateTask, peekResult } from '../inspect.js';
import { loadTasks } from '../load-module.js';
import { type AnyTask, defineTask } from '../task.js';
import { fromWire, toWire } from '../wire-shape.js';
import { MAX_SCHEDULE_AHEAD_MS, PRIORITY_LIMIT } from '../validate.js';
import { durationOption, intInRange, loadingModule, namespaceOption, parseJson, queueArg, sharedNamespace, taskIdArg } from './common.js';

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

/** The options of a submit, checked before anything is queued. */
interface SubmitSettings {
  priority: number | undefined;
  delayMs: number | undefined;
  dedupKey: string | undefined;
  id: string | undefined;
  queue: string | undefined;
  /** Undefined: do not wait; else the longest wait in ms (Infinity: no limit). */
  waitMs: number | undefined;
}

/** --wait: absent, given alone (no limit), or with a duration. */
function waitSetting(wait: string | boolean | undefined): number | undefined {
  if (wait === undefined || wait === false) return undefined;
  if (wait === true) return Infinity;
  try {
    return durationOption(wait, '--wait', { infinite: true });
  } catch (err) {
    // `submit TASK --wait '{"a":1}'`: the input was taken as the wait
    if (err instanceof UsageError && /^\s*[[{"]/.test(wait)) throw new UsageError(`${err.message.replace(/\.$/, '')}; to wait without a limit, put --wait after the input: dbr submit TASK '${wait}' --wait.`);
    throw err;
  }
}

function submitSettings(opts: SubmitCommandOptions): SubmitSettings {
  const delayMs = opts.delay === undefined ? undefined : durationOption(opts.delay, '--delay');
  if (delayMs !== undefined && delayMs > MAX_SCHEDULE_AHEAD_MS) throw new UsageError(`--delay "${opts.delay}" is more than a year: such a task would sit in the queue for good; schedule it nearer (or submit it later).`);
  return {
    priority: opts.priority === undefined ? undefined : intInRange(opts.priority, '--priority', -PRIORITY_LIMIT, PRIORITY_LIMIT),
    delayMs,
    dedupKey: opts.dedupKey === undefined ? undefined : taskIdArg(opts.dedupKey, '--dedup-key'),
    id: opts.id === undefined ? undefined : taskIdArg(opts.id, '--id'),
    queue: opts.queue === undefined ? undefined : queueArg(opts.queue, '-Q/--queue'),
    waitMs: waitSetting(opts.wait),
  };
}

/** The task to submit: its definition from --tasks (validating the input), else an unvalidated stand-in. */
async function taskToSubmit(taskName: string, tasksModule: string | undefined, queue: string | undefined): Promise<AnyTask> {
  let task: AnyTask;
  if (tasksModule !== undefined) {
    const found = (await loadingModule(loadTasks(tasksModule))).find((t) => t.name === taskName);
    if (found === undefined) throw new UsageError(`${tasksModule} exports no task named "${taskName}".`);
    task = found;
  } else {
    // no definition: submit unvalidated (the worker validates)
    task = defineTask({ name: taskName, queue: queue ?? 'default', input: z.unknown(), output: z.unknown(), run: () => undefined });
  }
  return queue !== undefined && queue !== task.queue ? { ...task, queue } : task;
}

/**
 * The input, from the argument or stdin, checked against the task's input schema (when --tasks gave it). JSON
 * has no Map or Set: they are written in their wire form ([[key, value], ...] and [item, ...]).
 */
async function readInput(inputArg: string | undefined, task: AnyTask): Promise<unknown> {
  const text = inputArg === undefined || inputArg === '-' ? (process.stdin.isTTY ? '{}' : (await readStdin()).toString('utf8')) : inputArg;
  const json = parseJson(text || '{}', 'The input');
  const input = fromWire(task.input, 'input', json);
  const parsed = task.input.safeParse(input);
  if (!parsed.success) throw new UsageError(new InvalidInputError(task.name, toIssues(parsed.error.issues)).message);
  return input;
}

/**
 * How a task of the queue already uses `id` (queued, running or with an unread result), if one does: a second
 * task with it would share its result and cancel marker. Not atomic: two submits racing may both pass.
 */
async function idInUse(ns: Namespace, queue: string, id: string): Promise<string | undefined> {
  const place = await locateTask(ns, queue, id);
  if (place !== undefined) return place.where === 'claimed' || place.where === 'finishing' ? 'running' : 'queued';
  return (await peekResult(ns, queue, id)) !== undefined ? 'finished (its result is unread)' : undefined;
}

/** Registers `dbr submit`. */
export function registerSubmitCommand(program: Command, globals: () => GlobalOptions): void {
  const cmd = program
    .command('submit')
    .description('Submit a task; prints its id (or, with --wait, its result as JSON). Needs DBR_SERVER: a worker elsewhere runs it')
    .argument('<task>', 'task name')
    .argument('[input]', 'input as JSON ("-" or omitted: read stdin)')
    .option('-t, --tasks <file>', 'module defining the task: validates the input and picks its queue')
    .option('-Q, --queue <name>', 'queue (default: the task\'s, else "default")')
    .option('--priority <n>', '> 0 runs first, < 0 last')
    .option('--delay <duration>', 'run no earlier than this from now, e.g. 30s (a bare number is ms)')
    .option('--dedup-key <key>', 'at most one live task per key')
    .option('--id <id>', 'task id (default: generated); refused if a task of the queue is queued, running or has an unread result with it (found by reading the queue\'s waiting tasks)')
    .option('-w, --wait [timeout]', 'wait for the result (optionally at most this long, e.g. 5m) and print it; put it after the input');
  namespaceOption(cmd).addHelpText('after', '\nExit codes: 5 no shared backend (DBR_SERVER unset), 6 --id in use; with --wait: 0 the task succeeded, 1 it failed or was cancelled, 4 no result in time.');
  cmd.action(async (taskName: string, inputArg: string | undefined, opts: SubmitCommandOptions) => {
    const s = submitSettings(opts);
    const task = await taskToSubmit(taskName, opts.tasks, s.queue);
    const input = await readInput(inputArg, task);
    const { broker, ns } = await sharedNamespace(globals(), opts.namespace, 'submit', { create: true });
    try {
      const inUse = s.id === undefined ? undefined : await idInUse(ns, task.queue, s.id);
      if (inUse !== undefined) {
        process.stderr.write(`dbr: a task with id ${s.id} is already ${inUse} in queue ${task.queue}: use another --id, or follow that one with \`dbr tasks inspect ${s.id} -Q ${task.queue}\`.\n`);
        process.exitCode = ExitCode.CONFLICT;
        return;
      }
      const client = new TaskClient({ namespace: ns });
      const handle = await client.submit(task, input as never, {
        ...(s.priority !== undefined ? { priority: s.priority } : {}),
        ...(s.delayMs !== undefined ? { delay: s.delayMs } : {}),
        ...(s.dedupKey !== undefined ? { dedupKey: s.dedupKey } : {}),
        ...(s.id !== undefined ? { id: s.id } : {}),
      });
      if (s.waitMs === undefined) {
        process.stdout.write(`${handle.id}\n`);
        return;
      }
      try {
        const out = await handle.result({ timeout: s.waitMs === Infinity ? 'infinite' : s.waitMs });
        process.stdout.write(`${JSON.stringify(toWire(task.output, 'output', out)) ?? 'null'}\n`); // JSON prints Maps and Sets in their wire form, and no output as null
      } catch (err) {
        process.stderr.write(`dbr: ${(err as Error).message}\n`);
        process.exitCode = err instanceof ResultTimeoutError ? ExitCode.TIMEOUT : ExitCode.FAILURE;
      }
    } finally {
      await broker.close();
    }
  });
}
