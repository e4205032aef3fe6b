/**
 * The dashboard's HTTP server: Fastify on @tsdbr/core's public API, in the process that owns the broker.
 * @module
 */
import { ConfigError, isDbrError } from '@tsdbr/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { DashboardHttpError } from '../errors.js';
import { compileDashboardOptions, type CompiledDashboardOptions, type DashboardOptions } from '../options.js';
import { type DashboardContext, VERSION } from './context.js';
import { NamespaceHandles } from './handles.js';
import { DashboardMetrics } from './metrics.js';
import { NamePager } from './namespace-pager.js';
import { requestLogger } from './request-log.js';
import { registerMetaRoutes } from './routes-meta.js';
import { registerNamespaceRoutes } from './routes-namespaces.js';
import { registerSessionRoutes } from './routes-session.js';
import { registerTaskRoutes } from './routes-tasks.js';
import { applySecurityHeaders, Security } from './security.js';
import { EventHub } from './sse.js';
import { DashboardState } from './state.js';
import { registerStatic } from './static.js';
import type { TaskModel } from './task-model.js';
import { createTaskModel } from './worker-task-model.js';

/** A dashboard built but not necessarily listening: `app.inject()` drives it in tests. */
export interface Dashboard {
  /** The Fastify instance. */
  readonly app: FastifyInstance;
  /** The options in force (with the token, generated or given). */
  readonly options: CompiledDashboardOptions;
  /** Starts listening; resolves to the URL to open. */
  listen(): Promise<string>;
  /** Stops the server, the event streams and the sampling, and detaches every namespace the dashboard opened. */
  close(): Promise<void>;
}

/** Builds a dashboard from options (throws DashboardConfigError on unsafe or invalid ones). */
export function createDashboard(options: DashboardOptions, internals: { tasks?: TaskModel } = {}): Dashboard {
  const opts = compileDashboardOptions(options);
  const app = Fastify({
    logger: requestLogger(opts.logger),
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    // a malformed percent-escape in the path: the API's error shape and headers, not Fastify's
    frameworkErrors: (err, _req, reply) => sendError(reply, err),
  });
  const security = new Security(opts.token, opts.write, opts.loopback, opts.port);
  const handles = new NamespaceHandles(opts.broker, opts.idleDetachMs);
  const tasks = internals.tasks ?? createTaskModel(opts.broker, handles, opts.refreshMs);
  const state = new DashboardState(opts.broker, handles, tasks, opts.refreshMs, opts.historyMs);
  const metrics = new DashboardMetrics(state, { version: VERSION, backend: opts.broker.backend });
  const hub = new EventHub(
    (t) => produceTopic(ctx, t.event, t.args),
    opts.refreshMs,
    (err) => app.log.warn({ err }, 'dashboard: live update failed'),
  );
  const pager = new NamePager(handles);
  const ctx: DashboardContext = { options: opts, security, handles, pager, state, metrics, hub, version: VERSION };

  app.addHook('onRequest', async (req, reply) => {
    applySecurityHeaders(reply);
    security.checkHost(req);
    // decided by the matched route, not the raw URL, which may be percent-encoded or in absolute form
    if (req.routeOptions.url === '/' && security.authRequired) {
      const token = (req.query as Record<string, unknown> | undefined)?.token;
      if (typeof token === 'string') {
        if (!security.checkToken(token, req.ip)) throw new DashboardHttpError(401, 'UNAUTHORIZED', 'Wrong token in the URL: use the one the dashboard printed at start-up.');
        // trade the token in the URL for a session cookie, and drop it from the address bar and history
        reply.header('set-cookie', security.sessionCookie()).header('cache-control', 'no-store').redirect('/', 303);
        return reply;
      }
    }
    return undefined;
  });

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (describeError(err).status >= 500) req.log.error({ err }, 'dashboard: request failed');
    sendError(reply, err);
  });

  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new DashboardHttpError(404, 'NOT_FOUND', `No route ${req.method} ${req.url.split('?', 1)[0] ?? ''}: see API.md of @tsdbr/dashboard.`));
  });

  // Open to anyone: health and what the sign-in screen needs.
  void app.register(async (open) => {
    open.addHook('onRequest', async (_req, reply) => {
      reply.header('cache-control', 'no-store');
    });
    registerSessionRoutes(open, ctx);
  });
  // Every other route of the API, and /metrics: a route registered here needs the token, whatever the URL.
  void app.register(async (guarded) => {
    guarded.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      security.requireRead(req);
    });
    registerMetaRoutes(guarded, ctx);
    registerNamespaceRoutes(guarded, ctx);
    registerTaskRoutes(guarded, ctx);
  });
  registerStatic(app, opts.webRoot);

  app.addHook('preClose', async () => {
    hub.close();
  });

  let closed: Promise<void> | undefined;
  state.start();
  return {
    app,
    options: opts,
    async listen() {
      await app.listen({ host: opts.host, port: opts.port });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
      security.setPort(port);
      const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      const base = `http://${shownHost}:${port}/`;
      return opts.tokenGenerated && opts.token !== undefined ? `${base}?token=${encodeURIComponent(opts.token)}` : base;
    },
    close() {
      closed ??= (async () => {
        state.stop();
        hub.close();
        await app.close();
        await pager.close();
        await handles.close();
      })();
      return closed;
    },
  };
}

