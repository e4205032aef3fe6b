/**
 * Errors of @tsdbr/worker. Each class has a name that says when it is thrown and a message that names the
 * problem and the fix. As TsdbrErrors, `instanceof` works across duplicated module copies and worker_threads
 * realms.
 * @module
 */
import { inspect } from 'node:util';
import { ConfigError, DbrError, ErrorCode, TsdbrError } from '@tsdbr/core';

/** One problem a zod schema found, with the path to the offending field. */
export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Turns zod issues into plain {path, message} objects. */
export function toIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): Issue[] {
  return issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message }));
}

function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `  - ${i.path.length > 0 ? i.path.join('.') : '(value)'}: ${i.message}`).join('\n');
}

/**
 * Throw this from a task's `run` to fail the task at once: remaining attempts are skipped and the task goes
 * to the dead-letter list. Subclass it for your own permanent failures.
 */
export class NonRetryableError extends TsdbrError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The input of a task does not match its `input` schema (thrown by submit, or by a worker for foreign submitters). */
export class InvalidInputError extends NonRetryableError {
  /** The task's name. */
  readonly task: string;
  /** What the schema found wrong. */
  readonly issues: Issue[];

  constructor(task: string, issues: Issue[]) {
    super(`Input of task "${task}" does not match its input schema; fix the input (or the schema):\n${formatIssues(issues)}`);
    this.task = task;
    this.issues = issues;
  }
}

/** A task's `run` returned a value that does not match its `output` schema; the attempt fails (and may retry). */
export class InvalidOutputError extends TsdbrError {
  /** The task's name. */
  readonly task: string;
  /** What the schema found wrong. */
  readonly issues: Issue[];

  constructor(task: string, issues: Issue[]) {
    super(`Task "${task}" returned a value that does not match its output schema; fix run() or the schema:\n${formatIssues(issues)}`);
    this.task = task;
    this.issues = issues;
  }
}

/** An attempt ran longer than the task's `timeout`; ctx.signal was aborted with this error. Retryable. */
export class TaskTimeoutError extends TsdbrError {
  constructor(task: string, timeoutMs: number) {
    super(`Task "${task}" ran longer than its timeout of ${timeoutMs} ms and was aborted; raise \`timeout\` in defineTask (or per submit), or make run() honour ctx.signal sooner.`);
  }
}

/** The task was cancelled (handle.cancel() or `dbr tasks cancel`); result() rejects with it. Never retried. */
export class TaskCancelledError extends TsdbrError {
  /** The task's id. */
  readonly taskId: string;

  constructor(taskId: string) {
    super(`Task ${taskId} was cancelled.`);
    this.taskId = taskId;
  }
}

/**
 * What result() rejects with when the task's result expired unread (after the workers' resultTtl): the task
 * finished, but how is no longer known.
 */
export class ResultExpiredError extends TsdbrError {
  /** The task's id. */
  readonly taskId: string;

  constructor(taskId: string) {
    super(`The result of task ${taskId} expired unread (after the workers' resultTtl): the task finished, but its outcome is gone. Read results sooner, or raise resultTtl.`);
    this.taskId = taskId;
  }
}

/** What result() rejects with when a task failed for good: the remote error's name, message and stack. */
export class TaskFailedError extends TsdbrError {
  /** The task's id. */
  readonly taskId: string;
  /** The task's name. */
  readonly task: string;
  /** Attempts made. */
  readonly attempts: number;
  /** Name of the error class thrown by the last attempt (e.g. 'NonRetryableError', 'TaskTimeoutError'). */
  readonly remoteName: string;
  /** Stack of the last attempt's error, as printed on the worker. */
  readonly remoteStack: string | undefined;

  constructor(taskId: string, task: string, attempts: number, remote: { name: string; message: string; stack?: string | undefined }) {
    super(`Task "${task}" (${taskId}) failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${remote.name}: ${remote.message}`);
    this.taskId = taskId;
    this.task = task;
    this.attempts = attempts;
    this.remoteName = remote.name;
    this.remoteStack = remote.stack;
  }
}

/** result({timeout}) saw no result in time. The task may still be queued or running: call result() again. */
export class ResultTimeoutError extends TsdbrError {
  /** The task's id. */
  readonly taskId: string;

  constructor(taskId: string, timeoutMs: number) {
    super(`No result for task ${taskId} within ${timeoutMs} ms; it may still be queued or running (check \`dbr tasks inspect ${taskId}\` and that a worker serves its queue), or wait longer.`);
    this.taskId = taskId;
  }
}

