/**
 * Everything a route needs, built once per dashboard.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DashboardHttpError } from '../errors.js';
import type { CompiledDashboardOptions } from '../options.js';
import type { NamespaceHandles } from './handles.js';
import type { DashboardMetrics } from './metrics.js';
import type { NamePager } from './namespace-pager.js';
import type { Security } from './security.js';
import type { EventHub } from './sse.js';
import type { DashboardState } from './state.js';

/** The parts of a running dashboard. */
export interface DashboardContext {
  options: CompiledDashboardOptions;
  security: Security;
  handles: NamespaceHandles;
  pager: NamePager;
  state: DashboardState;
  metrics: DashboardMetrics;
  hub: EventHub;
  version: string;
}

/** This package's version. */
export const VERSION: string = (() => {
  try {
    // src/server/context.ts and dist/server/context.js both sit two levels below package.json
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** Parses query parameters with a zod schema; a 400 naming the bad parameter otherwise. */
export function parseQuery<S extends z.ZodType>(schema: S, req: FastifyRequest): z.output<S> {
  const r = schema.safeParse(req.query ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 ? `parameter "${issue.path.join('.')}"` : 'query';
  throw new DashboardHttpError(400, 'BAD_REQUEST', `Bad ${where}: ${issue?.message ?? 'invalid'}. See API.md of @tsdbr/dashboard for the parameters of ${req.routeOptions.url ?? req.url}.`);
}

/** A path parameter by name. */
export function param(req: FastifyRequest, name: string): string {
  const v = (req.params as Record<string, string | undefined>)[name];
  if (v === undefined || v === '') throw new DashboardHttpError(400, 'BAD_REQUEST', `Missing path parameter "${name}".`);
  return v;
}

/** A non-empty tuple or namespace name. */
export const nameParam = z.string().min(1, 'must not be empty').max(1023, 'longer than 1023 bytes');
