/**
 * A queue count changing live in the browser while a worker processes tasks: tasks are submitted and
 * claimed exactly as @tsdbr/worker lays them out, and the page follows every step over SSE.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardPage, openDashboard, screenshotPath } from './support/browser.js';
import { uniqueName } from './support/fixture.js';
import { SimWorker, submit } from './support/sim-worker.js';

describe('live queue in chromium', () => {
  let broker: Broker;
  let ui: DashboardPage;
  let base: string;
  let page: Page;
  let dialogs: string[];
  let ns: Namespace;

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create(uniqueName('tsdbr'));
    ui = await openDashboard({ broker, port: 0, refreshInterval: 150 });
    ({ base, page, dialogs } = ui);
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    await broker?.close();
  });

  const cell = (col: string) => page.locator(`[data-testid=queues] tr[aria-label="simulate"] td[data-col=${col}]`);

  it('follows waiting, running and done as a worker processes tasks', async () => {
    const worker = new SimWorker(ns, 'node3.77.cafe', 'simulate');
    await worker.beat();
    await submit(ns, 'simulate', 'simulate-member', [1, 2, 3, 4, 5, 6]);
    await page.goto(`${base}#/queues`);
    await cell('waiting').filter({ hasText: /^6$/ }).waitFor();
    for (let done = 1; done <= 6; done++) {
      await worker.claim();
      await cell('running').filter({ hasText: /^1$/ }).waitFor();
      await cell('waiting').filter({ hasText: new RegExp(`^${6 - done}$`) }).waitFor();
      if (done === 3) await page.screenshot({ path: screenshotPath('queues-live') });
      await worker.finish();
      await cell('done').filter({ hasText: new RegExp(`^${done}$`) }).waitFor();
      await cell('running').filter({ hasText: /^0$/ }).waitFor();
    }
    await page.goto(`${base}#/workers`);
    await page.getByTestId('workers').getByText('node3.77.cafe').waitFor();
    expect(await page.getByTestId('workers').textContent()).toContain('6 / 0');
    expect(dialogs).toEqual([]);
    await worker.stop();
  });
});
