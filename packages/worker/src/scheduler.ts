/**
 * Local scheduling of claimed tasks with p-queue: the worker's concurrency and task priorities, and per-task
 * rate limits as sliding windows.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { AnyTask } from './task.js';

/**
 * At most `max` starts in any window of `perMs` (a sliding window: p-queue's interval cap counts fixed
 * windows, which lets 2 x max starts through around a window boundary).
 */
class SlidingWindow {
  /** Attempts holding a slot while they wait for the window. */
  waiting = 0;
  private readonly starts: number[] = [];

  constructor(
    private readonly max: number,
    private readonly perMs: number,
  ) {}

  /** Waits until one more start keeps the limit, and records it. */
  async acquire(): Promise<void> {
    for (;;) {
      const now = performance.now();
      while (this.starts.length > 0 && now - (this.starts[0] as number) >= this.perMs) this.starts.shift();
      if (this.starts.length < this.max) {
        this.starts.push(now);
        return;
      }
      await sleep((this.starts[0] as number) + this.perMs - now + 1);
    }
  }
}

/** Runs attempts under the worker's concurrency, in priority order, within each task's rate limit. */
export class Scheduler {
  private readonly main: PQueue;
  private readonly limiters = new Map<string, SlidingWindow>();

  constructor(concurrency: number) {
    this.main = new PQueue({ concurrency });
  }

  /**
   * Runs fn when a slot is free (higher priority first) and the task's rate limit allows. The limit is
   * taken inside the slot, at the real start, so a busy worker can never bunch up starts.
   */
  run<T>(task: AnyTask, priority: number, fn: () => Promise<T>): Promise<T> {
    const limiter = this.limiterOf(task);
    if (limiter === undefined) return this.main.add(fn, { priority }) as Promise<T>;
    return this.main.add(
      async () => {
        limiter.waiting++;
        try {
          await limiter.acquire();
        } finally {
          limiter.waiting--;
        }
        return fn();
      },
      { priority },
    ) as Promise<T>;
  }

  /** Attempts running now (not counting those still waiting for their rate limit). */
  get running(): number {
    let waiting = 0;
    for (const l of this.limiters.values()) waiting += l.waiting;
    return this.main.pending - waiting;
  }

  /** Attempts waiting for a free slot or their rate limit. */
  get waiting(): number {
    let n = this.main.size;
    for (const l of this.limiters.values()) n += l.waiting;
    return n;
  }

  private limiterOf(task: AnyTask): SlidingWindow | undefined {
    if (task.rateLimit === undefined) return undefined;
    let l = this.limiters.get(task.name);
    if (l === undefined) {
      l = new SlidingWindow(task.rateLimit.max, task.rateLimit.perMs);
      this.limiters.set(task.name, l);
    }
    return l;
  }
}
