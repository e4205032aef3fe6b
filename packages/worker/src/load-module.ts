/**
 * Loads user modules named on the command line (tasks files, workflow files), TypeScript included (through
 * tsx, on first need), and finds the tasks and workflows they export.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModuleLoadError } from './errors.js';
import { type AnyTask, isTask } from './task.js';
import { isWorkflow, type Workflow } from './workflow.js';

/**
 * Imports a .js/.mjs/.ts/.mts file by path. Throws a ModuleLoadError when the file is missing, has a syntax
 * error (with its file:line) or cannot be loaded as it is written (with the fix).
 */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ModuleLoadError(path, `Module ${path} does not exist (resolved to ${abs}); check the path.`);
  const url = pathToFileURL(abs).href;
  try {
    return await importPlainOrTypeScript(url);
  } catch (err) {
    throw explainLoadFailure(path, url, err);
  }
}

/** Node's own import, else tsx's (TypeScript, or .js specifiers that name .ts files). */
async function importPlainOrTypeScript(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  // tsImport loads the file as its package.json says (ESM or CommonJS), through tsx's ESM and CJS hooks both:
  // registering only the ESM hook fails for .ts files in a package without "type": "module"
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
}

/** tsx compiled the file as CommonJS but it uses ESM-only syntax (top-level await), or Node refused to require() it. */
const COMMONJS_MISMATCH = /Top-level await is currently not supported with the "cjs" output format|Cannot require\(\) ES Module|ERR_REQUIRE_ESM|ERR_REQUIRE_ASYNC_MODULE|ERR_REQUIRE_CYCLE_MODULE/;

/** An esbuild (tsx) error line: `<file>:<line>:<column>: ERROR: <text>`. */
const TRANSFORM_ERROR = /^(.+?:\d+:\d+): ERROR: (.+)$/m;

function explainLoadFailure(path: string, url: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  const text = `${e?.code ?? ''} ${e?.message ?? ''}`;
  if (COMMONJS_MISMATCH.test(text)) {
    const detail = text.split('\n').find((l) => COMMONJS_MISMATCH.test(l))?.trim() ?? '';
    return new ModuleLoadError(path, `${path} is loaded as CommonJS (no "type": "module" in its package.json), which cannot run it (${detail}): add "type": "module" to its package.json, or rename it to .mts.`, { cause: err });
  }
  const transform = TRANSFORM_ERROR.exec(e?.message ?? '');
  if (transform) return new ModuleLoadError(path, `${transform[1]}: SyntaxError: ${transform[2]}; fix the code.`, { cause: err });
  if (err instanceof SyntaxError && isParseError(err)) {
    const where = locationInStack(err) ?? syntaxErrorLocation(url);
    return new ModuleLoadError(path, `${where ?? path}: SyntaxError: ${err.message}${where === undefined ? ' (in this module or one it imports)' : ''}; fix the code.`, { cause: err });
  }
  return err;
}

/** A SyntaxError of the import itself (raised in Node's loader), not one thrown by the module's code (JSON.parse...). */
function isParseError(err: SyntaxError): boolean {
  const top = (err.stack ?? '').split('\n').find((l) => l.trimStart().startsWith('at '));
  return top === undefined || top.includes('node:internal/');
}

/** `<file>:<line>` heading a stack, as Node writes it for CommonJS files. */
const STACK_LOCATION = /^(file:\/\/\S+?|\/\S+?|[A-Za-z]:\\\S+?):(\d+)$/m;

function locationInStack(err: Error): string | undefined {
  const head = (err.stack ?? '').split('\n')[0] ?? '';
  return formatLocation(STACK_LOCATION.exec(head));
}

/**
 * Where an ES module's syntax error is, as file:line. import() rejects without saying (Node prints the place
 * only for an uncaught error), so the file is imported again in a child process, which prints it. A parse
 * error stops an import before any module runs, so the child runs nothing.
 */
function syntaxErrorLocation(url: string): string | undefined {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import ${JSON.stringify(url)};`], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'ignore', 'pipe'] });
  return formatLocation(STACK_LOCATION.exec(child.stderr ?? ''));
}

function formatLocation(m: RegExpExecArray | null): string | undefined {
  if (!m) return undefined;
  const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
  return `${file}:${m[2]}`;
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

/** Loads a tasks module and returns its tasks; throws a ModuleLoadError naming the fix if it has none. */
export async function loadTasks(path: string): Promise<AnyTask[]> {
  const tasks = collectTasks(await importModule(path));
  if (tasks.length === 0) throw new ModuleLoadError(path, `${path} exports no tasks: export the values returned by defineTask() (e.g. \`export const resize = defineTask({...})\`).`);
  return tasks;
}

/** The tasks whose queue is one of `queues`, so a worker given them serves exactly those queues. */
export function tasksOfQueues(tasks: readonly AnyTask[], queues: readonly string[]): AnyTask[] {
  return tasks.filter((t) => queues.includes(t.queue));
}
