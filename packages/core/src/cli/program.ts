/**
 * The `dbr` command. Core registers the tuple-space commands; other tsdbr packages that are installed add
 * theirs (worker, run, dashboard ...) through their `./cli` export.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDoctor } from './doctor.js';
import { EXIT_CODE_HELP, ExitCode, exitCodeOf } from './exit-codes.js';
import { closeOpenBrokers, type GlobalOptions } from './io.js';
import { describeError } from './messages.js';
import { registerNamespaceCommands } from './ns-commands.js';
import { registerRedisCommands } from './redis-commands.js';
import { registerTupleCommands } from './tuple-commands.js';

/** What a package's `./cli` export provides. */
export interface CliPlugin {
  /** Adds the package's commands to the program; `globals()` gives the global options at run time. */
  register(program: Command, globals: () => GlobalOptions): void;
}

const PLUGINS = ['@tsdbr/worker/cli', '@tsdbr/dashboard/cli'];

/** The version of @tsdbr/core (package.json sits two levels above both src/cli and dist/cli). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Builds the program with core's commands and every installed plugin's. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('dbr')
    .description('The Data Broker tuple space and task queue, from the command line')
    .option('-s, --server <url>', 'sock://host:port of a Redis server (default: DBR_SERVER, else the embedded backend)')
    .option('-a, --auth-file <path>', 'file holding the Redis password (default: DBR_AUTHFILE)')
    .option('--timeout <duration>', 'default wait of blocking calls such as get/read without --wait: 500 (ms), 5s, infinite (default: DBR_TIMEOUT, in seconds; neither set: get/read do not wait)')
    .option('-q, --quiet', 'no notes on stderr')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addHelpText('after', `\n${EXIT_CODE_HELP}\n\nRun \`dbr <command> --help\` for a command's options.`)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  registerDoctor(program, globals);
  registerNamespaceCommands(program, globals);
  registerTupleCommands(program, globals);
  registerRedisCommands(program);
  for (const spec of PLUGINS) {
    try {
      const mod = (await import(spec)) as Partial<CliPlugin>;
      mod.register?.(program, globals);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') continue; // not installed
      // a broken plugin must not take the core commands down with it
      process.stderr.write(`dbr: the commands of ${spec} are unavailable: ${(err as Error).message.split('\n')[0]} (rebuild it with \`pnpm build\`).\n`);
    }
  }
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    process.stderr.write(`dbr: ${describeError(err, program.opts<GlobalOptions>())}\n`);
    return exitCodeOf(err);
  } finally {
    await closeOpenBrokers();
  }
}
