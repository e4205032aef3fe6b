import { describe, expect, it } from 'vitest';
import { calls, countsCalls } from './fixtures/behaviour-tasks.js';
import { QueueNames } from '../src/protocol.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('dedup', () => {
  it('submits with the same dedup key while the task lives share one task and one run', async () => {
    const { ns } = await freshNamespace('dedup');
    const client = clientOn(ns);
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => client.submit(countsCalls, { key: 'd1' }, { dedupKey: 'report-2024' })));
    expect(b!.id).toBe(a!.id);
    expect(c!.id).toBe(a!.id);
    await startWorker(ns, { tasks: [countsCalls] });
    const outs = await Promise.all([a!, b!, c!].map((h) => h.result()));
    expect(new Set(outs).size).toBe(1);
    expect(calls.get('d1')).toBe(1);
    // once it finished, the key is free again (released just after the result is stored): a new task runs
    await until(async () => !(await ns.has(new QueueNames('default').dedup('report-2024'))), 'the key to be released');
    const d = await client.submit(countsCalls, { key: 'd1' }, { dedupKey: 'report-2024' });
    expect(d.id).not.toBe(a!.id);
    await d.result();
    expect(calls.get('d1')).toBe(2);
  });
});
