/**
 * Local scheduling of claimed tasks with p-queue: the worker's concurrency, task priorities, and per-task
 * rate limits (a p-queue with an interval cap in front of the shared one).
 * @module
 */
import PQueue from 'p-queue';
import type { AnyTask } from './task.js';

/** Runs attempts under the worker's concurrency, in priority order, within each task's rate limit. */
export class Scheduler {
  private readonly main: PQueue;
  private readonly limiters = new Map<string, PQueue>();

  constructor(concurrency: number) {
    this.main = new PQueue({ concurrency });
  }

  /** Runs fn when a slot is free (higher priority first) and the task's rate limit allows. */
  run<T>(task: AnyTask, priority: number, fn: () => Promise<T>): Promise<T> {
    const limiter = this.limiterOf(task);
    const start = () => this.main.add(fn, { priority }) as Promise<T>;
    return limiter === undefined ? start() : (limiter.add(start, { priority }) as Promise<T>);
  }

  /** Attempts running now. */
  get running(): number {
    return this.main.pending;
  }

  /** Attempts waiting for a free slot or their rate limit. */
  get waiting(): number {
    let n = this.main.size;
    for (const l of this.limiters.values()) n += l.size;
    return n;
  }

  private limiterOf(task: AnyTask): PQueue | undefined {
    if (task.rateLimit === undefined) return undefined;
    let l = this.limiters.get(task.name);
    if (l === undefined) {
      l = new PQueue({ intervalCap: task.rateLimit.max, interval: task.rateLimit.perMs });
      this.limiters.set(task.name, l);
    }
    return l;
  }
}
