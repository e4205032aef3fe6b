/**
 * `dbr put|get|read|ls|rm|mv`: tuples from the command line.
 * @module
 */
import type { Command } from 'commander';
import type { Broker } from '../broker.js';
import { DBR_MAX_READ_INDEX } from '../constants.js';
import { isDbrError } from '../errors.js';
import type { Namespace } from '../namespace.js';
import type { TupleSelector } from '../namespace-types.js';
import { InterruptedError, NotFoundError, UsageError } from './exit-codes.js';
import { defaultWaitConfigured, type GlobalOptions, isPrintableText, valueFrom, withBroker, writeValue } from './io.js';
import { shellWord, withHint } from './messages.js';
import { OutputFile, OutputWriteError, refuseOnTerminal, rescueTakenValue } from './output-file.js';
import { durationOption, integerOption } from './parse.js';

function selector(name: string | undefined, template: string | undefined): TupleSelector {
  if (name !== undefined && template !== undefined) throw new UsageError('Give a tuple name or --template GLOB, not both.');
  if (template !== undefined) return { template };
  if (name === undefined) throw new UsageError('Missing tuple name (or --template GLOB).');
  return name;
}

/** The error of a remove or move that found nothing under the selector (exit code 3). */
function nothingMatched(nsName: string, sel: TupleSelector, verb: 'rm' | 'mv'): NotFoundError {
  const what = typeof sel === 'string' ? `nothing is stored under "${sel}"` : `no tuple name matches "${sel.template}"`;
  return new NotFoundError(`${verb}: ${what} in "${nsName}", so nothing was ${verb === 'rm' ? 'removed' : 'moved'}; \`dbr ls ${shellWord(nsName)}\` lists its names.`);
}

const WAIT_HELP = 'how long to wait for a value: 500 (ms), 250ms, 5s, 2m or infinite (default: the global --timeout or DBR_TIMEOUT if set, else no wait)';
const TIMEOUT_HINT = 'No value arrived in time: wait longer with --wait (e.g. --wait 30s or --wait infinite), or check that a producer puts under this name.';

function nothingThereHint(nsName: string, sel: TupleSelector): string {
  const what = typeof sel === 'string' ? 'Nothing is stored under that name' : 'No name matches the template';
  return `${what}: --wait 5s waits for a value to arrive; \`dbr ls ${shellWord(nsName)}\` lists the names.`;
}

/** The wait of a get/read: --wait, else the default wait of --timeout or DBR_TIMEOUT, else none. */
function waitMs(explicit: number | undefined, globals: GlobalOptions, broker: Broker): number {
  if (explicit !== undefined) return explicit;
  return defaultWaitConfigured(globals) ? broker.options.timeoutMs : 0;
}

interface TakeOptions {
  template?: string;
  wait?: string;
  out?: string;
  index?: string;
}

/** get or read one value; errors about waiting name the CLI's --wait. */
/**
 * Aborts `controller` on SIGINT or SIGTERM until the returned function is called. A waiting get that is killed
 * by the signal would leave its namespace attached on Redis (nothing detaches a killed process); aborted, the
 * get is withdrawn and the command detaches before it exits.
 */
function abortOnSignal(controller: AbortController): () => void {
  const abort = (signal: NodeJS.Signals) => controller.abort(new InterruptedError(`interrupted by ${signal} while waiting; nothing was taken.`));
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return () => {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  };
}

async function take(op: 'get' | 'read', ns: Namespace, sel: TupleSelector, timeout: number, index: number): Promise<Buffer> {
  const controller = new AbortController();
  const stopListening = abortOnSignal(controller);
  const { signal } = controller;
  try {
    // a value already on its way when the signal comes is still delivered (the abort never drops one)
    return op === 'get' ? await ns.get(sel, { timeout, signal }) : await ns.read(sel, { timeout, index, signal });
  } catch (err) {
    if (signal.aborted && err === signal.reason) throw err;
    if (isDbrError(err, 'DBR_ERR_TIMEOUT')) throw withHint(err, TIMEOUT_HINT);
    if (isDbrError(err, 'DBR_ERR_UNAVAIL') && err.parts?.hint !== undefined) throw withHint(err, nothingThereHint(ns.name, sel));
    throw err;
  } finally {
    stopListening();
  }
}

