/**
 * Workflows: a function that calls wf.run(task, input) builds a DAG by dataflow. wf.run returns a reference
 * (a StepRef, also awaitable) that can be placed anywhere inside another step's input; that step is submitted
 * once every reference in its input has resolved. State lives in the namespace (`wf:<name>:<run>:*`), so
 * running the same workflow with the same run id after the driver died resumes it: steps whose output was
 * saved are not run again, and steps already submitted are waited for, not resubmitted. A step's state is
 * filed under its key when the caller names it (and checked against its input), else under its task and a
 * digest of its input: calls made in another order, or with other arguments, never pick up another step's
 * output.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { ConfigError, type Namespace } from '@tsdbr/core';
import type { TaskClient } from './client.js';
import { decode, encode } from './envelope.js';
import { cancelTask } from './admin.js';
import { DependencyFailedError, FailedFastError, InvalidTupleError, ResultExpiredError, ResultTimeoutError, StepInputChangedError, TaskCancelledError, TaskFailedError, toIssues, WorkflowFailedError } from './errors.js';
import { WorkflowNames } from './protocol.js';
import { type AnyTask, isTask, type TaskOutput } from './task.js';
import type { RunWorkflowOptions, StepReport, Workflow, WorkflowContext, WorkflowOptions, WorkflowReport } from './workflow-types.js';
import { optionsObject } from './validate.js';
import { inputDigest } from './step-identity.js';
import { StepMarkers, type Submission } from './step-markers.js';
import { checkWaitForArgs, decodeLoose } from './wait-for.js';
import { type Refs, resolveRefs, StepRef } from './step-ref.js';
import { claimedTaskIds, type WorkflowRunInfo } from './inspect.js';
import { fromWire, toWire } from './wire-shape.js';

/**
 * How long a step first waits for its result before it looks whether another driver of the run saved the
 * output (and removed the result); the wait doubles up to the last. Each look is one read per waiting step.
 */
const FIRST_SLICE_MS = 10_000;
const LAST_SLICE_MS = 60_000;
/** How long, after a step fails fast, the others' tasks may take to report outcomes they had already reached. */
const SAME_MOMENT_MS = 500;

export type { FailurePolicy, RunWorkflowOptions, StepReport, StepState, Workflow, WorkflowContext, WorkflowOptions, WorkflowReport } from './workflow-types.js';

/** Defines a workflow. */
export function workflow<R, A = void>(name: string, fn: (wf: WorkflowContext, args: A) => Promise<Refs<R>> | Refs<R>, options: WorkflowOptions = {}): Workflow<A, R> {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new TypeError(`Workflow name ${JSON.stringify(name)} is invalid: use 1-100 characters from A-Z a-z 0-9 _ . -.`);
  if (typeof fn !== 'function') throw new ConfigError(`workflow("${name}", fn): fn must be a function (wf, args) => ..., got ${typeof fn}.`);
  const o = optionsObject(options, `workflow("${name}") options`);
  const failurePolicy = o.failurePolicy ?? 'fail-fast';
  if (failurePolicy !== 'fail-fast' && failurePolicy !== 'continue') throw new ConfigError(`workflow("${name}"): failurePolicy must be 'fail-fast' or 'continue', got ${JSON.stringify(failurePolicy)}.`);
  return Object.freeze({ kind: 'tsdbr.workflow' as const, name, fn, options: { failurePolicy } });
}

/** True if value is a workflow made by workflow(). */
export function isWorkflow(value: unknown): value is Workflow<unknown, unknown> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tsdbr.workflow';
}

/** Runs (or resumes) a workflow. Resolves with the report; rejects with WorkflowFailedError when it failed. */
export async function runWorkflow<A, R>(wfDef: Workflow<A, R>, options: RunWorkflowOptions<A>): Promise<WorkflowReport<R>> {
  if (!isWorkflow(wfDef as unknown)) throw new ConfigError(`runWorkflow() needs a workflow made with workflow(), got ${wfDef === null ? 'null' : typeof wfDef}.`);
  const o = optionsObject(options, 'runWorkflow() options');
  if (typeof (o.client as Partial<TaskClient> | undefined)?.submit !== 'function') throw new ConfigError('runWorkflow(wf, { client }) needs a TaskClient to submit the steps with, e.g. { client: new TaskClient() }.');
  const report = await new WorkflowRun(wfDef, options).execute();
  if (report.status === 'failed') {
    const err = new WorkflowFailedError(report.workflow, report.runId, report.failures);
    (err as WorkflowFailedError & { report: WorkflowReport<R> }).report = report;
    throw err;
  }
  return report;
}

