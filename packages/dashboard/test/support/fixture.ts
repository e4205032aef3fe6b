/**
 * A dashboard on the embedded backend for API tests, driven with fastify.inject (no socket).
 */
import { randomBytes } from 'node:crypto';
import { Broker, type Namespace } from '@tsdbr/core';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../src/index.js';

export interface Fixture {
  broker: Broker;
  dashboard: Dashboard;
  /** A fresh namespace for this test. */
  ns: Namespace;
  get<T = unknown>(url: string, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Record<string, unknown>; raw: string }>;
  close(): Promise<void>;
}

/** A unique namespace name. */
export function uniqueName(prefix = 'dash'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Builds a dashboard (not listening) with a fresh namespace. */
export async function fixture(options: Partial<DashboardOptions> = {}): Promise<Fixture> {
  const broker = options.broker ?? new Broker();
  const dashboard = createDashboard({ port: 0, refreshInterval: 100, ...options, broker });
  const ns = await broker.create(uniqueName());
  return {
    broker,
    dashboard,
    ns,
    async get<T>(url: string, headers: Record<string, string> = {}) {
      const res = await dashboard.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1', ...headers } });
      let body: unknown = res.body;
      if (String(res.headers['content-type'] ?? '').startsWith('application/json')) body = res.json();
      return { status: res.statusCode, body: body as T, headers: res.headers, raw: res.body };
    },
    async close() {
      await dashboard.close();
      await broker.close();
    },
  };
}
