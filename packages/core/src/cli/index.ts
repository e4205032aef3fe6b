/**
 * The `dbr` command as a library, for packages that add subcommands.
 * @module
 */
export { buildProgram, type CliPlugin, runCli } from './program.js';
export { connect, type GlobalOptions, readStdin, valueFrom, writeValue } from './io.js';
export { EXIT_CODE_HELP, ExitCode, exitCodeOf, UsageError } from './exit-codes.js';
