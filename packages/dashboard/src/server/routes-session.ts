/**
 * The routes anyone may reach, token or not: health, and what the sign-in screen needs.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionInfo } from '../api-types.js';
import { DashboardHttpError } from '../errors.js';
import type { DashboardContext } from './context.js';

const LoginBody = z.object({ token: z.string().min(1).max(512) });

/** Registers /health, /api/session, /api/login and /api/logout. */
export function registerSessionRoutes(app: FastifyInstance, ctx: DashboardContext): void {
  const { security } = ctx;

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
    const body = LoginBody.safeParse(req.body);
    if (!body.success) throw new DashboardHttpError(400, 'BAD_REQUEST', 'Send JSON {"token": "<token>"}.');
    if (!security.authRequired) return { ok: true };
    if (!security.checkToken(body.data.token, req.ip)) throw new DashboardHttpError(401, 'UNAUTHORIZED', 'Wrong token: use the one the dashboard was started with (--token or DBR_DASHBOARD_TOKEN).');
    reply.header('set-cookie', security.sessionCookie());
    return { ok: true };
  });

  app.post('/api/logout', async (_req, reply) => {
    reply.header('set-cookie', `${security.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });
}
