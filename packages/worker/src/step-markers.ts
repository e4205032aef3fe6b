/**
 * A workflow run's records of its steps' submissions, kept in the namespace so a resumed driver (or a second
 * one) finds them: each step's submitted marker (`wf:<name>:<run>:sub:<step>`) and its abandoned submissions
 * (`:gone:<step>`, one task id each). See docs/protocol.md.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Namespace } from '@tsdbr/core';
import type { WorkflowNames } from './protocol.js';
import { stepTaskId } from './step-identity.js';

/**
 * A step's submitted marker: its task's id and queue, its input digest, when it was claimed, and `ok` once the
 * task was stored (a marker without `at` predates `ok` and counts as stored).
 */
export interface Submission {
  id: string;
  queue: string;
  digest?: string;
  at?: number;
  ok?: 1;
}

/** How long a marker claimed by another driver may wait for its submit to be confirmed before it is redone. */
const UNCONFIRMED_GRACE_MS = 30_000;

/** The submitted markers and abandoned submissions of one workflow run's steps (by state key). */
export class StepMarkers {
  constructor(
    private readonly ns: Namespace,
    private readonly names: WorkflowNames,
    private readonly workflow: string,
    private readonly runId: string,
    /** Part of every task id this driver makes: no run reuses an id of an earlier run. */
    private readonly generation: string,
  ) {}

  /**
   * The step's recorded submission, if it stands; else the task id for a new one. A submission listed as
   * abandoned whose marker is still there (the driver died in between) is abandoned now. Ids carry this
   * driver's generation, so no run ever takes an id an earlier run used, whose result or cancel marker may
   * linger; the abandoned count keeps one driver's resubmissions apart.
   */
  async submission(state: string): Promise<{ submitted: true; sub: Submission } | { submitted: false; id: string }> {
    const gone = await readAllText(this.ns, this.names.abandoned(state));
    const sub = await this.read(state);
    if (sub !== undefined) {
      if (!gone.includes(sub.id)) return { submitted: true, sub };
      await this.removeMarkerOf(state, sub.id);
    }
    return { submitted: false, id: stepTaskId(this.workflow, this.runId, state, gone.length, this.generation) };
  }

  /** The step's marker, if there is one. */
  async read(state: string): Promise<Submission | undefined> {
    const bytes = await this.ns.tryRead(this.names.submitted(state));
    return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as Submission);
  }

  /** Claims the step for `sub`: false if another driver's marker is there. */
  claim(state: string, sub: Submission): Promise<boolean> {
    return this.ns.putIfAbsent(this.names.submitted(state), JSON.stringify(sub));
  }

  /** Marks the submission's task as stored, replacing its marker in one atomic step (nothing if it is gone). */
  async confirm(state: string, sub: Submission): Promise<void> {
    const name = this.names.submitted(state);
    await this.ns.popPut(name, name, JSON.stringify({ ...sub, ok: 1 }));
  }

  /**
   * True once the marker says its task was stored, waiting a little while another driver may still be
   * submitting it; false for a marker that never said so (its driver died before its submit), or on `signal`.
   */
  async confirmedSoon(state: string, sub: Submission, signal: AbortSignal): Promise<boolean> {
    for (let s: Submission | undefined = sub; s !== undefined && s.id === sub.id; s = await this.read(state)) {
      if (s.ok === 1 || s.at === undefined) return true;
      if (Date.now() - s.at >= UNCONFIRMED_GRACE_MS || signal.aborted) return false;
      await sleep(200);
    }
    return true; // its driver abandoned or replaced it meanwhile: the wait that follows sees to it
  }

  /** Forgets the step's submission, so a resumed run submits it again, under a fresh task id. */
  async abandon(state: string, id: string): Promise<void> {
    const gone = await readAllText(this.ns, this.names.abandoned(state));
    if (!gone.includes(id)) await this.ns.put(this.names.abandoned(state), id);
    await this.removeMarkerOf(state, id);
  }

  /** Undoes abandon(): the submission `sub` stands again, and its id is off the abandoned list. */
  async unabandon(state: string, sub: Submission): Promise<void> {
    await this.ns.put(this.names.submitted(state), JSON.stringify(sub));
    const gone = await readAllText(this.ns, this.names.abandoned(state));
    const at = gone.lastIndexOf(sub.id);
    if (at < 0) return;
    gone.splice(at, 1);
    await this.ns.remove(this.names.abandoned(state));
    for (const g of gone) await this.ns.put(this.names.abandoned(state), g);
  }

  /** Removes the step's submitted marker if it still records `id` (another driver may have put a new one). */
  private async removeMarkerOf(state: string, id: string): Promise<void> {
    if ((await this.read(state))?.id === id) await this.ns.remove(this.names.submitted(state));
  }
}

/** Every value under `name`, as UTF-8 text, oldest first. */
async function readAllText(ns: Namespace, name: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0, n = await ns.count(name); i < n; i++) {
    const v = await ns.tryRead(name, { index: i });
    if (v === undefined) break;
    out.push(v.toString('utf8'));
  }
  return out;
}
