/**
 * The worker's `dbr` subcommands: worker, run, submit, tasks, demo. The `dbr` CLI of @tsdbr/core loads this
 * module (package export `./cli`) and calls register().
 * @module
 */
import type { GlobalOptions } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import { registerDemoCommand } from './demo-command.js';
import { registerRunCommand } from './run-command.js';
import { registerSubmitCommand } from './submit-command.js';
import { registerTasksCommand } from './tasks-command.js';
import { registerWorkerCommand } from './worker-command.js';

/** Adds the worker's commands to the `dbr` program. */
export function register(program: Command, globals: () => GlobalOptions): void {
  registerWorkerCommand(program, globals);
  registerRunCommand(program, globals);
  registerSubmitCommand(program, globals);
  registerTasksCommand(program, globals);
  registerDemoCommand(program, globals);
}
