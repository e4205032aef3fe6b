/**
 * Loads user modules named on the command line (tasks files, workflow files), TypeScript included (through
 * tsx, registered on first need), and finds the tasks and workflows they export.
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@tsdbr/core';
import { type AnyTask, isTask } from './task.js';
import { isWorkflow, type Workflow } from './workflow.js';

let tsxRegistered = false;

/** Imports a .js/.mjs/.ts/.mts file by path. */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(`Module ${path} does not exist (resolved to ${abs}); check the path.`);
  const url = pathToFileURL(abs).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (tsxRegistered || (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_MODULE_NOT_FOUND')) throw err;
  }
  const { register } = await import('tsx/esm/api');
  register();
  tsxRegistered = true;
  return (await import(`${url}?tsx`)) as Record<string, unknown>;
}

/** Every task a module exports: directly, in arrays, or in objects (e.g. `export const tasks = [...]`). */
export function collectTasks(mod: Record<string, unknown>): AnyTask[] {
  const found = new Map<string, AnyTask>();
  const visit = (v: unknown, depth: number) => {
    if (isTask(v)) found.set(v.name, v);
    else if (depth < 2 && Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (depth < 2 && typeof v === 'object' && v !== null && !isWorkflow(v)) for (const x of Object.values(v)) visit(x, depth + 1);
  };
  for (const v of Object.values(mod)) visit(v, 0);
  return [...found.values()];
}

/** Every workflow a module exports. */
export function collectWorkflows(mod: Record<string, unknown>): Workflow<unknown, unknown>[] {
  return [...new Set(Object.values(mod).filter(isWorkflow))];
}

/** Loads a tasks module and returns its tasks; throws a ConfigError naming the fix if it has none. */
export async function loadTasks(path: string): Promise<AnyTask[]> {
  const tasks = collectTasks(await importModule(path));
  if (tasks.length === 0) throw new ConfigError(`${path} exports no tasks: export the values returned by defineTask() (e.g. \`export const resize = defineTask({...})\`).`);
  return tasks;
}
