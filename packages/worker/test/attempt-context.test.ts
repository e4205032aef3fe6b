import type { Namespace } from '@tsdbr/core';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AttemptContext } from '../src/attempt-context.js';
import { LazyAbort } from '../src/lazy-abort.js';
import type { Progress } from '../src/task.js';

describe('the ctx of an attempt', () => {
  it('carries the task, makes its signal and logger on first use, and reports progress', () => {
    const lines: string[] = [];
    const parent = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }).child({ worker: 'w1' });
    const abort = new LazyAbort();
    const ns = { name: 'ns' } as unknown as Namespace;
    const reports: { progress?: Progress; cancelChecked: boolean } = { cancelChecked: true };
    const ctx = new AttemptContext('t-1', 'render', 'frames', 2, 4, ns, abort, parent, reports);
    expect([ctx.id, ctx.task, ctx.queue, ctx.attempt, ctx.maxAttempts, ctx.ns]).toEqual(['t-1', 'render', 'frames', 2, 4, ns]);

    ctx.progress({ done: 3, total: 10 });
    expect(reports.progress).toEqual({ done: 3, total: 10 });

    ctx.log.info('hello');
    expect(ctx.log).toBe(ctx.log); // one child per attempt
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ worker: 'w1', taskId: 't-1', task: 'render', attempt: 2, msg: 'hello' });

    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    abort.abort(new Error('cancelled'));
    expect(signal.aborted).toBe(true);
    expect(ctx.signal).toBe(signal);
  });

  it('a signal first asked for after the abort is already aborted', () => {
    const abort = new LazyAbort();
    const ctx = new AttemptContext('t-2', 'x', 'q', 1, 1, {} as Namespace, abort, pino({ level: 'silent' }), { cancelChecked: true });
    abort.abort(new Error('timeout'));
    expect(ctx.signal.aborted).toBe(true);
    expect((ctx.signal.reason as Error).message).toBe('timeout');
  });

  it('destructures like a plain object (run({ ... }, { signal, log }))', () => {
    const ctx = new AttemptContext('t-3', 'x', 'q', 1, 1, {} as Namespace, new LazyAbort(), pino({ level: 'silent' }), { cancelChecked: true });
    const { signal, log, id } = ctx;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(typeof log.info).toBe('function');
    expect(id).toBe('t-3');
  });
});

describe('what a task sees of its ctx', () => {
  it('its own fields only, not the worker bookkeeping behind them', () => {
    const ctx = new AttemptContext('t-4', 'x', 'q', 1, 2, {} as Namespace, new LazyAbort(), pino({ level: 'silent' }), { progress: undefined, cancelChecked: true });
    expect(Object.keys(ctx).sort()).toEqual(['attempt', 'id', 'maxAttempts', 'ns', 'queue', 'task']);
  });
});
