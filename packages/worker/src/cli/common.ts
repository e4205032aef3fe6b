/**
 * Shared pieces of the worker's CLI commands: namespace and broker from global options, parsing helpers.
 * @module
 */
import type { Broker, Namespace } from '@tsdbr/core';
import { connect, type GlobalOptions, UsageError } from '@tsdbr/core/cli';
import type { Command } from 'commander';
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

/** Parses a positive integer option. */
export function positiveInt(value: string | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${what} must be a positive integer, got "${value}".`);
  return Number(value);
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
