import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../src/lazy-abort.js';

describe('LazyAbort.race', () => {
  it('settles with the promise while nothing aborts', async () => {
    const a = new LazyAbort();
    await expect(a.race(Promise.resolve(42))).resolves.toBe(42);
    await expect(a.race(Promise.reject(new Error('run failed')))).rejects.toThrow('run failed');
  });

  it('rejects with the reason as soon as abort() is called, and the signal made later is aborted too', async () => {
    const a = new LazyAbort();
    const never = new Promise<number>(() => undefined);
    const raced = a.race(never);
    const reason = new Error('timed out');
    a.abort(reason);
    await expect(raced).rejects.toBe(reason);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe(reason);
    await expect(a.race(Promise.resolve(1))).rejects.toBe(reason); // after the abort: at once
  });

  it('fires the signal listeners of a task that asked for ctx.signal, and rejects the race', async () => {
    const a = new LazyAbort();
    const heard: unknown[] = [];
    a.signal.addEventListener('abort', () => heard.push(a.signal.reason));
    const raced = a.race(new Promise(() => undefined));
    a.abort('cancelled');
    await expect(raced).rejects.toBe('cancelled');
    expect(heard).toEqual(['cancelled']);
  });
});
