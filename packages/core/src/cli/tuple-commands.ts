/**
 * `dbr put|get|read|ls|rm|mv`: tuples from the command line.
 * @module
 */
import type { Command } from 'commander';
import type { TupleSelector } from '../namespace-types.js';
import { type GlobalOptions, connect, valueFrom, writeValue } from './io.js';
import { UsageError } from './exit-codes.js';

function selector(name: string | undefined, template: string | undefined): TupleSelector {
  if (name !== undefined && template !== undefined) throw new UsageError('Give a tuple name or --template GLOB, not both.');
  if (template !== undefined) return { template };
  if (name === undefined) throw new UsageError('Missing tuple name (or --template GLOB).');
  return name;
}

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
      const broker = connect(globals());
      const bytes = await valueFrom(value, opts.file);
      const ns = opts.create ? await broker.open(nsName) : await broker.attach(nsName);
      await ns.put(name, bytes);
      await broker.close();
    });

  for (const op of ['get', 'read'] as const) {
    const cmd = program
      .command(op)
      .description(op === 'get' ? 'Pop the oldest value under a name and print it' : 'Print the oldest (or --index N) value under a name without consuming it')
      .argument('<namespace>', 'namespace name')
      .argument('[name]', 'tuple name')
      .option('-t, --template <glob>', 'take from the first name matching a glob instead')
      .option('-w, --wait <duration>', 'how long to wait for a value (e.g. 0, 500ms, 5s, infinite)', '0')
      .option('-o, --out <path>', 'write the value to a file instead of stdout');
    if (op === 'read') cmd.option('-i, --index <n>', 'read the n-th value (0 = oldest)', '0');
    cmd.action(async (nsName: string, name: string | undefined, opts: { template?: string; wait: string; out?: string; index?: string }) => {
      const broker = connect(globals());
      const ns = await broker.attach(nsName);
      const timeout = (/^\d+$/.test(opts.wait) ? Number(opts.wait) : opts.wait) as never;
      const sel = selector(name, opts.template);
      const value = op === 'get' ? await ns.get(sel, { timeout }) : await ns.read(sel, { timeout, index: Number(opts.index ?? 0) });
      if (opts.out !== undefined) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(opts.out, value);
      } else writeValue(value);
      await broker.close();
    });
  }

  program
    .command('ls')
    .description('List tuple names matching a glob, with their value counts')
    .argument('<namespace>', 'namespace name')
    .argument('[pattern]', 'glob', '*')
    .option('-n, --limit <n>', 'at most n names', '0')
    .option('--json', 'print JSON')
    .action(async (nsName: string, pattern: string, opts: { limit: string; json?: boolean }) => {
      const broker = connect(globals());
      const ns = await broker.attach(nsName);
      const names = await ns.list(pattern, { limit: Number(opts.limit) });
      const rows = await Promise.all(names.map(async (n) => ({ name: n, values: await ns.count(n).catch(() => -1) })));
      if (opts.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) process.stdout.write(`${r.name}\t${r.values}\n`);
      await broker.close();
    });

  program
    .command('rm')
    .description('Remove every value under a name (or under names matching --template)')
    .argument('<namespace>', 'namespace name')
    .argument('[name]', 'tuple name')
    .option('-t, --template <glob>', 'remove every name matching a glob')
    .action(async (nsName: string, name: string | undefined, opts: { template?: string }) => {
      const broker = connect(globals());
      const ns = await broker.attach(nsName);
      await ns.remove(selector(name, opts.template));
      await broker.close();
    });

  program
    .command('mv')
    .description('Move every value under a name (or matching --template) to another namespace')
    .argument('<namespace>', 'source namespace')
    .argument('<destination>', 'destination namespace')
    .argument('[name]', 'tuple name')
    .option('-t, --template <glob>', 'move every name matching a glob')
    .action(async (nsName: string, dstName: string, name: string | undefined, opts: { template?: string }) => {
      const broker = connect(globals());
      const src = await broker.attach(nsName);
      const dst = await broker.attach(dstName);
      await src.move(selector(name, opts.template), dst);
      await broker.close();
    });
}
