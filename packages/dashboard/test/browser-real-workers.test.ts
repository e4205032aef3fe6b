/**
 * Real @tsdbr/worker workers (worker_threads on the embedded backend, in the dashboard's process) process
 * tasks while chromium watches the queue's counts change live; a task that throws is dead-lettered, and its
 * error shows when the failed task is opened. Each task waits for a `go:<frame>` tuple put by the test, so
 * the test steps the workers without any timing.
 */
import { Worker as Thread } from 'node:worker_threads';
import { Broker, type Namespace } from '@tsdbr/core';
import { TaskClient } from '@tsdbr/worker';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM fixture shared with the worker threads (typed loosely here)
import { renderFrame } from './fixtures/render-tasks.mjs';
import { type DashboardPage, openDashboard } from './support/browser.js';
import { uniqueName } from './support/fixture.js';

const THREAD = new URL('./fixtures/render-worker-thread.mjs', import.meta.url);

/** Starts a real worker in a thread and resolves once it has started. */
function startThreadWorker(namespace: string, workerId: string): Promise<Thread> {
  const thread = new Thread(THREAD, { workerData: { namespace, workerId } });
  return new Promise((resolve, reject) => {
    thread.once('error', reject);
    thread.once('message', (m) => (m === 'started' ? resolve(thread) : reject(new Error(`unexpected message ${String(m)}`))));
  });
}

function stopThreadWorker(thread: Thread): Promise<void> {
  return new Promise((resolve) => {
    thread.once('exit', () => resolve());
    thread.postMessage('stop');
  });
}

describe('real workers in chromium', () => {
  let broker: Broker;
  let ui: DashboardPage;
  let base: string;
  let page: Page;
  let ns: Namespace;
  let client: TaskClient;
  const threads: Thread[] = [];

  beforeAll(async () => {
    broker = new Broker();
    ns = await broker.create(uniqueName('real'));
    ui = await openDashboard({ broker, port: 0, refreshInterval: 150 });
    ({ base, page } = ui);
    threads.push(await startThreadWorker(ns.name, 'render-a'), await startThreadWorker(ns.name, 'render-b'));
    client = new TaskClient({ namespace: ns });
  }, 120_000);

  afterAll(async () => {
    for (const t of threads) await stopThreadWorker(t);
    await ui?.close();
    await broker?.close();
  });

  const cell = (col: string) => page.locator(`[data-testid=queues] tr[aria-label="render"] td[data-col=${col}]`);
  const shows = (col: string, n: number) => cell(col).filter({ hasText: new RegExp(`^${n}$`) }).waitFor();

  it('follows waiting, running and done while two workers process six tasks', async () => {
    await page.goto(`${base}#/queues`);
    for (let frame = 1; frame <= 6; frame++) await client.submit(renderFrame, { frame }, { id: `frame-${frame}` });
    // two workers of concurrency 1: two tasks run, four wait
    await shows('running', 2);
    await shows('waiting', 4);
    for (let frame = 1; frame <= 6; frame++) {
      await ns.put(`go:${frame}`, 'go');
      await shows('done', frame);
      await shows('waiting', Math.max(0, 4 - frame));
      await shows('running', Math.min(2, 6 - frame));
    }
    await shows('failed', 0);
  });

  it('opens a failed task and shows the error the task threw', async () => {
    await client.submit(renderFrame, { frame: 7, explode: true }, { id: 'frame-7' });
    await ns.put('go:7', 'go');
    await page.goto(`${base}#/queues`);
    await shows('failed', 1);
    await cell('failed').click();
    await page.getByTestId('queue-name').filter({ hasText: 'render' }).waitFor();
    await page.getByTestId('failed').getByText('frame-7').click();
    const detail = page.getByTestId('failed-detail');
    await detail.filter({ hasText: 'frame 7 diverged: NaN at step 42' }).waitFor();
    expect(await detail.textContent()).toContain('RangeError');
    expect(await page.getByTestId('failed').textContent()).toContain('render-frame');
  });
});

