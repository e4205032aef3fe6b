/**
 * Queues, workers and workflows, and the write actions on tasks (retry, cancel, purge).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DashboardHttpError } from '../errors.js';
import { type DashboardContext, param, parseQuery } from './context.js';

const FailedQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(1100).optional(),
});

const TaskBody = z.object({ id: z.string().min(1).max(1023) });

/** Registers /api/queues, /api/workers and /api/workflows. */
export function registerTaskRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { state, security } = ctx;
  const tasks = state.tasks;

  app.get('/api/queues', async () => ({ queues: await state.queues() }));

  app.get('/api/queues/:ns/:queue', async (req) => {
    const ns = param(req, 'ns');
    const queue = param(req, 'queue');
    const q = await state.queue(ns, queue);
    if (q === undefined) throw new DashboardHttpError(404, 'QUEUE_NOT_FOUND', `No queue "${queue}" in namespace "${ns}": pick one from GET /api/queues.`);
    return q;
  });

  app.get('/api/queues/:ns/:queue/failed', async (req) => {
    const q = parseQuery(FailedQuery, req);
    return tasks.failed(param(req, 'ns'), param(req, 'queue'), q.cursor, q.limit);
  });

  const action = (verb: 'retry' | 'cancel') =>
    app.post(`/api/queues/:ns/:queue/${verb}`, async (req) => {
      security.requireWrite(req);
      const body = TaskBody.safeParse(req.body);
      if (!body.success) throw new DashboardHttpError(400, 'BAD_REQUEST', `Send JSON {"id": "<task id>"} to ${verb} a task.`);
      const ns = param(req, 'ns');
      const queue = param(req, 'queue');
      await tasks[verb](ns, queue, body.data.id);
      req.log.info({ namespace: ns, queue, id: body.data.id }, `dashboard: ${verb}`);
      await state.sample();
      ctx.hub.poke();
      return { ok: true, action: verb, id: body.data.id };
    });
  action('retry');
  action('cancel');

  app.post('/api/queues/:ns/:queue/purge', async (req) => {
    security.requireWrite(req);
    const ns = param(req, 'ns');
    const queue = param(req, 'queue');
    const removed = await tasks.purge(ns, queue);
    req.log.info({ namespace: ns, queue, removed }, 'dashboard: purge');
    await state.sample();
    ctx.hub.poke();
    return { ok: true, action: 'purge', removed };
  });

  app.get('/api/workers', async () => ({ workers: await tasks.workers() }));

  app.get('/api/workflows', async () => ({ workflows: await tasks.workflows() }));

  app.get('/api/workflows/:ns/:id', async (req) => {
    const ns = param(req, 'ns');
    const id = param(req, 'id');
    const wf = await tasks.workflow(ns, id);
    if (wf === undefined) throw new DashboardHttpError(404, 'WORKFLOW_NOT_FOUND', `No workflow "${id}" in namespace "${ns}": pick one from GET /api/workflows.`);
    return wf;
  });
}
