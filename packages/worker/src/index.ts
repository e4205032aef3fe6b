/**
 * @tsdbr/worker: typed tasks, workers with leases and retries, and workflows on the Data Broker tuple space.
 *
 * - {@link defineTask}: a task typed by zod schemas.
 * - {@link TaskClient}: submit tasks, get {@link TaskHandle}s with result(), status(), cancel().
 * - {@link Worker}: claims and runs tasks (at-least-once: leases, recovery, retries, dead letters).
 * - {@link workflow}: DAGs of tasks by dataflow, fan-out/fan-in, waits on outside tuples, resumable.
 * - {@link QueueInspector} ({@link listQueues}, {@link queueCounts}, {@link failedTasks}, {@link workers},
 *   {@link workflowRuns}): read-only inspection of the tuples, for dashboards and tools; {@link retryDeadLetter},
 *   {@link cancelTask}, {@link purgeQueue}: operator actions.
 * @module
 */
export { defineTask, isTask, type AnyTask, type Progress, type RateLimit, type Task, type TaskContext, type TaskDefinition, type TaskInput, type TaskOutput } from './task.js';
export { TaskClient, newTaskId, type SubmitManyOptions, type SubmitOptions, type TaskClientOptions } from './client.js';
export { TaskHandle, type ResultOptions, type TaskState, type TaskStatus } from './task-handle.js';
export { Worker, type WorkerEvents } from './worker.js';
export { compileWorkerOptions, defaultNamespace, type CompiledWorkerOptions, type WorkerOptions } from './worker-options.js';
export type { HeartbeatTask, HeartbeatValue, QueueStats, WorkerStats } from './lease.js';
export { backoffDelay, compileBackoff, type BackoffOptions, type CompiledBackoff } from './retry.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { createLogger, type LoggerOptions } from './logger.js';
export type { DeadLetter, ResultEnvelope, TaskEnvelope } from './envelope.js';
export { BANDS, type Band, bandOf, checkId, checkQueue, DEFAULT_QUEUE, DELAY_BUCKET_MS, QueueNames, WORKER_PATTERN, WORKFLOW_INFO_PATTERN, WorkflowNames, workerName } from './protocol.js';
export {
  failedTasks,
  type FailedTaskEntry,
  type FailedTasksOptions,
  findFailedTask,
  listQueues,
  type ListQueuesOptions,
  locateTask,
  peekResult,
  QUEUE_DISCOVERY_PATTERNS,
  type QueueCounts,
  queueCounts,
  QueueInspector,
  queueOf,
  type TaskLocation,
  workers,
  workflowRun,
  type WorkflowInfoStep,
  type WorkflowRunInfo,
  type WorkflowRunStatus,
  workflowRuns,
  type WorkflowRunSummary,
  type WorkflowStepState,
} from './inspect.js';
export { cancelTask, purgeQueue, type RetriedTask, retryDeadLetter } from './admin.js';
export {
  ClientClosedError,
  DependencyFailedError,
  ExecError,
  FailedFastError,
  InvalidInputError,
  InvalidOutputError,
  InvalidTaskIdError,
  InvalidTupleError,
  type Issue,
  NonRetryableError,
  ResultExpiredError,
  ResultNotStoredError,
  ResultTimeoutError,
  StepInputChangedError,
  TaskCancelledError,
  TaskFailedError,
  TaskStillFinishingError,
  TaskTimeoutError,
  UnknownTaskError,
  WorkerClosedError,
  WorkerShutdownError,
  WorkflowFailedError,
} from './errors.js';
export { isStepRef, type Refs, StepRef } from './step-ref.js';
export { pruneWorkflowRuns, type PruneWorkflowRunsOptions } from './workflow-prune.js';
export { stepTaskId } from './step-identity.js';
export {
  type FailurePolicy,
  isWorkflow,
  runWorkflow,
  type RunWorkflowOptions,
  type StepReport,
  type StepState,
  type Workflow,
  workflow,
  type WorkflowContext,
  type WorkflowOptions,
  type WorkflowReport,
} from './workflow.js';
