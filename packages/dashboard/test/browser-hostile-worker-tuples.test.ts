/**
 * Worker tuples anyone with access to a namespace may write (heartbeats, workflow info tuples, queue bands),
 * rendered in chromium by the real task model: a hostile or vanished one never breaks or freezes a view.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardPage, openDashboard } from './support/browser.js';
import { uniqueName } from './support/fixture.js';
import { submit } from './support/sim-worker.js';

describe('hostile or vanished worker tuples in chromium', () => {
  let broker: Broker;
  let ui: DashboardPage;
  let base: string;
  let page: Page;
  let ns: Namespace;
  const problems: string[] = [];

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create(uniqueName('hostile'));
    ui = await openDashboard({ broker, port: 0, refreshInterval: 150 });
    ({ base, page } = ui);
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    await broker?.close();
  });

  it('draws a workflow whose step repeats one dependency 200,000 times', async () => {
    const deps = Array.from({ length: 200_000 }, () => 'prepare');
    const steps = [
      { key: 'prepare', state: 'done' },
      { key: 'render', state: 'running', deps },
    ];
    await ns.put('wf:flood:r1:info', JSON.stringify({ status: 'running', startedAt: Date.now(), steps }));
    await page.goto(`${base}#/workflows/${encodeURIComponent(ns.name)}/flood%3Ar1`);
    await page.locator('[data-node="render"]').waitFor();
    expect(await page.locator('.dag-edge').count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it('lists a bounded number of the running tasks a heartbeat names', async () => {
    const tasks = Array.from({ length: 5000 }, (_, i) => ({ id: `t${i}`, task: 'render-frame', queue: 'render', attempt: 1, startedAt: Date.now() }));
    await ns.put('worker:flood', JSON.stringify({ id: 'flood', host: 'h', pid: 1, startedAt: Date.now(), lastBeat: Date.now(), seq: 1, leaseTtlMs: 30_000, queues: ['render'], concurrency: 1, tasks, stats: { claimed: 5000, completed: 0, failed: 0, retried: 0, dead: 0, cancelled: 0, recovered: 0 } }));
    await page.goto(`${base}#/workers`);
    const card = page.locator('[data-testid=workers] article').filter({ hasText: 'flood' });
    await card.getByText('t0', { exact: true }).waitFor();
    await card.getByText('4,900 more running').waitFor();
    expect(await card.locator('tbody tr').count()).toBe(100);
    await ns.remove('worker:flood');
  });

  it('says so when the queue on screen vanishes with its namespace', async () => {
    const doomed = await broker.create(uniqueName('doomed'));
    await submit(doomed, 'render', 'render-frame', [1, 2, 3]);
    await page.goto(`${base}#/queues/${encodeURIComponent(doomed.name)}/render`);
    await page.getByTestId('queue-stats').getByText('3', { exact: true }).waitFor();
    await doomed.close();
    await broker.delete(doomed.name);
    await page.getByTestId('queue-missing').waitFor();
    expect(await page.getByTestId('queue-stats').count()).toBe(0);
  });

  it('says so when the workflow asked for does not exist, instead of loading forever', async () => {
    await page.goto(`${base}#/workflows/${encodeURIComponent(ns.name)}/nothing%3Ahere`);
    await page.getByTestId('workflow-missing').waitFor();
  });
});
