import { ConfigError } from '@tsdbr/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runWorkflow, workflow, type WorkflowContext } from '../src/index.js';
import { clientOn, freshNamespace } from './support/harness.js';

/** Runs a workflow whose function makes one wf.waitFor call, and returns what that call threw. */
async function waitForError(call: (w: WorkflowContext) => unknown): Promise<unknown> {
  const { ns } = await freshNamespace('waitfor-args');
  let thrown: unknown;
  const wf = workflow('waitfor-args', (w) => {
    try {
      call(w);
    } catch (err) {
      thrown = err;
    }
    return 1;
  });
  const run = runWorkflow(wf, { client: clientOn(ns) }).catch((e: unknown) => e);
  await Promise.race([run, new Promise((r) => setTimeout(r, 3000))]);
  return thrown;
}

describe('wf.waitFor arguments', () => {
  it('a tuple name that is not a string is refused when waitFor is called', async () => {
    const err = await waitForError((w) => w.waitFor(42 as unknown as string, z.number()));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/tuple name as a non-empty string, got number/);
  });

  it('a schema that is not a zod type is refused when waitFor is called, not once the tuple arrives', async () => {
    const err = await waitForError((w) => w.waitFor('go', { type: 'number' } as unknown as z.ZodNumber));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/needs a zod schema/);
  });

  it('an invalid timeout is refused when waitFor is called', async () => {
    const err = await waitForError((w) => w.waitFor('go', z.number(), { timeout: 'soon' as never }));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/timeout/);
  });
});