async function getOrRead(op: 'get' | 'read', nsName: string, name: string | undefined, opts: TakeOptions, globals: GlobalOptions): Promise<void> {
  // every usage mistake is reported before anything is taken
  const sel = selector(name, opts.template);
  const index = opts.index === undefined ? 0 : integerOption(opts.index, '--index', 0, DBR_MAX_READ_INDEX);
  const wait = opts.wait === undefined ? undefined : durationOption(opts.wait, '--wait');
  const out = opts.out === undefined ? undefined : await OutputFile.open(opts.out);
  try {
    await withBroker(globals, async (broker) => {
      const ns = await broker.attach(nsName);
      const value = await take(op, ns, sel, waitMs(wait, globals, broker), index);
      if (out === undefined) {
        if (process.stdout.isTTY && !isPrintableText(value)) throw await refuseOnTerminal(op, value);
        return writeValue(value);
      }
      try {
        await out.write(value);
      } catch (err) {
        if (op === 'read') throw new OutputWriteError(`--out ${out.path}: writing failed (${(err as Error).message}); the value is still in "${nsName}".`);
        throw await rescueTakenValue(out, value, err);
      }
    });
  } finally {
    await out?.close();
  }
}

const TERMINAL_HELP = `
The value goes to stdout byte for byte. On a terminal only printable UTF-8 text is shown: a value with
control bytes (escape sequences) or binary data is refused there (a taken one is saved to a file named
in the message); use --out FILE or a pipe.`;

/** Registers the tuple commands. `globals()` returns the global options at run time. */
export function registerTupleCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('put')
    .description('Append a value under a tuple name (value from the argument, --file, or stdin)')
    .argument('<namespace>', 'namespace name')
    .argument('<name>', 'tuple name')
    .argument('[value]', 'the value, as UTF-8 text')
    .option('-f, --file <path>', 'read the value from a file ("-" for stdin)')
    .option('-c, --create', 'create the namespace if it does not exist')
    .action(async (nsName: string, name: string, value: string | undefined, opts: { file?: string; create?: boolean }) => {
      const bytes = await valueFrom(value, opts.file);
      await withBroker(globals(), async (broker) => {
        const ns = opts.create ? await broker.open(nsName) : await broker.attach(nsName);
        await ns.put(name, bytes);
      });
    });

  for (const op of ['get', 'read'] as const) {
    const cmd = program
      .command(op)
      .description(op === 'get' ? 'Pop the oldest value under a name and print it' : 'Print the oldest (or --index N) value under a name without consuming it')
      .argument('<namespace>', 'namespace name')
      .argument('[name]', 'tuple name')
      .option('-t, --template <glob>', 'take from the first name matching a glob instead')
      .option('-w, --wait <duration>', WAIT_HELP)
      .option('-o, --out <path>', `write the value to a file instead of stdout${op === 'get' ? ' (opened before the value is taken)' : ''}`)
      .addHelpText('after', TERMINAL_HELP);
    if (op === 'read') cmd.option('-i, --index <n>', `read the n-th value (0 = oldest, at most ${DBR_MAX_READ_INDEX})`);
    cmd.action((nsName: string, name: string | undefined, opts: TakeOptions) => getOrRead(op, nsName, name, opts, globals()));
  }

  program
    .command('ls')
    .description('List tuple names matching a glob, with their value counts')
    .argument('<namespace>', 'namespace name')
    .argument('[pattern]', 'glob', '*')
    .option('-n, --limit <n>', 'at most n names (0 = all)', '0')
    .option('--json', 'print JSON')
    .action(async (nsName: string, pattern: string, opts: { limit: string; json?: boolean }) => {
      const limit = integerOption(opts.limit, '--limit', 0);
      await withBroker(globals(), async (broker) => {
        const ns = await broker.attach(nsName);
        const names = await ns.list(pattern, { limit });
        const rows = await Promise.all(names.map(async (n) => ({ name: n, values: await ns.count(n).catch(() => -1) })));
        if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else for (const r of rows) process.stdout.write(`${r.name}\t${r.values}\n`);
      });
    });

  program
    .command('rm')
    .description('Remove every value under a name (or under names matching --template); exit code 3 if there was none')
    .argument('<namespace>', 'namespace name')
    .argument('[name]', 'tuple name')
    .option('-t, --template <glob>', 'remove every name matching a glob')
    .action(async (nsName: string, name: string | undefined, opts: { template?: string }) => {
      const sel = selector(name, opts.template);
      await withBroker(globals(), async (broker) => {
        const ns = await broker.attach(nsName);
        if (!(await ns.remove(sel))) throw nothingMatched(nsName, sel, 'rm');
      });
    });

  program
    .command('mv')
    .description('Move every value under a name (or matching --template) to another namespace; exit code 3 if there was none')
    .argument('<namespace>', 'source namespace')
    .argument('<destination>', 'destination namespace')
    .argument('[name]', 'tuple name')
    .option('-t, --template <glob>', 'move every name matching a glob')
    .action(async (nsName: string, dstName: string, name: string | undefined, opts: { template?: string }) => {
      const sel = selector(name, opts.template);
      await withBroker(globals(), async (broker) => {
        const src = await broker.attach(nsName);
        const dst = await broker.attach(dstName);
        if (!(await src.move(sel, dst))) throw nothingMatched(nsName, sel, 'mv');
      });
    });
}
