/**
 * The error a retry of a dead letter throws while the task's outcome is still on its way.
 * @module
 */
import { TsdbrError } from '@tsdbr/core';

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
