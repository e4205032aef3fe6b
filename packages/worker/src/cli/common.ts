/**
 * Shared pieces of the worker's CLI commands: namespace and broker from global options, parsing helpers that
 * turn a bad option into a usage error naming the option and the value as typed.
 * @module
 */
import { type Broker, ConfigError, isDbrError, type Namespace, parseDuration } from '@tsdbr/core';
import { connect, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { ModuleLoadError, NamespaceNotFoundError, SharedBackendRequiredError } from '../errors.js';
import { checkId, checkQueue } from '../protocol.js';
import { defaultNamespace } from '../worker-options.js';

/** Adds `-n, --namespace`. */
export function namespaceOption(cmd: Command): Command {
  return cmd.option('-n, --namespace <name>', 'namespace of the queues (default: DBR_NAMESPACE, else tsdbr)');
}

/** Opens (or creates) the namespace named by --namespace. */
export async function openNamespace(globals: GlobalOptions, name: string | undefined, quietMem = false): Promise<{ broker: Broker; ns: Namespace }> {
  const broker = connect(quietMem ? { ...globals, quiet: true } : globals);
  const ns = await broker.open(name ?? defaultNamespace());
  return { broker, ns };
}

/**
 * The namespace of a command that talks to workers in other processes (`submit`, `tasks ...`): refused on the
 * embedded backend, where no other process could see it. `create: false` attaches only, so reading a
 * namespace that does not exist fails (NamespaceNotFoundError, exit 3) instead of creating it.
 */
export async function sharedNamespace(globals: GlobalOptions, name: string | undefined, command: string, options: { create: boolean }): Promise<{ broker: Broker; ns: Namespace }> {
  const broker = connect({ ...globals, quiet: true });
  const nsName = name ?? defaultNamespace();
  try {
    if (broker.backend === 'mem') throw new SharedBackendRequiredError(`${command} needs a shared backend: set DBR_SERVER (see dbr redis up); the embedded backend lives only as long as this command, so no worker could share its tasks.`);
    return { broker, ns: options.create ? await broker.open(nsName) : await broker.attach(nsName) };
  } catch (err) {
    await broker.close();
    if (isDbrError(err, 'DBR_ERR_UNAVAIL')) throw new NamespaceNotFoundError(nsName);
    throw err;
  }
}

/** Awaits a module load; a ModuleLoadError (missing file, no tasks, syntax error) becomes a usage error (exit 2). */
export async function loadingModule<T>(load: Promise<T>): Promise<T> {
  try {
    return await load;
  } catch (err) {
    if (err instanceof ModuleLoadError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/** Parses a positive integer option. */
export function positiveInt(value: string | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${what} must be a positive integer, got "${value}".`);
  return Number(value);
}

/** Parses an integer option from `min` to `max`. */
export function intInRange(value: string, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) throw new UsageError(`${what} must be an integer from ${min} to ${max}, got "${value}".`);
  return Number(value);
}

/**
 * Milliseconds of a duration option as typed: a bare number is milliseconds, else e.g. 250ms, 5s, 2m, 1h
 * (and `infinite` where allowed). `what` is the flag or variable the value came from.
 */
export function durationOption(value: string, what: string, options: { infinite?: boolean; minMs?: number } = {}): number {
  const text = value.trim();
  let ms: number;
  try {
    ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) : parseDuration(text as Parameters<typeof parseDuration>[0], what);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ms = Number.NaN;
  }
  const examples = `e.g. 500 (ms), 250ms, 5s, 2m${options.infinite ? ' or infinite' : ''}`;
  if (Number.isNaN(ms) || (ms === Infinity && !options.infinite)) throw new UsageError(`${what} "${value}" is not a duration: write ${examples}.`);
  const min = options.minMs ?? 0;
  if (ms < min) throw new UsageError(`${what} "${value}" is too short (${ms} ms): use at least ${min}ms, e.g. 5s.`);
  return ms;
}

/** A queue name given on the command line (`what` names the option), checked like the library checks it. */
export function queueArg(queue: string, what = '--queue'): string {
  try {
    return checkQueue(queue);
  } catch (err) {
    throw asUsage(err, what);
  }
}

/** A task id (or dedup key) given on the command line, checked like the library checks it; `label` names it. */
export function taskIdArg(id: string, label = 'Task id'): string {
  try {
    return checkId(id, label);
  } catch (err) {
    throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
  }
}

function asUsage(err: unknown, what: string): unknown {
  return err instanceof ConfigError ? new UsageError(`${what}: ${err.message}`, { cause: err }) : err;
}

const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The log level in DBR_LOG_LEVEL, else `fallback`; a usage error naming the variable and the levels if it is none. */
export function logLevelFromEnv(fallback: LevelWithSilent): LevelWithSilent {
  const value = env('DBR_LOG_LEVEL');
  if (value === undefined) return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new UsageError(`DBR_LOG_LEVEL "${value}" is not a log level: use one of ${LOG_LEVELS.join(', ')}.`);
  return value as LevelWithSilent;
}

/** Parses JSON given on the command line, naming the option on failure. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON (${(err as Error).message}); quote it for the shell, e.g. '{"a":1}'.`);
  }
}

/** Environment value, or undefined when unset or blank. */
export function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
