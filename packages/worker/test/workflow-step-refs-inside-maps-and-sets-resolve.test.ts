import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type Refs, runWorkflow, workflow } from '../src/index.js';
import { double, tasks } from './fixtures/workflow-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

const sumMap = defineTask({ name: 'wf-sum-map', input: z.object({ m: z.map(z.string(), z.number()) }), output: z.number(), run: ({ m }) => [...m.values()].reduce((a, b) => a + b, 0) });
const sumSet = defineTask({ name: 'wf-sum-set', input: z.object({ s: z.set(z.number()) }), output: z.number(), run: ({ s }) => [...s].reduce((a, b) => a + b, 0) });
const keys = defineTask({ name: 'wf-map-keys', input: z.map(z.number(), z.string()), output: z.array(z.number()), run: (m) => [...m.keys()] });

describe('step references inside Maps and Sets', () => {
  it('a StepRef as a Map value, a Map key or a Set item is replaced by its output', async () => {
    const { ns } = await freshNamespace('refs-in-maps');
    await startWorker(ns, { tasks: [...tasks, sumMap, sumSet, keys], concurrency: 4 });
    const wf = workflow('refs-in-maps', (w) => ({
      map: w.run(sumMap, { m: new Map<string, Refs<number>>([['a', w.run(double, { x: 1 })], ['b', 5]]) }),
      set: w.run(sumSet, { s: new Set<Refs<number>>([w.run(double, { x: 10 }), 3]) }),
      keys: w.run(keys, new Map<Refs<number>, string>([[w.run(double, { x: 4 }), 'eight']])),
    }));
    const report = await runWorkflow(wf, { client: clientOn(ns), runId: 'r' });
    expect(report.output).toEqual({ map: 7, set: 23, keys: [8] });
  });
});
