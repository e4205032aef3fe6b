import { describe, expect, it } from 'vitest';
import { rateLimited, starts } from './fixtures/behaviour-tasks.js';
import { clientOn, freshNamespace, startWorker } from './support/harness.js';

describe('rate limits', () => {
  it('no window of `per` sees more than `max` starts of a rate-limited task', async () => {
    const { ns } = await freshNamespace('rate');
    await startWorker(ns, { tasks: [rateLimited], concurrency: 8 });
    starts.length = 0;
    const hs = await clientOn(ns).submitMany(rateLimited, Array.from({ length: 8 }, (_, i) => ({ i })));
    await Promise.all(hs.map((h) => h.result()));
    expect(starts).toHaveLength(8);
    const sorted = [...starts].sort((a, b) => a - b);
    // max 2 per 300 ms: the i-th and (i+2)-th starts are at least one interval apart (small clock slack)
    for (let i = 0; i + 2 < sorted.length; i++) expect(sorted[i + 2]! - sorted[i]!).toBeGreaterThanOrEqual(290);
  });
});
