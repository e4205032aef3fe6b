/**
 * How a workflow run recognises its steps across restarts: the digest of a step's input, and the
 * deterministic task ids of its submissions.
 * @module
 */
import { createHash } from 'node:crypto';
import type { AnyTask } from './task.js';

/** A digest of a task and its input in wire form: the same for equal inputs, whatever their keys' order. */
export function inputDigest(task: AnyTask, wireInput: unknown): string {
  const canonical = JSON.stringify(wireInput, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return v;
    return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
  return createHash('sha1').update(`${task.name}\0${canonical ?? 'undefined'}`).digest('hex');
}

/**
 * The task id of a step's submission. `submission` counts the step's abandoned submissions, and
 * `generation` (a driver's random tag) tells runs with the same run id apart: each submission has an id of
 * its own, and none reuses an id whose result or cancel marker may linger. A resumed run finds its tasks
 * through the submitted markers, which record the ids.
 */
export function stepTaskId(workflow: string, runId: string, key: string, submission = 0, generation = ''): string {
  const h = createHash('sha1')
    .update(`${workflow}\0${runId}\0${key}${generation === '' ? '' : `\0${generation}`}`)
    .digest('hex')
    .slice(0, 24);
  return submission === 0 ? `wf-${h}` : `wf-${h}.${submission}`;
}
