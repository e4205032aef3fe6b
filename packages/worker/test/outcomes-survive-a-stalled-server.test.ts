/**
 * A worker whose server stalls while it delivers an attempt's outcome (a retry, a dead letter) keeps trying
 * until the server answers again, instead of leaving the task leased in its slot for as long as it lives.
 * The server is SIGSTOPped by the task itself, just before it fails, so the delivery's first request waits on
 * a silent server, times out (DBR_TIMEOUT is 1 s here), and then lands when the server resumes: the repeat
 * must see that and deliver exactly once. Single Redis node only (the test stops the node it shares with no
 * other test file: files run one at a time).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
process.env.DBR_TIMEOUT = '1'; // read by libdbr when the first broker opens, which is after this line
import { defineTask, NonRetryableError, TaskFailedError } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const onSingleRedis = process.env.TSDBR_TEST_BACKEND === 'redis';
const names = new QueueNames('default');
const STALL_MS = 2500;

/** The pid of the redis-server listening on `port` (from /proc: tests may look at Redis directly). */
function redisPid(port: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (/(^|\/)redis-server[\s\0]/.test(cmd) && cmd.includes(`:${port}`)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no redis-server on port ${port}`);
}

let pid = 0;
let stoppedAt = 0;
const attempts = new Map<string, number>();

const stallsThenFails = defineTask({
  name: 'stalls-then-fails',
  input: z.object({ fatal: z.boolean() }),
  output: z.string(),
  retries: 2,
  backoff: { delay: 1 },
  run: ({ fatal }, ctx) => {
    attempts.set(ctx.id, ctx.attempt);
    if (ctx.attempt > 1) return `done on attempt ${ctx.attempt}`;
    process.kill(pid, 'SIGSTOP');
    stoppedAt = Date.now();
    throw fatal ? new NonRetryableError('the input is corrupt') : new Error('a transient failure');
  },
});

/** Resumes the server STALL_MS after the task stopped it. */
async function resumeLater(): Promise<void> {
  await until(() => stoppedAt > 0, 'the task to stop the server');
  await sleep(Math.max(0, stoppedAt + STALL_MS - Date.now()));
  process.kill(pid, 'SIGCONT');
}

describe.skipIf(!onSingleRedis)('delivering an outcome while the server stalls', () => {
  beforeAll(() => {
    pid = redisPid(new URL(process.env.DBR_SERVER!.replace(/^sock:/, 'redis:')).port);
  });
  afterEach(() => {
    process.kill(pid, 'SIGCONT');
    stoppedAt = 0;
  });

  it('requeues the failed attempt once the server answers again, and the retry succeeds', async () => {
    const { ns } = await freshNamespace('stall-retry');
    const worker = await startWorker(ns, { tasks: [stallsThenFails], leaseTtl: '30s' });
    const h = await clientOn(ns).submit(stallsThenFails, { fatal: false });
    await resumeLater();
    expect(await h.result({ timeout: '60s' })).toBe('done on attempt 2');
    expect(worker.stats.retried).toBe(1);
    expect(await ns.count(names.dead())).toBe(0);
    await until(async () => (await ns.list(names.runPattern())).length === 0 && (await ns.list(names.outboxPattern())).length === 0, 'every slot and outbox to be empty');
    expect(await ns.count(names.pending())).toBe(0);
  });

  it('dead-letters a non-retryable failure exactly once once the server answers again', async () => {
    const { ns } = await freshNamespace('stall-dead');
    await startWorker(ns, { tasks: [stallsThenFails], leaseTtl: '30s' });
    const h = await clientOn(ns).submit(stallsThenFails, { fatal: true });
    await resumeLater();
    const err = await h.result({ timeout: '60s' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).message).toContain('the input is corrupt');
    await until(async () => (await ns.list(names.outboxPattern())).length === 0, 'the outbox to be empty');
    expect(await ns.count(names.dead())).toBe(1);
    expect(await ns.list(names.runPattern())).toEqual([]);
    expect(attempts.get(h.id)).toBe(1);
  });
});
