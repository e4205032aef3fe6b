/**
 * The web UI in a real browser (Debian chromium via playwright-core): every view renders, filters and
 * live updates work, hostile names and values stay inert text, huge values are previewed truncated, and
 * the strict CSP holds (no violation is reported). Screenshots of each view go to SCREENSHOT_DIR.
 */
import { Broker, type Namespace } from '@tsdbr/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type BrowserSession, type DashboardPage, openDashboard, screenshotPath } from './support/browser.js';
import { FakeTasks } from './support/fake-tasks.js';
import { uniqueName } from './support/fixture.js';

const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
const HOSTILE_VALUE = '<script>alert(2)</script><img src=x onerror=alert(3)>';
const SIXTEEN_MIB = 16 * 1024 * 1024;
const TOKEN = 'browser-test-token-123';

describe('web UI in chromium', () => {
  let broker: Broker;
  let ui: DashboardPage;
  let base: string;
  let session: BrowserSession;
  let page: Page;
  let dialogs: string[];
  let ns: Namespace;
  const tasks = new FakeTasks();
  const problems: string[] = [];

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create('sensors');
    for (let i = 0; i < 120; i++) await ns.put(`sensor:${String(i).padStart(3, '0')}`, JSON.stringify({ id: i, celsius: 20 + (i % 7) }));
    for (let i = 0; i < 30; i++) await ns.put(`config:${i}`, `mode=${i % 2 ? 'fast' : 'safe'}`);
    await ns.put('sensor:000', JSON.stringify({ id: 0, celsius: 21 }));
    await ns.put('blob', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]));
    await ns.put('job:bad', JSON.stringify({ id: 'x' }));
    await ns.put(HOSTILE_NAME, HOSTILE_VALUE);
    const huge = Buffer.alloc(SIXTEEN_MIB, 'z');
    await ns.put('huge', huge);
    const other = await broker.create('results');
    await other.put('summary', '{"ok":true}');
    ui = await openDashboard(
      {
        broker,
        port: 0,
        refreshInterval: 200,
        write: true,
        token: TOKEN,
        schemas: [{ name: 'job:*', schema: z.object({ id: z.string(), frames: z.number().int() }), label: 'Job' }],
      },
      { tasks },
    );
    ({ base, session, page, dialogs } = ui);
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy|Trusted Type/i.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    // open with the token: the server trades it for a cookie and drops it from the URL
    await page.goto(`${base}?token=${TOKEN}`);
    expect(new URL(page.url()).search).toBe('');
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    await broker?.close();
  });

  it('shows the overview: backend, namespaces and totals', async () => {
    await page.goto(`${base}#/`);
    await page.getByTestId('namespaces').getByText('sensors').waitFor();
    await expect(page.getByTestId('totals').textContent()).resolves.toContain('mem');
    expect(await page.getByRole('link', { name: 'results' }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('overview') });
  });

  it('filters a namespace by glob and pages through its names', async () => {
    await page.goto(`${base}#/ns/sensors`);
    await page.getByTestId('tuple-name').first().waitFor();
    expect(await page.getByTestId('tuple-name').count()).toBe(50);
    await page.locator('#filter').fill('config:1*');
    await page.locator('#filter').press('Enter');
    await page.waitForFunction(() => {
      const names = [...document.querySelectorAll('[data-testid=tuple-name]')].map((e) => e.textContent);
      return names.length === 11 && names.every((n) => n?.startsWith('config:1'));
    });
    expect(page.url()).toContain('pattern=config%3A1*');
    await page.locator('#filter').fill('sensor:*');
    await page.locator('#filter').press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tuple-name]').length === 50 && document.querySelector('[data-testid=tuple-name]')?.textContent?.startsWith('sensor:'));
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByTestId('page-label').filter({ hasText: 'page 2' }).waitFor();
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByTestId('page-label').filter({ hasText: 'page 3' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tuple-name]').length === 20);
    await page.getByRole('button', { name: '← Prev' }).click();
    await page.getByTestId('page-label').filter({ hasText: 'page 2' }).waitFor();
    expect(await page.getByTestId('tuple-name').count()).toBe(50);
  });

  it('previews a value as JSON and checks it against its schema', async () => {
    await page.goto(`${base}#/ns/sensors?pattern=sensor%3A00*&name=sensor%3A000`);
    await page.getByTestId('preview-content').waitFor();
    expect(JSON.parse((await page.getByTestId('preview-content').textContent()) ?? '')).toEqual({ id: 0, celsius: 20 });
    await page.getByRole('button', { name: 'newer' }).click();
    await page.getByTestId('preview-content').filter({ hasText: '21' }).waitFor();
    await page.screenshot({ path: screenshotPath('namespace-browser') });
    await page.goto(`${base}#/ns/sensors?pattern=job%3A*&name=job%3Abad`);
    await page.getByTestId('schema').filter({ hasText: 'invalid' }).waitFor();
    expect(await page.getByTestId('schema').textContent()).toContain('frames');
    await page.goto(`${base}#/ns/sensors?pattern=blob&name=blob`);
    await page.getByTestId('preview-content').filter({ hasText: 'de ad be ef' }).waitFor();
  });

  it('updates a namespace count live over SSE while tuples are put', async () => {
    const live = await broker.create(uniqueName('live'));
    await page.goto(`${base}#/ns/${live.name}`);
    await page.getByTestId('ns-values').filter({ hasText: /^0$/ }).waitFor();
    for (let i = 1; i <= 3; i++) {
      await live.put(`step:${i}`, String(i));
      await page.getByTestId('ns-values').filter({ hasText: new RegExp(`^${i}$`) }).waitFor();
    }
    await live.get('step:1');
    await page.getByTestId('ns-values').filter({ hasText: /^2$/ }).waitFor();
    await live.close();
  });

  it('renders a hostile tuple name and value as inert text', async () => {
    await page.goto(`${base}#/ns/sensors?pattern=${encodeURIComponent('<*')}`);
    const row = page.getByTestId('tuple-name').filter({ hasText: HOSTILE_NAME });
    await row.waitFor();
    await row.click();
    await page.getByTestId('preview-content').filter({ hasText: '<script>' }).waitFor();
    expect(await page.getByTestId('preview-content').textContent()).toBe(HOSTILE_VALUE);
    expect(await page.getByTestId('preview-name').textContent()).toBe(HOSTILE_NAME);
    const injected = await page.evaluate(() => ({
      imgs: document.querySelectorAll('main img').length,
      scripts: document.querySelectorAll('body script').length,
      hasHostileText: document.body.textContent?.includes('<img src=x onerror=alert(1)>') ?? false,
    }));
    expect(injected).toEqual({ imgs: 0, scripts: 0, hasHostileText: true });
    // a failed task's error and a workflow step carry markup too
    await page.goto(`${base}#/queues/jobs/render?task=${encodeURIComponent('task-<b>7</b>')}`);
    await page.getByTestId('failed-detail').waitFor();
    expect(await page.locator('main b, main i, main script').count()).toBe(0);
    expect(await page.getByTestId('failed').textContent()).toContain('<script>alert(3)</script>');
    expect(dialogs).toEqual([]);
  });

  it('previews a 16 MiB value truncated', async () => {
    const responses: number[] = [];
    const onResponse = async (r: import('playwright-core').Response) => {
      if (r.url().includes('/value?')) responses.push((await r.body()).length);
    };
    page.on('response', onResponse);
    await page.goto(`${base}#/ns/sensors?pattern=huge&name=huge`);
    await page.getByTestId('truncated').waitFor();
    expect(await page.getByTestId('preview-meta').textContent()).toContain('16 MiB');
    const shown = (await page.getByTestId('preview-content').textContent()) ?? '';
    expect(shown.length).toBe(64 * 1024);
    page.off('response', onResponse);
    expect(responses.length).toBeGreaterThan(0);
    for (const size of responses) expect(size).toBeLessThan(200_000);
  });

  it('shows queues with charts, opens a failed task and retries it (write mode)', async () => {
    await page.goto(`${base}#/queues`);
    await page.getByTestId('queues').getByText('render').waitFor();
    await page.screenshot({ path: screenshotPath('queues') });
    await page.getByTestId('queues').getByText('render').click();
    await page.getByTestId('queue-name').waitFor();
    await page.locator('.chart canvas').first().waitFor();
    await page.waitForTimeout(700); // a few samples for the charts (the picture only; nothing is asserted on time)
    await page.getByTestId('failed').getByText('task-<b>7</b>').click();
    await page.getByTestId('failed-detail').filter({ hasText: 'at render (render.ts:12:9)' }).waitFor();
    await page.screenshot({ path: screenshotPath('queue-detail'), fullPage: true });
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByText('No failed tasks.').waitFor();
    expect(tasks.retried).toEqual(['task-<b>7</b>']);
  });

  it('shows workers with heartbeats, host, pid and task progress', async () => {
    await page.goto(`${base}#/workers`);
    await page.getByTestId('workers').getByText('node17.4242.a1b2c3').waitFor();
    const text = (await page.getByTestId('workers').textContent()) ?? '';
    expect(text).toContain('4242');
    expect(text).toContain('tile 31/50');
    expect(text).toContain('stale');
    await page.screenshot({ path: screenshotPath('workers') });
  });

  it('shows a workflow DAG with per-node status, updating live', async () => {
    await page.goto(`${base}#/workflows`);
    await page.getByTestId('workflows').getByText('run-1', { exact: false }).click();
    await page.locator('[data-node="analyse"]').waitFor();
    expect(await page.locator('.dag-node').count()).toBe(6);
    expect(await page.locator('[data-node="analyse"]').getAttribute('class')).toContain('state-running');
    tasks.flow = { ...tasks.flow, done: 4, running: 1, nodes: tasks.flow.nodes?.map((n) => (n.id === 'analyse' ? { ...n, state: 'done', progress: 1 } : n.id === 'report' ? { ...n, state: 'running', progress: 0.3 } : n)) };
    await page.locator('[data-node="analyse"].state-done').waitFor();
    await page.locator('[data-node="report"].state-running').waitFor();
    await page.locator('[data-node="sim-<i>c</i>"]').click();
    await page.getByTestId('node-detail').filter({ hasText: 'diverged at step 812' }).waitFor();
    await page.screenshot({ path: screenshotPath('workflow') });
  });

  it('is usable from the keyboard and has a dark theme', async () => {
    await page.goto(`${base}#/`);
    await page.getByTestId('namespaces').waitFor();
    await page.keyboard.press('2');
    await page.waitForURL(/#\/ns$/);
    await page.getByTestId('ns-picker').locator('[data-row]').first().waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
    const second = await page.getByTestId('ns-picker').locator('[data-row]').nth(1).getAttribute('aria-label');
    expect(focused).toBe(second);
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`#/ns/${encodeURIComponent(focused as string)}`));
    await page.getByTestId('tuple-name').first().waitFor();
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('filter');
    await page.keyboard.press('Escape');
    await page.keyboard.press('t');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.goto(`${base}#/ns/sensors?pattern=sensor%3A00*&name=sensor%3A001`);
    await page.getByTestId('preview-content').waitFor();
    await page.screenshot({ path: screenshotPath('namespace-browser-dark') });
    await page.goto(`${base}#/queues/jobs/render`);
    await page.locator('.chart canvas').first().waitFor();
    await page.screenshot({ path: screenshotPath('queue-detail-dark') });
    await page.keyboard.press('t');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
  });

  it('asks for the token when the session has none', async () => {
    const fresh = await session.browser.newContext();
    const p = await fresh.newPage();
    await p.goto(base);
    await p.getByLabel('Token').fill(TOKEN);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByTestId('totals').waitFor();
    await fresh.close();
  });

  it('reported no CSP violation, page error or dialog', () => {
    expect(problems).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
