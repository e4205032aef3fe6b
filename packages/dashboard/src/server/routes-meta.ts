/**
 * Health, session, overview, metrics and the event stream.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionInfo } from '../api-types.js';
import { DashboardHttpError } from '../errors.js';
import { type DashboardContext, nameParam, parseQuery } from './context.js';
import type { Topic } from './sse.js';

const EventsQuery = z.object({
  topics: z.string().max(200).optional(),
  ns: nameParam.optional(),
  queueNamespace: nameParam.optional(),
  queue: nameParam.optional(),
  workflowNamespace: nameParam.optional(),
  workflow: nameParam.optional(),
});

const BROADCAST = new Set(['overview', 'queues', 'workers', 'workflows']);

/** Registers /health, /api/session, /api/login, /api/logout, /api/overview, /metrics and /api/events. */
export function registerMetaRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { security, state } = ctx;

  app.get('/health', async () => ({ status: 'ok', backend: ctx.options.broker.backend, version: ctx.version, uptimeSeconds: Math.round(process.uptime()) }));

  app.get('/api/session', async (req): Promise<SessionInfo> => ({
    version: ctx.version,
    backend: ctx.options.broker.backend,
    write: security.write,
    authRequired: security.authRequired,
    authenticated: !security.authRequired || security.authOf(req) !== 'none',
    csrfToken: security.csrfFor(req),
    refreshMs: ctx.options.refreshMs,
    previewBytes: ctx.options.previewBytes,
  }));

  app.post('/api/login', async (req, reply) => {
    const body = z.object({ token: z.string().min(1).max(512) }).safeParse(req.body);
    if (!body.success) throw new DashboardHttpError(400, 'BAD_REQUEST', 'Send JSON {"token": "<token>"}.');
    if (!security.authRequired) return { ok: true };
    if (!security.checkToken(body.data.token)) throw new DashboardHttpError(401, 'UNAUTHORIZED', 'Wrong token: use the one the dashboard was started with (--token or DBR_DASHBOARD_TOKEN).');
    reply.header('set-cookie', security.sessionCookie());
    return { ok: true };
  });

  app.post('/api/logout', async (_req, reply) => {
    reply.header('set-cookie', `${security.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });

  app.get('/api/overview', () => state.overview());

  app.get('/metrics', async (_req, reply) => {
    reply.type(ctx.metrics.contentType);
    return ctx.metrics.render();
  });

  app.get('/api/events', async (req, reply) => {
    const q = parseQuery(EventsQuery, req);
    const topics: Topic[] = [];
    for (const t of (q.topics ?? 'overview').split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!BROADCAST.has(t)) throw new DashboardHttpError(400, 'BAD_REQUEST', `Unknown topic "${t}": use overview, queues, workers or workflows (and ns=, queue=, workflow= for one item).`);
      topics.push({ event: t as Topic['event'], args: [] });
    }
    if (q.ns !== undefined) topics.push({ event: 'namespace', args: [q.ns] });
    if (q.queue !== undefined) topics.push({ event: 'queue', args: [q.queueNamespace ?? '', q.queue] });
    if (q.workflow !== undefined) topics.push({ event: 'workflow', args: [q.workflowNamespace ?? '', q.workflow] });
    ctx.hub.subscribe(req, reply, topics);
  });
}
