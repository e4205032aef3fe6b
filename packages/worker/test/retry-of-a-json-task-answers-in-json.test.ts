/**
 * A C or Python program submits tasks as JSON and reads JSON results. Dead letters are always msgpack, so the
 * letter records that its task was JSON (`json: 1`), and retrying it requeues the task as JSON: its new result
 * is JSON again.
 */
import { describe, expect, it } from 'vitest';
import { classify, isJson } from '../src/envelope.js';
import { retryDeadLetter } from '../src/index.js';
import { QueueNames } from '../src/protocol.js';
import { failsUntilAllowed } from './fixtures/behaviour-tasks.js';
import { freshNamespace, startWorker } from './support/harness.js';

const names = new QueueNames('json-retry');

const task = failsUntilAllowed('json-fails-until-allowed', 'json-retry');

describe('retrying a dead letter of a JSON task', () => {
  it('marks the letter as JSON and answers the retried run in JSON', async () => {
    const { ns } = await freshNamespace('json-retry');
    await startWorker(ns, { tasks: [task] });
    await ns.put(names.pending(), '{"id":"c-1","task":"json-fails-until-allowed","input":{}}');
    const failed = await ns.get(names.result('c-1'), { timeout: 20_000 });
    expect(isJson(failed)).toBe(true);
    const letter = classify(await ns.read(names.dead(), { timeout: 0 }));
    expect(letter).toMatchObject({ kind: 'dead', env: { id: 'c-1', json: 1 } });

    await ns.put('allowed', '1');
    expect(await retryDeadLetter(ns, 'json-retry', 'c-1')).toBeDefined();
    const retried = await ns.get(names.result('c-1'), { timeout: 20_000 });
    expect(isJson(retried)).toBe(true);
    expect(JSON.parse(retried.toString('utf8'))).toMatchObject({ k: 'r', id: 'c-1', ok: true, output: 'done' });
  });
});