class WorkflowRun<A, R> {
  private readonly steps = new Map<string, StepReport>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly counters = new Map<string, number>();
  private readonly contentCounters = new Map<string, number>();
  /** Each step's state key (see executeStep), by its key. */
  private readonly stateKeys = new Map<string, string>();
  /** Keys of the wf.waitFor steps, which wait for a tuple and have no task to cancel. */
  private readonly outsideWaits = new Set<string>();
  /** Keys of the steps whose submission is in flight. */
  private readonly submitting = new Set<string>();
  private readonly controller = new AbortController();
  private readonly abortFromCaller = () => this.controller.abort(this.o.signal!.reason);
  private readonly names: WorkflowNames;
  private readonly runId: string;
  private markers!: StepMarkers;
  private readonly started = Date.now();
  private ns!: Namespace;
  private resumed = 0;
  private failed = false;
  private infoTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly def: Workflow<A, R>,
    private readonly o: RunWorkflowOptions<A>,
  ) {
    this.runId = o.runId ?? def.name;
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(this.runId)) throw new TypeError(`Run id ${JSON.stringify(this.runId)} is invalid: use 1-100 characters from A-Z a-z 0-9 _ . -.`);
    this.names = new WorkflowNames(def.name, this.runId);
    this.controller.signal.addEventListener('abort', () => this.track0(this.cancelUnstarted()), { once: true });
    // an 'abort' event never fires for a signal that was aborted before the run started
    if (o.signal?.aborted) this.controller.abort(o.signal.reason);
    else o.signal?.addEventListener('abort', this.abortFromCaller, { once: true });
  }

  async execute(): Promise<WorkflowReport<R>> {
    try {
      return await this.executeRun();
    } finally {
      this.o.signal?.removeEventListener('abort', this.abortFromCaller);
    }
  }

  private async executeRun(): Promise<WorkflowReport<R>> {
    this.ns = await this.o.client.namespace();
    // ids carry a random generation of this driver: no run reuses an id of an earlier run
    this.markers = new StepMarkers(this.ns, this.names, this.def.name, this.runId, randomBytes(6).toString('hex'));
    const ctx = this.context();
    let output: R | undefined;
    let fnError: unknown;
    try {
      output = (await resolveRefs(await this.def.fn(ctx, this.o.args as A), 'result')) as R;
    } catch (err) {
      fnError = err;
    }
    // let every started step settle (fail-fast has aborted the rest)
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    const failures = [...this.steps.values()].filter((s) => s.state === 'failed' || s.state === 'skipped').map((s) => ({ step: s.key, error: s.error ?? s.state }));
    if (fnError !== undefined && failures.length === 0) failures.push({ step: '(workflow function)', error: (fnError as Error)?.message ?? String(fnError) });
    const status = failures.length === 0 ? 'completed' : 'failed';
    if (this.infoTimer !== undefined) clearTimeout(this.infoTimer);
    if (status === 'completed') {
      await this.ns.remove({ template: `${this.names.prefix}out:*` });
      await this.ns.remove({ template: `${this.names.prefix}sub:*` });
      // a later run with this run id takes ids of its own generation, so the abandoned ones need not be kept
      await this.ns.remove({ template: `${this.names.prefix}gone:*` });
    }
    await this.writeInfo(status);
    const rep: WorkflowReport<R> = { workflow: this.def.name, runId: this.runId, status, steps: [...this.steps.values()], failures, resumed: this.resumed, durationMs: Date.now() - this.started };
    if (status === 'completed') rep.output = output as R;
    return rep;
  }

  private context(): WorkflowContext {
    const self = this;
    return {
      name: this.def.name,
      runId: this.runId,
      ns: this.ns,
      signal: this.controller.signal,
      run(task, input, options = {}) {
        return self.step(task, input, options.key ?? self.nextKey(String(task?.name)), options.key !== undefined, options.priority);
      },
      map(task, inputs, options = {}) {
        if (!Array.isArray(inputs)) throw new ConfigError(`wf.map(task, inputs) needs an array of inputs, got ${typeof inputs}.`);
        const base = options.key ?? self.nextKey(`${String(task?.name)}.map`);
        return inputs.map((input, i) => self.step(task, input, `${base}.${i}`, options.key !== undefined, options.priority));
      },
      waitFor(tupleName, schema, options = {}) {
        const { timeout } = checkWaitForArgs(tupleName, schema, options);
        const key = options.key ?? self.nextKey(`waitFor.${tupleName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60)}`);
        self.outsideWaits.add(key);
        return self.track(key, 'waitFor', async (report) => {
          report.state = 'queued';
          self.changed(report);
          const bytes = await self.ns.read(tupleName, { timeout, signal: self.controller.signal });
          const parsed = schema.safeParse(decodeLoose(bytes));
          if (!parsed.success) throw new InvalidTupleError(self.ns.name, tupleName, toIssues(parsed.error.issues));
          return parsed.data;
        });
      },
    };
  }

  private nextKey(base: string): string {
    const n = this.counters.get(base) ?? 0;
    this.counters.set(base, n + 1);
    return `${base}.${n}`.replace(/[^A-Za-z0-9_.@-]/g, '_');
  }

  private step<T extends AnyTask>(task: T, input: unknown, key: string, named: boolean, priority: number | undefined): StepRef<TaskOutput<T>> {
    if (!isTask(task)) throw new ConfigError(`wf.run() and wf.map() need the task object returned by defineTask(), got ${typeof task === 'string' ? `the string ${JSON.stringify(task)}` : typeof task}; import the task and pass it.`);
    // resolving starts now, so every promise in the input has a handler even if the run aborts before the step
    const resolved = resolveRefs(input, key);
    resolved.catch(() => undefined);
    return this.track(key, task.name, async (report) => this.executeStep(task, await resolved, key, named, priority, report) as Promise<TaskOutput<T>>);
  }

  private track<T>(key: string, task: string, body: (report: StepReport) => Promise<T>): StepRef<T> {
    if (this.steps.has(key)) throw new TypeError(`Workflow "${this.def.name}" has two steps with key "${key}"; give one of them another { key }.`);
    const report: StepReport = { key, task, state: 'waiting' };
    this.steps.set(key, report);
    this.changed(report);
    const p = (async () => {
      try {
        if (this.controller.signal.aborted) throw this.controller.signal.reason;
        const out = await body(report);
        if (report.state !== 'cached') report.state = 'done';
        report.finishedAt = Date.now();
        this.changed(report);
        return out;
      } catch (err) {
        // a task failure read after a fail-fast abort is a failure of its own, not a cancellation
        const cancelled = err instanceof DependencyFailedError || err instanceof FailedFastError || (this.failed && this.controller.signal.aborted && !(err instanceof TaskFailedError));
        report.state = cancelled ? 'skipped' : 'failed';
        report.error = (err as Error)?.message ?? String(err);
        report.finishedAt = Date.now();
        this.changed(report);
        if (report.state === 'failed' && this.def.options.failurePolicy === 'fail-fast' && !this.failed) {
          this.failed = true;
          this.controller.abort(new FailedFastError(key, err)); // which cancels the steps not started yet
        }
        throw err;
      }
    })();
    this.pending.add(p);
    p.then(
      () => this.pending.delete(p),
      () => this.pending.delete(p),
    );
    return new StepRef<T>(key, p);
  }

  private async executeStep(task: AnyTask, input: unknown, key: string, named: boolean, priority: number | undefined, report: StepReport): Promise<unknown> {
    const ns = this.ns;
    const digest = inputDigest(task, this.o.client.envelope(task, input, {}, 0).input); // validates the input, as submit would
    const state = named ? key : this.contentKey(task.name, digest);
    this.stateKeys.set(key, state);
    // saved outputs are in their wire form, as results are (Maps and Sets as arrays)
    const saved = await ns.tryRead(this.names.output(state));
    if (saved !== undefined) {
      const { output, digest: savedDigest } = decode(saved) as { output: unknown; digest?: string };
      if (savedDigest !== undefined && savedDigest !== digest) throw new StepInputChangedError(this.def.name, this.runId, key);
      report.state = 'cached';
      this.resumed++;
      return fromWire(task.output, 'output', output);
    }
    for (;;) {
      const sub = await this.submitStep(task, input, key, state, digest, priority, report);
      const outcome = await this.awaitOutput(task, sub, state, report);
      if (outcome === 'lost') {
        // its result expired or its task was purged: nothing will ever answer under this id
        await this.markers.abandon(state, sub.id);
        continue;
      }
      await ns.put(this.names.output(state), encode({ output: toWire(task.output, 'output', outcome.output), digest }));
      await ns.remove(this.o.client.names(sub.queue).result(sub.id));
      return outcome.output;
    }
  }

  /**
   * The step's submission: the one its marker records (made by an earlier driver of the run, or by another
   * driver running it now), else a new one. A new one claims the marker first, with putIfAbsent, and is
   * submitted only if it won it: a second driver adopts the first's submission instead of running the step
   * again, and an abort arriving meanwhile finds the marker and so the task to cancel. A marker whose submit
   * was never confirmed (its driver died in between) is submitted again under its id: at worst the task runs
   * twice, as any task may.
   */
  private async submitStep(task: AnyTask, input: unknown, key: string, state: string, digest: string, priority: number | undefined, report: StepReport): Promise<Submission> {
    const submitOptions = (id: string) => ({ id, ignoreResult: false, ...(priority !== undefined ? { priority } : {}) });
    for (;;) {
      const found = await this.markers.submission(state);
      if (found.submitted) {
        const sub = found.sub;
        if (sub.digest !== undefined && sub.digest !== digest) throw new StepInputChangedError(this.def.name, this.runId, key);
        if (!(await this.markers.confirmedSoon(state, sub, this.controller.signal))) {
          if (this.controller.signal.aborted) throw this.controller.signal.reason;
          await this.o.client.submit({ ...task, queue: sub.queue } as AnyTask, input as never, submitOptions(sub.id));
          await this.markers.confirm(state, sub);
        }
        this.markSubmitted(report, sub.id);
        return sub;
      }
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      const sub: Submission = { id: found.id, queue: task.queue, digest, at: Date.now() };
      // cancelUnstarted leaves a step to itself while its submission is in flight: see below
      this.submitting.add(key);
      try {
        if (!(await this.markers.claim(state, sub))) continue; // another driver's: adopt it
        this.markSubmitted(report, sub.id);
        try {
          // a step needs its output, whatever the task's ignoreResult says
          await this.o.client.submit(task, input as never, submitOptions(sub.id));
          await this.markers.confirm(state, sub);
        } catch (err) {
          // it may have been stored all the same (the reply was lost): a resumed run must not wait for it
          await this.cancelSubmission(state, sub).catch(() => undefined);
          throw err;
        }
      } finally {
        this.submitting.delete(key);
      }
      if (this.controller.signal.aborted) {
        await this.cancelSubmission(state, { ...sub, ok: 1 });
        throw this.controller.signal.reason;
      }
      return sub;
    }
  }

  private markSubmitted(report: StepReport, id: string): void {
    report.taskId = id;
    report.startedAt = Date.now();
    report.state = 'queued';
    this.changed(report);
  }

  /**
   * Waits for the step's task's output, in slices: when a slice ends, the driver looks whether another driver
   * of the run saved the output meanwhile. A result that expired unread (while no driver waited) makes the
   * submission 'lost': the step is submitted again. A purged task's result is a cancel. A failure (or a cancel
   * the run did not make) abandons the submission and removes its result, so a resumed run submits the step
   * again; so does a failure read after the run was aborted, which stays a failure. An output that arrived as
   * the run aborted is kept.
   */
  private async awaitOutput(task: AnyTask, sub: Submission, state: string, report: StepReport): Promise<{ output: unknown } | 'lost'> {
    const ns = this.ns;
    const names = this.o.client.names(sub.queue);
    // the queue recorded at submission, not the task's current one (the task may have moved since)
    const handle = await this.o.client.handle({ ...task, queue: sub.queue } as AnyTask, sub.id, { keep: true });
    let sliceMs = FIRST_SLICE_MS;
    try {
      for (;;) {
        try {
          return { output: await handle.result({ signal: this.controller.signal, timeout: sliceMs }) }; // core keeps one listener per signal, however many steps wait
        } catch (err) {
          if (err instanceof ResultExpiredError) return 'lost';
          if (!(err instanceof ResultTimeoutError) || this.controller.signal.aborted) throw err;
        }
        // another driver of the run may have saved the output and removed the result
        const saved = await ns.tryRead(this.names.output(state));
        if (saved !== undefined) return { output: fromWire(task.output, 'output', (decode(saved) as { output: unknown }).output) };
        sliceMs = Math.min(2 * sliceMs, LAST_SLICE_MS);
      }
    } catch (err) {
      let failure = err;
      if (this.controller.signal.aborted && !(err instanceof TaskFailedError) && !(err instanceof TaskCancelledError)) {
        // the wait was cut short: the task may have ended at about the time the step that stopped the run
        // failed (a worker forwards each failure on its own), so a fail-fast run gives it a moment
        try {
          return { output: await handle.result({ timeout: this.failed ? SAME_MOMENT_MS : 0 }) };
        } catch (late) {
          if (late instanceof TaskFailedError) failure = late;
        }
      }
      // one the driver stopped waiting for (its client closed, the backend failed) is still submitted, and a
      // resumed run waits for it
      if (failure instanceof TaskFailedError || (failure instanceof TaskCancelledError && !this.controller.signal.aborted)) {
        report.taskId = sub.id;
        await this.markers.abandon(state, sub.id);
        await ns.remove(names.result(sub.id));
      }
      throw failure;
    }
  }

  /**
   * The state key of a step the caller did not name: its task and input digest, numbered among the run's
   * steps with that same task and input (which are interchangeable).
   */
  private contentKey(task: string, digest: string): string {
    const base = `${task.replace(/[^A-Za-z0-9_.@-]/g, '_')}.${digest.slice(0, 16)}`;
    const n = this.contentCounters.get(base) ?? 0;
    this.contentCounters.set(base, n + 1);
    return `${base}.${n}`;
  }

  /**
   * On abort (the caller's signal, or fail-fast), cancels the task of every step that is not finished and not
   * claimed by a worker. Looking at step states would miss most of them: the abort has already turned waiting
   * steps 'failed' or 'skipped'. Claimed (running) tasks are left to finish, so a resumed run waits for them.
   * A step whose submission is in flight cancels its own once it is stored (see submitStep).
   */
  private async cancelUnstarted(): Promise<void> {
    if (this.ns === undefined) return;
    const unfinished = [...this.steps.values()].filter((s) => s.taskId !== undefined && !this.outsideWaits.has(s.key) && !this.submitting.has(s.key) && s.state !== 'done' && s.state !== 'cached');
    for (const s of unfinished) {
      const state = this.stateKeys.get(s.key);
      const sub = state === undefined ? undefined : await this.markers.read(state);
      // a marker of another submission (another driver's, made since) is not this run's to cancel
      if (state === undefined || sub?.id !== s.taskId) continue;
      await this.cancelSubmission(state, sub as Submission);
    }
  }

  /**
   * Cancels a step's task unless a worker has claimed it. Abandoned first: a driver dying in between leaves a
   * task that still runs, never a resumed step whose id carries a cancel marker. Cancelled through the
   * namespace, not the client, which may be closed; a cancel that fails is unabandoned, so the resumed run
   * waits for the task instead of running it again.
   */
  private async cancelSubmission(state: string, sub: Submission): Promise<void> {
    const claimed = await claimedTaskIds(this.ns, sub.queue).catch(() => new Set<string>());
    if (claimed.has(sub.id)) return;
    try {
      await this.markers.abandon(state, sub.id);
    } catch {
      return;
    }
    await cancelTask(this.ns, sub.queue, sub.id).catch(() => this.markers.unabandon(state, sub).catch(() => undefined));
  }

  /** Keeps the run open until `p` settles. */
  private track0(p: Promise<unknown>): void {
    const q = p.catch(() => undefined);
    this.pending.add(q);
    void q.then(() => this.pending.delete(q));
  }

  private changed(step: StepReport): void {
    this.o.onStep?.(step, [...this.steps.values()]);
    if (this.infoTimer === undefined && this.ns !== undefined) {
      this.infoTimer = setTimeout(() => {
        this.infoTimer = undefined;
        void this.writeInfo('running').catch(() => undefined);
      }, 500);
      this.infoTimer.unref();
    }
  }

  private async writeInfo(status: WorkflowRunInfo['status']): Promise<void> {
    const counts: Record<string, number> = {};
    for (const s of this.steps.values()) counts[s.state] = (counts[s.state] ?? 0) + 1;
    const info = { workflow: this.def.name, runId: this.runId, status, startedAt: this.started, updatedAt: Date.now(), steps: this.steps.size, ...counts };
    const name = this.names.info();
    await this.ns.put(name, JSON.stringify(info));
    while ((await this.ns.count(name)) > 1) await this.ns.tryGet(name);
  }
}

