/**
 * The namespace browser: namespaces, pages of tuple names with counts and sizes, value previews, and
 * removing a tuple (write mode).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { NamePage } from '../api-types.js';
import { DashboardHttpError } from '../errors.js';
import { type DashboardContext, nameParam, param, parseQuery } from './context.js';
import { MAX_PAGE } from './namespace-pager.js';
import { buildPreview } from './preview.js';
import { nameEntry, readValue } from './value-reader.js';

const NamesQuery = z.object({
  pattern: z.string().min(1).max(1023).default('*'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
  cursor: z.string().min(1).max(64).optional(),
});

const ValueQuery = z.object({
  name: nameParam,
  index: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(0),
  format: z.enum(['auto', 'json', 'text', 'hex', 'msgpack']).default('auto'),
  /** Bytes to show (at most the server's previewBytes). */
  max: z.coerce.number().int().min(16).optional(),
});

const TupleQuery = z.object({ name: nameParam });

/** Registers /api/namespaces and the routes below it. */
export function registerNamespaceRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { handles, pager, state, options } = ctx;

  app.get('/api/namespaces', async () => {
    const { list, truncated } = await state.namespaces();
    return { namespaces: list, truncated };
  });

  app.get('/api/namespaces/:ns', async (req) => {
    const name = param(req, 'ns');
    const s = await state.namespace(name);
    if (s === undefined) throw new DashboardHttpError(404, 'NAMESPACE_NOT_FOUND', `Namespace "${name}" does not exist: pick one from GET /api/namespaces.`);
    return s;
  });

  app.get('/api/namespaces/:ns/names', async (req): Promise<NamePage> => {
    const namespace = param(req, 'ns');
    const q = parseQuery(NamesQuery, req);
    const page = await pager.page(namespace, q.pattern, q.cursor, q.limit);
    const names = await handles.use(namespace, (ns) => Promise.all(page.names.map((n) => nameEntry(ns, n))));
    return { namespace, pattern: q.pattern, names, cursor: page.cursor };
  });

  app.get('/api/namespaces/:ns/tuple', async (req) => {
    const namespace = param(req, 'ns');
    const q = parseQuery(TupleQuery, req);
    return handles.use(namespace, (ns) => nameEntry(ns, q.name));
  });

  app.get('/api/namespaces/:ns/value', async (req) => {
    const namespace = param(req, 'ns');
    const q = parseQuery(ValueQuery, req);
    const previewBytes = Math.min(q.max ?? options.previewBytes, options.previewBytes);
    return handles.use(namespace, async (ns) => {
      const value = await readValue(ns, q.name, q.index, previewBytes);
      if (value === undefined) {
        throw new DashboardHttpError(404, 'VALUE_NOT_FOUND', `No value #${q.index} under "${q.name}" in "${namespace}" (it may have been taken meanwhile): refresh the list.`);
      }
      return buildPreview({ namespace, name: q.name, index: q.index, value, format: q.format, previewBytes, schemas: options.schemas });
    });
  });

  app.delete('/api/namespaces/:ns/tuples', async (req) => {
    ctx.security.requireWrite(req);
    const namespace = param(req, 'ns');
    const q = parseQuery(TupleQuery, req);
    await handles.use(namespace, async (ns) => {
      if (!(await ns.has(q.name))) throw new DashboardHttpError(404, 'TUPLE_NOT_FOUND', `No tuple "${q.name}" in "${namespace}": it may have been taken meanwhile.`);
      await ns.remove(q.name);
    });
    req.log.info({ namespace, name: q.name }, 'dashboard: removed tuple');
    ctx.hub.poke();
    return { removed: true, namespace, name: q.name };
  });
}
