/**
 * The types of workflows: definitions, the context a workflow function gets, run options and reports.
 * @module
 */
import type { Duration, Namespace } from '@tsdbr/core';
import type { output as zOutput, ZodType } from 'zod';
import type { TaskClient } from './client.js';
import type { Refs, StepRef } from './step-ref.js';
import type { AnyTask, TaskInput, TaskOutput } from './task.js';

/** What happens when a step fails. */
export type FailurePolicy = 'fail-fast' | 'continue';

/** Options of workflow(). */
export interface WorkflowOptions {
  /** 'fail-fast' (default): the first failure cancels the rest. 'continue': independent steps go on; dependents are skipped; the run reports every failure. */
  failurePolicy?: FailurePolicy;
}

/** State of a step. */
export type StepState = 'waiting' | 'queued' | 'done' | 'cached' | 'failed' | 'skipped';

/** A step as reported by a run. */
export interface StepReport {
  key: string;
  task: string;
  state: StepState;
  /** Task id (steps that were submitted). */
  taskId?: string;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
}

/** What the workflow function gets. */
export interface WorkflowContext {
  /** The workflow's name. */
  readonly name: string;
  /** This run's id. */
  readonly runId: string;
  /** The namespace the run lives in. */
  readonly ns: Namespace;
  /** Aborts when the run fails fast or is aborted. */
  readonly signal: AbortSignal;
  /**
   * Adds a step: runs `task` once the references in `input` resolve. `key` names the step (default task name +
   * index); a named step's saved state is reused on resume only for the same input.
   */
  run<T extends AnyTask>(task: T, input: Refs<TaskInput<T>>, options?: { key?: string; priority?: number }): StepRef<TaskOutput<T>>;
  /** Fan-out: one step per input (keys `<key>.<i>`). Pass the returned array inside another step's input to fan in. */
  map<T extends AnyTask>(task: T, inputs: readonly Refs<TaskInput<T>>[], options?: { key?: string; priority?: number }): StepRef<TaskOutput<T>>[];
  /**
   * Waits until any program puts a value under `tupleName` in the namespace (it is read, not consumed), parses
   * it (JSON; else printable UTF-8 text; else msgpack) and validates it with `schema`.
   */
  waitFor<S extends ZodType>(tupleName: string, schema: S, options?: { key?: string; timeout?: Duration }): StepRef<zOutput<S>>;
}

/** A workflow definition. */
export interface Workflow<A = void, R = unknown> {
  readonly kind: 'tsdbr.workflow';
  readonly name: string;
  readonly options: Required<WorkflowOptions>;
  readonly fn: (wf: WorkflowContext, args: A) => Promise<Refs<R>> | Refs<R>;
}

/** Options of runWorkflow. */
export interface RunWorkflowOptions<A> {
  /** Client whose namespace holds the run and to which steps are submitted. */
  client: TaskClient;
  /** Run id (default: the workflow's name). The same id resumes an unfinished run. */
  runId?: string;
  /** Arguments of the workflow function. */
  args?: A;
  /** Called whenever a step changes state. */
  onStep?: (step: StepReport, all: readonly StepReport[]) => void;
  /** Aborting cancels every step not finished yet (queued or running) and the run reports failure. */
  signal?: AbortSignal;
}

/** The outcome of a run. */
export interface WorkflowReport<R> {
  workflow: string;
  runId: string;
  status: 'completed' | 'failed';
  output?: R;
  steps: StepReport[];
  failures: { step: string; error: string }[];
  /** Steps whose saved outputs were reused (resume). */
  resumed: number;
  durationMs: number;
}
