import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWorkflow, workflow } from '../src/index.js';
import { double, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

describe('workflow waitFor', () => {
  it('waits for a tuple any program puts, validates it, and feeds it to a step', async () => {
    const { ns } = await freshNamespace('waitfor');
    await startWorker(ns, { tasks });
    const wf = workflow('calibrated', (w) => {
      const cal = w.waitFor('calibration/ready', z.object({ factor: z.number() }));
      return w.run(double, { x: cal.then((c) => c.factor) });
    });
    const states: string[] = [];
    const run = runWorkflow(wf, { client: clientOn(ns), onStep: (s) => states.push(`${s.key}:${s.state}`) });
    await until(() => states.some((s) => s.startsWith('waitFor') && s.endsWith(':queued')), 'the workflow to wait');
    // what a C or Python program would do: put JSON text under the name
    await ns.put('calibration/ready', '{"factor": 21}');
    expect((await run).output).toBe(42);
  });

  it('reads printable text as text, even a single character msgpack would read as a number', async () => {
    const { ns } = await freshNamespace('waitfor-text');
    await ns.put('answer', 'y');
    const wf = workflow('answered', (w) => w.waitFor('answer', z.string()));
    expect((await runWorkflow(wf, { client: clientOn(ns) })).output).toBe('y');
  });

  it('a value that does not match the schema fails the step with an error that says how to go on', async () => {
    const { ns } = await freshNamespace('waitfor-invalid');
    await ns.put('calibration/ready', '{"factor": "oops"}');
    const wf = workflow('badly-calibrated', (w) => w.waitFor('calibration/ready', z.object({ factor: z.number() })));
    const err = await runWorkflow(wf, { client: clientOn(ns) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/The value under "calibration\/ready" in namespace "[^"]+" does not match the schema/);
    expect((err as Error).message).toMatch(/factor: .*\n.*take it away \(`dbr get [^ ]+ calibration\/ready`\)/s);
  });
});
