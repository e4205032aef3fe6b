/**
 * Task ids are 1-200 characters from A-Z a-z 0-9 _ . @ - (docs/protocol.md), but a C or Python program can
 * put any envelope in a band. One whose id cannot be part of a tuple name (too long, or with a newline) must
 * not wedge the worker: its result and cancel marker have no valid name, so a finish step naming them fails
 * on every try, keeps the task leased for the worker's life, and fails the other finishes sent in the same
 * request. Such a task is dead-lettered instead, and the tasks next to it finish.
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../src/envelope.js';
import { QueueNames } from '../src/protocol.js';
import { add } from './fixtures/arithmetic-tasks.js';
import { clientOn, freshNamespace, startWorker, until } from './support/harness.js';

const names = new QueueNames('default');

describe('a task envelope with an invalid id', () => {
  for (const [what, id] of [
    ['too long for a tuple name', 'x'.repeat(1100)],
    ['with a newline', 'bad\nid'],
  ] as const) {
    it(`(${what}) is dead-lettered, and the tasks claimed with it finish`, async () => {
      const { ns } = await freshNamespace('bad-id');
      const client = clientOn(ns);
      const before = await client.submit(add, { a: 1, b: 2 });
      await ns.put(names.pending(), JSON.stringify({ id, task: 'add', input: { a: 1, b: 1 } }));
      const after = await client.submit(add, { a: 3, b: 4 });
      const worker = await startWorker(ns, { tasks: [add], concurrency: 4 });
      expect(await before.result({ timeout: '20s' })).toBe(3);
      expect(await after.result({ timeout: '20s' })).toBe(7);
      await until(async () => (await ns.count(names.dead())) === 1, 'the bad task to be dead-lettered', 20_000);
      const letter = classify(await ns.read(names.dead()));
      expect(letter.kind).toBe('dead');
      if (letter.kind === 'dead') {
        expect(letter.env.env.id).toBe(id);
        expect(letter.env.error.name).toBe('InvalidTaskIdError');
      }
      await until(async () => (await ns.list(names.runPattern())).length === 0 && worker.activeCount === 0, 'every claim slot to be empty', 20_000);
      expect(await ns.list(names.outboxPattern())).toEqual([]);
    });
  }
});
