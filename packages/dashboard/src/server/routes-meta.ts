/**
 * Overview, metrics and the event stream.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
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

/** Registers /api/overview, /metrics and /api/events. */
export function registerMetaRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { state } = ctx;

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
