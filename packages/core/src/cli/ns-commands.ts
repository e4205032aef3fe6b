/**
 * `dbr ns create|attach|delete|ls|info`: namespaces from the command line.
 * @module
 */
import type { Command } from 'commander';
import { type GlobalOptions, connect } from './io.js';

/** Registers `dbr ns ...`. */
export function registerNamespaceCommands(program: Command, globals: () => GlobalOptions): void {
  const ns = program.command('ns').description('Create, inspect and delete namespaces');

  ns.command('create')
    .description('Create a namespace')
    .argument('<name>', 'namespace name')
    .option('-l, --level <n>', 'persistence level 0..5 (accepted and ignored)', '0')
    .action(async (name: string, opts: { level: string }) => {
      const broker = connect(globals());
      const handle = await broker.create(name, { level: Number(opts.level) });
      await handle.close();
      process.stdout.write(`created ${name}\n`);
    });

  ns.command('attach')
    .description('Check that a namespace exists and can be attached; prints its state')
    .argument('<name>', 'namespace name')
    .action(async (name: string) => {
      const broker = connect(globals());
      const handle = await broker.attach(name);
      process.stdout.write(`${JSON.stringify(await handle.query())}\n`);
      await broker.close();
    });

  ns.command('delete')
    .description('Delete a namespace and its tuples (refused while other clients are attached)')
    .argument('<name>', 'namespace name')
    .action(async (name: string) => {
      const broker = connect(globals());
      await broker.delete(name);
      process.stdout.write(`deleted ${name}\n`);
    });

  ns.command('ls')
    .description('List namespaces matching a glob')
    .argument('[pattern]', 'glob', '*')
    .action(async (pattern: string) => {
      const broker = connect(globals());
      for (const name of await broker.namespaces(pattern)) process.stdout.write(`${name}\n`);
    });

  ns.command('info')
    .description('Show the names, values, bytes and attached clients of a namespace')
    .argument('<name>', 'namespace name')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const broker = connect(globals());
      const handle = await broker.attach(name);
      const info = await handle.query();
      await broker.close();
      // our own attach is not interesting to the reader
      const shown = { ...info, attached: info.attached - 1 };
      if (opts.json) process.stdout.write(`${JSON.stringify(shown)}\n`);
      else for (const [k, v] of Object.entries(shown)) process.stdout.write(`${k.padEnd(14)} ${String(v)}\n`);
    });
}
