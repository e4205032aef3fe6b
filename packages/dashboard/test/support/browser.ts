/**
 * Debian's chromium driven by playwright-core (no browser is ever downloaded), and the built web UI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { createDashboard, type Dashboard } from '../../src/index.js';
import type { DashboardOptions } from '../../src/options.js';
import type { TaskModel } from '../../src/server/task-model.js';

const here = dirname(fileURLToPath(import.meta.url));
export const PACKAGE_DIR = join(here, '..', '..');
/**
 * Screenshots go to test-results/screenshots (ignored by git), so a test run leaves the checkout clean;
 * `pnpm --filter @tsdbr/dashboard screenshots` (TSDBR_DOCS_SCREENSHOTS=1) refreshes the README's docs/img.
 */
export const SCREENSHOT_DIR = process.env.TSDBR_DOCS_SCREENSHOTS ? join(PACKAGE_DIR, '..', '..', 'docs', 'img') : join(PACKAGE_DIR, 'test-results', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds the web UI unless dist/web holds a build. */
export function ensureWebBuilt(): void {
  if (existsSync(join(PACKAGE_DIR, 'dist', 'web', 'index.html'))) return;
  execFileSync(join(PACKAGE_DIR, 'node_modules', '.bin', 'vite'), ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: PACKAGE_DIR, stdio: 'inherit' });
}

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless chromium; playwright gives every launch a fresh temporary profile. */
export async function launch(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH). Browsers are never downloaded.`);
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  return {
    browser,
    context,
    async close() {
      await context.close();
      await browser.close();
    },
  };
}

/** A listening dashboard and a chromium page on it; dialogs are recorded (and dismissed), never shown. */
export interface DashboardPage {
  dashboard: Dashboard;
  /** The dashboard's URL. */
  base: string;
  session: BrowserSession;
  page: Page;
  dialogs: string[];
  close(): Promise<void>;
}

/** Builds the web UI if needed, starts a dashboard on a free port and opens a page in chromium. */
export async function openDashboard(options: DashboardOptions, internals: { tasks?: TaskModel } = {}): Promise<DashboardPage> {
  ensureWebBuilt();
  const dashboard = createDashboard(options, internals);
  const base = await dashboard.listen();
  const session = await launch();
  const page = await session.context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return {
    dashboard,
    base,
    session,
    page,
    dialogs,
    async close() {
      await session.close();
      await dashboard.close();
    },
  };
}

/** Where a screenshot of a view goes. */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}
