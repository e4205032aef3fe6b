/**
 * A page whose session stops holding (the dashboard restarted with another token, as a generated one is
 * on every start): the browser never retries an event stream the server refused, so the page must ask for
 * the token again instead of showing "reconnecting" forever.
 */
import { Broker } from '@tsdbr/core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createDashboard, type Dashboard } from '../src/index.js';
import { type BrowserSession, ensureWebBuilt, launch } from './support/browser.js';

const FIRST_TOKEN = 'session-lost-token-one';
const SECOND_TOKEN = 'session-lost-token-two';

describe('a session lost while a page is open', () => {
  let broker: Broker;
  let dashboard: Dashboard;
  let session: BrowserSession;

  beforeAll(async () => {
    ensureWebBuilt();
    broker = new Broker();
    dashboard = createDashboard({ broker, port: 0, refreshInterval: 150, token: FIRST_TOKEN });
    await dashboard.listen();
    session = await launch();
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    await dashboard?.close();
    await broker?.close();
  });

  it('shows the sign-in form once the restarted dashboard refuses the old session', async () => {
    const port = dashboard.app.server.address();
    if (typeof port !== 'object' || port === null) throw new Error('the dashboard is not listening');
    const base = `http://127.0.0.1:${port.port}/`;
    const page = await session.context.newPage();
    await page.goto(`${base}?token=${FIRST_TOKEN}#/queues`);
    await page.locator('.live.live').waitFor();
    await dashboard.close();
    dashboard = createDashboard({ broker, port: port.port, refreshInterval: 150, token: SECOND_TOKEN });
    await dashboard.listen();
    await page.getByLabel('Token').waitFor();
    await page.getByLabel('Token').fill(SECOND_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.live.live').waitFor();
  });
});