/** result() of a task submitted with ignoreResult: workers store no result for it. */
export class ResultNotStoredError extends TsdbrError {
  /** The task's id. */
  readonly taskId: string;

  constructor(taskId: string) {
    super(`Task ${taskId} was submitted with ignoreResult, so no worker stores its result; submit it without ignoreResult to read one (its failures are in the dead-letter list: \`dbr tasks ls --dead\`).`);
    this.taskId = taskId;
  }
}

/** The TaskClient was closed: a result() still waiting rejects with this, and so does any later use of the client. */
export class ClientClosedError extends TsdbrError {
  constructor(what = 'This TaskClient') {
    super(`${what} was closed; create a new TaskClient to submit tasks or wait for results (handles made by a closed client stop waiting).`);
  }
}

/** start() on a Worker that was closed: a closed worker cannot serve again. */
export class WorkerClosedError extends ConfigError {
  constructor() {
    super('This worker is closed; create a new Worker to start serving again.');
  }
}

/** A worker claimed a task whose name it does not know. Every worker of a queue must load all of its tasks. */
export class UnknownTaskError extends NonRetryableError {
  constructor(task: string, queue: string, known: string[]) {
    super(`No task named "${task}" is registered on this worker (queue "${queue}"; known: ${known.join(', ') || 'none'}); load it with --tasks, or give the task its own queue.`);
  }
}

/** ctx.exec(): the program exited non-zero, was killed, or could not start. */
export class ExecError extends TsdbrError {
  /** Exit code, or null when killed by a signal or not started. */
  readonly exitCode: number | null;
  /** The signal that killed it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** The last lines of standard error. */
  readonly stderrTail: string;

  constructor(command: string, exitCode: number | null, signal: NodeJS.Signals | null, stderrTail: string, cause?: unknown) {
    const how = cause !== undefined ? `could not start (${(cause as Error).message ?? String(cause)}); ${startFix(cause)}` : signal !== null ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    super(`Command \`${command}\` ${how}${stderrTail ? `; last stderr:\n${stderrTail}` : ''}`, cause !== undefined ? { cause } : undefined);
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = stderrTail;
  }
}

/** What to check when a program could not start: its working directory, if that is what is missing. */
function startFix(cause: unknown): string {
  const missingCwd = (cause as { missingCwd?: string }).missingCwd;
  return missingCwd !== undefined ? `its working directory ${missingCwd} does not exist; fix the cwd option` : 'check the program name and PATH';
}

/** The reason ctx.signal aborts with when the worker shuts down before the task finished; the task is requeued. */
export class WorkerShutdownError extends TsdbrError {
  constructor() {
    super('The worker is shutting down; this task was released back to its queue and will run again elsewhere.');
  }
}

/** A workflow step was skipped because a step it depends on (a reference in its input) failed. */
export class DependencyFailedError extends TsdbrError {
  /** The step that was skipped. */
  readonly step: string;

  constructor(step: string, cause: unknown) {
    super(`Workflow step "${step}" was skipped: a step it depends on failed (${(cause as Error)?.message ?? String(cause)})`, { cause });
    this.step = step;
  }
}

/**
 * A named workflow step (its `key` given) is run again in a run whose saved state says it ran with another
 * input: reusing that state would hand this step another input's output.
 */
export class StepInputChangedError extends NonRetryableError {
  /** The step's key. */
  readonly step: string;

  constructor(workflow: string, runId: string, step: string) {
    super(`Workflow "${workflow}" run "${runId}": step "${step}" ran before with another input, so its saved state does not belong to this input; start a new run (another runId), or give the step another key.`);
    this.step = step;
  }
}

/**
 * A task envelope (written by another program) whose id or dedup key cannot be part of a tuple name: its result
 * and cancel marker could not be stored, so the worker dead-letters it without running it.
 */
export class InvalidTaskIdError extends NonRetryableError {
  constructor(what: 'id' | 'dedup key', value: unknown) {
    const shown = typeof value === 'string' ? `${JSON.stringify(value.slice(0, 60))}${value.length > 60 ? ` (${value.length} characters)` : ''}` : typeof value;
    super(`Task ${what} ${shown} cannot be part of a tuple name (it holds a NUL or newline, or is too long): the task was dead-lettered without running. Submit it again with 1-200 characters from A-Z a-z 0-9 _ . @ - (docs/protocol.md).`);
  }
}

/** The value a workflow waits for (wf.waitFor) does not match its schema. It is read, not consumed, so it stays. */
export class InvalidTupleError extends NonRetryableError {
  /** The tuple's name. */
  readonly tuple: string;
  /** What the schema found wrong. */
  readonly issues: Issue[];

