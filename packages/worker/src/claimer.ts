/**
 * Claims the tasks of one queue into a worker's claim slots. One moveMany fills every free slot from the hi,
 * normal and lo bands, each move atomic; when every band is empty, one blocking moveValue waits on the normal
 * band (a bell put there wakes it for the hi and lo bands): values never leave the tuple space, and no JS
 * polls.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDbrError, type Namespace } from '@tsdbr/core';
import { WorkerShutdownError } from './errors.js';
import type { QueueNames } from './protocol.js';

/** A claim that failed is tried again after this long. */
const SLOT_ERROR_BACKOFF_MS = 500;
/** Bounds of one claim's size (the number of slots a moveMany fills at most; libdbr takes up to 1024). */
const CLAIM_MIN = 8;
const CLAIM_MAX = 1024;

/** What a Claimer needs from its worker. */
export interface ClaimHost {
  readonly namespace: Namespace;
  /** True once the worker is shutting down: no new claims. */
  stopping(): boolean;
  /** How many of `free` empty slots to fill now, as concurrency and prefetch allow. */
  wanted(free: number): number;
  /** Starts the tasks just claimed into `slots` (indexes into Claimer.slots). */
  dispatch(slots: number[], values: Buffer[]): void;
  /** Resolves once this turn's finishes have been sent: the claim that follows a claimed task waits for it. */
  afterFinishesSent(): Promise<void>;
  fail(err: unknown, where: string): void;
}

/** Claims one queue's tasks until the worker stops. */
export class Claimer {
  /** Bands in claim order: hi, normal, lo. */
  readonly sources: string[];
  /** Claim slot names, by index. */
  readonly slots: string[];
  /** Indexes of empty slots. */
  private readonly free: number[];
  /** Wakes run() when it waits for a slot or for capacity. */
  private wake: (() => void) | undefined;
  /** The blocking claim in flight. */
  private claim: AbortController | undefined;
  /** Slots the next claim asks for at most (twice what the last one found). */
  private claimSize = CLAIM_MIN;

  constructor(
    readonly names: QueueNames,
    workerId: string,
    slotCount: number,
    private readonly host: ClaimHost,
  ) {
    this.sources = [names.pending('hi'), names.pending('normal'), names.pending('lo')];
    this.slots = Array.from({ length: slotCount }, (_, i) => names.run(workerId, i));
    this.free = Array.from({ length: slotCount }, (_, i) => i);
  }

  /** Claims into every free slot in one step; when every band is empty, waits on the normal band. */
  async run(): Promise<void> {
    const host = this.host;
    while (!host.stopping()) {
      const n = host.wanted(this.free.length);
      if (n === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      // ask for about twice what the last claim found: a near-empty queue costs Redis a small script
      const slots = this.free.splice(0, Math.min(n, this.claimSize));
      let values: Buffer[];
      try {
        values = await host.namespace.moveMany(this.sources, slots.map((i) => this.slots[i] as string));
      } catch (err) {
        if (!host.stopping()) host.fail(err, `claiming from ${this.names.queue}`);
        await this.adopt(slots);
        await sleep(SLOT_ERROR_BACKOFF_MS);
        continue;
      }
      this.claimSize = Math.min(CLAIM_MAX, Math.max(CLAIM_MIN, 2 * values.length));
      for (const i of slots.slice(values.length)) this.free.push(i);
      if (values.length > 0) host.dispatch(slots, values);
      // another queue's claim may have filled the worker meanwhile (see withdraw): then wait for capacity first
      else if (host.wanted(this.free.length) === 0) continue;
      // after a claimed task, this turn's finishes go out before the next claim (whose packing would delay them)
      else if (await this.blockingClaim()) await host.afterFinishesSent();
    }
  }

  /** A slot is empty again: claim into it. */
  release(index: number): void {
    this.free.push(index);
    this.nudge();
  }

  /** Capacity may have come free: a claim waiting for it looks again. */
  nudge(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Withdraws the blocking claim, if one waits: run() then waits for capacity (the worker is full). */
  withdraw(): void {
    this.claim?.abort(new Error('the worker is at capacity'));
  }

  /** Withdraws the blocking claim; run() ends. */
  stop(reason: Error): void {
    this.claim?.abort(reason);
    this.nudge();
  }

  /** Waits for a task on the normal band; true if it claimed one. */
  private async blockingClaim(): Promise<boolean> {
    const host = this.host;
    const index = this.free.shift() as number;
    const controller = new AbortController();
    this.claim = controller;
    try {
      if (host.stopping()) throw new WorkerShutdownError();
      const v = await host.namespace.moveValue(this.sources[1] as string, host.namespace, this.slots[index] as string, { timeout: 'infinite', signal: controller.signal });
      host.dispatch([index], [v]);
      return true;
    } catch (err) {
      this.free.unshift(index);
      if (controller.signal.aborted || host.stopping()) return false;
      host.fail(err, `claim on ${this.names.queue}`);
      await sleep(SLOT_ERROR_BACKOFF_MS);
      return false;
    } finally {
      this.claim = undefined;
    }
  }

  /** After a failed claim: a slot may have been filled anyway, so look. */
  private async adopt(slots: number[]): Promise<void> {
    const host = this.host;
    for (const i of slots) {
      for (;;) {
        try {
          const v = await host.namespace.read(this.slots[i] as string, { timeout: 0 });
          host.dispatch([i], [v]);
          break;
        } catch (err) {
          if (isDbrError(err, 'DBR_ERR_UNAVAIL')) {
            this.release(i);
            break;
          }
          if (host.stopping()) break; // a task left there is recovered after we are gone
          await sleep(SLOT_ERROR_BACKOFF_MS);
        }
      }
    }
  }
}
