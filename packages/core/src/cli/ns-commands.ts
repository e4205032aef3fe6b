/**
 * `dbr ns create|attach|delete|ls|info`: namespaces from the command line.
 * @module
 */
import type { Command } from 'commander';
import { PersistLevel } from '../constants.js';
import type { NamespaceInfo } from '../namespace-types.js';
import { type GlobalOptions, withBroker } from './io.js';
import { integerOption } from './parse.js';

/** A count of `ns info`'s text output; the backend reports -1 for what it cannot tell (bytes on Redis). */
function shownCount(n: number): string {
  return n < 0 ? 'unknown' : String(n);
}

function infoLines(info: NamespaceInfo): string[] {
  const shown: Record<string, string> = {
    name: info.name,
    names: shownCount(info.names),
    values: shownCount(info.values),
    bytes: shownCount(info.bytes),
    attached: String(info.attached),
    deletePending: String(info.deletePending),
  };
  return Object.entries(shown).map(([k, v]) => `${k.padEnd(14)} ${v}`);
}

/** The namespace's state as the other clients see it: this command's own attach is not counted. */
async function othersView(g: GlobalOptions, name: string): Promise<NamespaceInfo> {
  const info = await withBroker(g, async (broker) => (await broker.attach(name)).query());
  return { ...info, attached: info.attached - 1 };
}

/** Registers `dbr ns ...`. */
export function registerNamespaceCommands(program: Command, globals: () => GlobalOptions): void {
  const ns = program.command('ns').description('Create, inspect and delete namespaces');

  ns.command('create')
    .description('Create a namespace')
    .argument('<name>', 'namespace name')
    .option('-l, --level <n>', `persistence level 0..${PersistLevel.DBR_PERST_PERMANENT_FT} (accepted and ignored)`, '0')
    .action(async (name: string, opts: { level: string }) => {
      const level = integerOption(opts.level, '--level', 0, PersistLevel.DBR_PERST_PERMANENT_FT);
      await withBroker(globals(), (broker) => broker.create(name, { level }));
      process.stdout.write(`created ${name}\n`);
    });

  ns.command('attach')
    .description('Check that a namespace exists and can be attached; prints its state as JSON (attached: the other clients)')
    .argument('<name>', 'namespace name')
    .action(async (name: string) => {
      process.stdout.write(`${JSON.stringify(await othersView(globals(), name))}\n`);
    });

  ns.command('delete')
    .description('Delete a namespace and its tuples (refused while other clients are attached)')
    .argument('<name>', 'namespace name')
    .action(async (name: string) => {
      await withBroker(globals(), (broker) => broker.delete(name));
      process.stdout.write(`deleted ${name}\n`);
    });

  ns.command('ls')
    .description('List namespaces matching a glob')
    .argument('[pattern]', 'glob', '*')
    .action(async (pattern: string) => {
      const names = await withBroker(globals(), (broker) => broker.namespaces(pattern));
      for (const name of names) process.stdout.write(`${name}\n`);
    });

  ns.command('info')
    .description('Show the names, values, bytes and attached clients of a namespace ("unknown" where the backend cannot tell, e.g. bytes on Redis)')
    .argument('<name>', 'namespace name')
    .option('--json', 'print JSON (a count the backend cannot tell is -1)')
    .action(async (name: string, opts: { json?: boolean }) => {
      const shown = await othersView(globals(), name);
      if (opts.json) process.stdout.write(`${JSON.stringify(shown)}\n`);
      else for (const line of infoLines(shown)) process.stdout.write(`${line}\n`);
    });
}
