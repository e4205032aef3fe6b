/**
 * The `dbr` command as a library, for packages that add subcommands.
 * @module
 */
export { buildProgram, type CliPlugin, runCli } from './program.js';
export { connect, type GlobalOptions, readStdin, valueFrom, withBroker, writeValue } from './io.js';
export { ConflictError, EXIT_CODE_HELP, ExitCode, exitCodeOf, NotFoundError, UsageError } from './exit-codes.js';
export { describeError } from './messages.js';
export { durationOption, integerOption } from './parse.js';
