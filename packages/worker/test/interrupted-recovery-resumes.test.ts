/**
 * A recovery pass that fails midway (a lost connection) leaves its work in the worker's own recovery slot
 * ('rec') or its outbox. The worker's next pass finishes that work before it reuses the slot: a task there is
 * requeued and runs, and staged outcomes are delivered. The leftovers are made here the way a failed pass
 * leaves them, then a worker with that id starts.
 */
import { describe, expect, it } from 'vitest';
import { encode, type ResultEnvelope } from '../src/envelope.js';
import { QueueNames } from '../src/protocol.js';
import { RECOVERY_SLOT } from '../src/recovery.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { calls, countsCalls } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const names = new QueueNames('default');

describe('an interrupted recovery pass', () => {
  it('requeues the task a failed pass left in the recovery slot, and it runs', async () => {
    const { ns } = await freshNamespace('resume-rec');
    const h = await clientOn(ns).submit(add, { a: 2, b: 3 });
    // the pass had claimed the task into its slot and failed before requeuing it
    await ns.moveValue(names.pending(), ns, names.run('w-resumes', RECOVERY_SLOT));
    await startWorker(ns, { tasks: [add], workerId: 'w-resumes', recoveryInterval: '50ms' });
    expect(await h.result({ timeout: '30s' })).toBe(5);
    expect(await ns.count(names.run('w-resumes', RECOVERY_SLOT))).toBe(0);
  });

  it('delivers the outcome a failed pass had staged, drops its task, and does not run it again', async () => {
    const { ns } = await freshNamespace('resume-out');
    const h = await clientOn(ns).submit(countsCalls, { key: 'once' });
    await ns.moveValue(names.pending(), ns, names.run('w-resumes', RECOVERY_SLOT));
    // the dead worker's outcome, moved into the recovery outbox before the pass failed
    const result: ResultEnvelope = { k: 'r', id: h.id, task: countsCalls.name, ok: true, output: 'staged by the dead worker', attempts: 1, finishedAt: Date.now() };
    await ns.put(names.outbox('w-resumes', RECOVERY_SLOT), encode(result));
    const w = await startWorker(ns, { tasks: [countsCalls], workerId: 'w-resumes', recoveryInterval: '50ms' });
    expect(await h.result({ timeout: '30s' })).toBe('staged by the dead worker');
    await until(async () => (await ns.list(names.run('w-resumes', '*'))).length === 0, 'the recovery slot to be empty');
    expect(await ns.count(names.outbox('w-resumes', RECOVERY_SLOT))).toBe(0);
    expect(calls.get('once')).toBeUndefined();
    expect(w.stats.claimed).toBe(0);
  });
});
