/**
 * Schemas the value previews are checked against. Register them with the `schemas` option of
 * startDashboard, or with `dbr dashboard --schemas ./schemas.js`, a module whose default export (or
 * `schemas` export) is an array of {@link SchemaRegistration}.
 * @module
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DashboardConfigError } from '../errors.js';
import { globMatch } from './glob.js';

/** The part of a zod schema the dashboard uses (any zod 3/4 schema fits, and so does anything with safeParse). */
export interface SafeParseSchema {
  safeParse(value: unknown): { success: true; data?: unknown } | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } };
}

/** One schema bound to the tuples it describes. */
export interface SchemaRegistration {
  /** Glob of the namespaces it applies to (default `*`). */
  namespace?: string;
  /** Glob of the tuple names it applies to, e.g. `result:*`. */
  name: string;
  /** A zod schema (or anything with `safeParse`). */
  schema: SafeParseSchema;
  /** How the bytes decode before validation (default `json`). */
  codec?: 'json' | 'msgpack' | 'utf8';
  /** Shown in the UI (default: the name glob). */
  label?: string;
}

/** Typed identity helper for schema modules: `export default defineSchemas([{ name: 'job:*', schema: Job }])`. */
export function defineSchemas(schemas: SchemaRegistration[]): SchemaRegistration[] {
  return schemas;
}

/** The first registration matching a tuple, if any. */
export function findSchema(schemas: readonly SchemaRegistration[], namespace: string, name: string): SchemaRegistration | undefined {
  return schemas.find((s) => globMatch(s.namespace ?? '*', namespace) && globMatch(s.name, name));
}

/** Checks registrations; throws DashboardConfigError naming the bad entry. */
export function validateSchemas(schemas: unknown, origin: string): SchemaRegistration[] {
  if (!Array.isArray(schemas)) {
    throw new DashboardConfigError(`${origin} must export an array of { name, schema } (default export or \`schemas\`), got ${typeof schemas}.`);
  }
  schemas.forEach((s: unknown, i) => {
    const r = s as Partial<SchemaRegistration> | null;
    if (r === null || typeof r !== 'object' || typeof r.name !== 'string' || r.name === '') {
      throw new DashboardConfigError(`${origin}: schema #${i} has no \`name\` glob: write { name: 'result:*', schema }.`);
    }
    if (typeof r.schema?.safeParse !== 'function') {
      throw new DashboardConfigError(`${origin}: schema #${i} (${r.name}) has no zod \`schema\` (an object with safeParse).`);
    }
    if (r.codec !== undefined && !['json', 'msgpack', 'utf8'].includes(r.codec)) {
      throw new DashboardConfigError(`${origin}: schema #${i} (${r.name}) has codec "${String(r.codec)}": use json, msgpack or utf8.`);
    }
  });
  return schemas as SchemaRegistration[];
}

/** Loads a schema module (ESM or CommonJS; .js/.mjs, or .ts when run under tsx). */
export async function loadSchemaModule(path: string): Promise<SchemaRegistration[]> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new DashboardConfigError(`Cannot load the schema module ${path}: ${(err as Error).message}. Pass a path to a .js/.mjs file exporting an array of { name, schema }.`);
  }
  const value = mod.schemas ?? mod.default;
  return validateSchemas(value, `Schema module ${path}`);
}