  constructor(namespace: string, tuple: string, issues: Issue[]) {
    super(`The value under "${tuple}" in namespace "${namespace}" does not match the schema it is waited for with:\n${formatIssues(issues)}\nwf.waitFor reads the oldest value without taking it: take it away (\`dbr get ${namespace} ${tuple}\`), put a valid one, and run the workflow again.`);
    this.tuple = tuple;
    this.issues = issues;
  }
}

/** A workflow run failed: some steps failed (listed), or the workflow function threw. */
export class WorkflowFailedError extends TsdbrError {
  /** Keys of the failed steps with their error messages. */
  readonly failures: { step: string; error: string }[];

  constructor(workflow: string, runId: string, failures: { step: string; error: string }[], cause?: unknown) {
    const list = failures.map((f) => `  - ${f.step}: ${f.error}`).join('\n');
    super(
      `Workflow "${workflow}" run "${runId}" failed${failures.length > 0 ? ` (${failures.length} step${failures.length === 1 ? '' : 's'}):\n${list}` : `: ${(cause as Error)?.message ?? String(cause)}`}\nFix the cause and run it again with the same run id: completed steps are not re-run.`,
      cause !== undefined ? { cause } : undefined,
    );
    this.failures = failures;
  }
}

/** A tasks or workflow module named on the command line cannot be used: missing, no exports, does not compile. */
export class ModuleLoadError extends TsdbrError {
  /** The path as it was given. */
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/** A command that only makes sense with several processes sharing a tuple space ran on the embedded backend. */
export class SharedBackendRequiredError extends ConfigError {}

/** A command that reads or changes existing queues named a namespace that does not exist (DBR_ERR_UNAVAIL). */
export class NamespaceNotFoundError extends DbrError {
  constructor(name: string) {
    super(ErrorCode.DBR_ERR_UNAVAIL, `Namespace "${name}" does not exist: check -n/--namespace (or DBR_NAMESPACE); \`dbr ns ls\` lists the namespaces.`);
  }
}

/** A plain {name, message, stack} copy of an error, for envelopes and logs. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Serializes any thrown value. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    if (err.stack !== undefined) out.stack = err.stack;
    return out;
  }
  return { name: 'Error', message: describeThrown(err) };
}

/**
 * Text for a thrown value that is not an Error: the string itself, else its JSON, else (a cycle, a BigInt) how
 * Node would print it. Never throws: it describes whatever a task threw.
 */
export function describeThrown(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    /* not JSON: below */
  }
  return inspect(value, { depth: 3, breakLength: Infinity });
}

/**
 * A task's output that cannot be stored as a result (msgpack, or JSON for a task submitted as JSON): a cycle, a
 * BigInt beyond 64 bits, a BigInt in JSON. Not retried: the same input would give the same output.
 */
export class UnstorableOutputError extends NonRetryableError {
  constructor(task: string, reason: string) {
    super(`Task "${task}" returned a value that cannot be stored as its result (${reason}): return plain data (objects, arrays, strings, finite numbers, booleans, null, Dates, 64-bit BigInts in msgpack).`);
  }
}

/** What a task threw, as an Error (a thrown string, object or cycle described by describeThrown). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(describeThrown(err));
}

/**
 * A workflow step was cancelled because another step failed and the run fails fast (failurePolicy
 * 'fail-fast'): `failedStep` names the step whose failure stopped the run.
 */
export class FailedFastError extends TsdbrError {
  /** The step whose failure stopped the run. */
  readonly failedStep: string;

  constructor(failedStep: string, cause: unknown) {
    super(`Workflow step cancelled: step "${failedStep}" failed and the run fails fast (${(cause as Error)?.message ?? String(cause)})`, { cause });
    this.failedStep = failedStep;
  }
}

/**
 * A dead letter cannot be retried yet: a worker's outbox (or a recoverer's) still holds an outcome of the task,
 * typically its failed result, which the finisher forwards after the letter. Retrying now would let that old
 * result arrive after the retry and answer `result()` in place of the new run's. It is delivered within
 * moments (or at the next recovery pass if the worker died): retry then.
 */
export class TaskStillFinishingError extends TsdbrError {
  /** The task's queue. */
  readonly queue: string;
  /** The task's id. */
  readonly taskId: string;

  constructor(queue: string, taskId: string) {
    super(`Task ${taskId} of queue ${queue} cannot be retried yet: its outcome is still being delivered; try again in a moment.`);
    this.queue = queue;
    this.taskId = taskId;
  }
}