async function produceTopic(ctx: DashboardContext, event: string, args: string[]): Promise<unknown> {
  const { state } = ctx;
  switch (event) {
    case 'overview':
      return state.overview();
    case 'queues':
      return { queues: await state.queues() };
    case 'workers':
      return { workers: await state.tasks.workers() };
    case 'workflows':
      return { workflows: await state.tasks.workflows() };
    case 'namespace':
      return (await state.namespace(args[0] as string)) ?? { name: args[0], missing: true };
    // a view that vanished (or never was) says so: sending nothing would leave its last data on screen as live
    case 'queue':
      return (await state.queue(args[0] as string, args[1] as string)) ?? { namespace: args[0], queue: args[1], missing: true };
    case 'workflow':
      return (await state.tasks.workflow(args[0] as string, args[1] as string)) ?? { namespace: args[0], id: args[1], missing: true };
    default:
      return undefined;
  }
}

/** Answers an error in the API's shape, `{ error: { code, message } }`, with the security headers. */
function sendError(reply: FastifyReply, err: FastifyError | Error): void {
  const { status, code, message } = describeError(err);
  applySecurityHeaders(reply);
  if (err instanceof DashboardHttpError) reply.headers(err.headers);
  void reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send({ error: { code, message } });
}

function describeError(err: FastifyError | Error): { status: number; code: string; message: string } {
  if (err instanceof DashboardHttpError) return { status: err.statusCode, code: err.code, message: err.message };
  // an invalid queue name or task id, as @tsdbr/worker's protocol checks them; the message names the rule
  if (err instanceof ConfigError) return { status: 400, code: 'BAD_REQUEST', message: err.message };
  if (isDbrError(err)) {
    switch (err.code) {
      case 'DBR_ERR_UNAVAIL':
      case 'DBR_ERR_NSINVAL':
        return { status: 404, code: err.code, message: err.message };
      case 'DBR_ERR_INVALID':
        return { status: 400, code: err.code, message: err.message };
      case 'DBR_ERR_NOCONNECT':
      case 'DBR_ERR_TIMEOUT':
        return { status: 503, code: err.code, message: err.message };
      default:
        return { status: 502, code: err.code, message: err.message };
    }
  }
  const fe = err as FastifyError;
  if (fe.code === 'FST_ERR_BAD_URL') {
    return { status: 400, code: 'BAD_URL', message: `${fe.message}: a malformed percent-escape in the path. Encode names with encodeURIComponent.` };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: fe.code ?? 'BAD_REQUEST', message: fe.message };
  }
  return { status: 500, code: 'INTERNAL', message: `The dashboard failed: ${err.message}. This is a bug; please report it with the server log.` };
}
