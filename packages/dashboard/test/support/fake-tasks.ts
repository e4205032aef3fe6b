/**
 * A scripted task model: queues, workers and workflows with fixed data that tests change by hand. It
 * exercises the views and the API without a worker package.
 */
import type { FailedPage, FailedTask, WorkerInfo, WorkflowInfo } from '../../src/api-types.js';
import type { QueueSample, TaskModel } from '../../src/server/task-model.js';

export class FakeTasks implements TaskModel {
  queue: QueueSample = { namespace: 'jobs', queue: 'render', waiting: 40, running: 2, done: 120, failed: 1, workers: 2, durationsMs: [] };
  failedTasks: FailedTask[] = [
    {
      id: 'task-<b>7</b>',
      task: 'render-frame',
      error: 'RangeError: frame 7 out of range <script>alert(3)</script>',
      stack: 'RangeError: frame 7 out of range\n    at render (render.ts:12:9)\n    at run (worker.ts:88:5)',
      attempts: 3,
      failedAt: Date.now() - 65_000,
      input: '{\n  "frame": 7\n}',
    },
  ];
  retried: string[] = [];
  workerList: WorkerInfo[] = [
    {
      namespace: 'jobs',
      id: 'node17.4242.a1b2c3',
      host: 'node17',
      pid: 4242,
      queues: ['render'],
      startedAt: Date.now() - 3_725_000,
      lastBeat: Date.now() - 800,
      stale: false,
      concurrency: 2,
      running: [
        { id: 'task-41', task: 'render-frame', startedAt: Date.now() - 12_000, progress: 0.62, message: 'tile 31/50' },
        { id: 'task-42', task: 'render-frame', startedAt: Date.now() - 3_000, progress: 0.1, message: null },
      ],
      completed: 118,
      failed: 1,
    },
    { namespace: 'jobs', id: 'node18.977.ffee00', host: 'node18', pid: 977, queues: ['render'], startedAt: Date.now() - 600_000, lastBeat: Date.now() - 95_000, stale: true, concurrency: 1, running: [], completed: 2, failed: 0 },
  ];
  flow: WorkflowInfo = {
    namespace: 'jobs',
    id: 'run-1',
    name: 'ensemble',
    state: 'running',
    createdAt: Date.now() - 300_000,
    total: 6,
    done: 3,
    failed: 1,
    running: 1,
    nodes: [
      { id: 'prepare', task: 'prepare', state: 'done', deps: [], progress: 1, error: null },
      { id: 'sim-a', task: 'simulate', state: 'done', deps: ['prepare'], progress: 1, error: null },
      { id: 'sim-b', task: 'simulate', state: 'done', deps: ['prepare'], progress: 1, error: null },
      { id: 'sim-<i>c</i>', task: 'simulate', state: 'failed', deps: ['prepare'], progress: 0.4, error: 'diverged at step 812' },
      { id: 'analyse', task: 'analyse', state: 'running', deps: ['sim-a', 'sim-b'], progress: 0.5, error: null },
      { id: 'report', task: 'report', state: 'pending', deps: ['analyse', 'sim-<i>c</i>'], progress: null, error: null },
    ],
  };

  async queues(): Promise<QueueSample[]> {
    // a steady trickle of completions, so the charts have something to draw
    const n = 2 + Math.floor(Math.random() * 4);
    this.queue = { ...this.queue, done: this.queue.done + n };
    return [{ ...this.queue, durationsMs: Array.from({ length: n }, () => 40 + Math.random() * 20) }];
  }
  async failed(namespace: string, queue: string): Promise<FailedPage> {
    return { namespace, queue, tasks: this.failedTasks, cursor: null };
  }
  async workers(): Promise<WorkerInfo[]> {
    return this.workerList;
  }
  async workflows(): Promise<WorkflowInfo[]> {
    const { nodes: _nodes, ...summary } = this.flow;
    return [summary];
  }
  async workflow(namespace: string, id: string): Promise<WorkflowInfo | undefined> {
    return namespace === this.flow.namespace && id === this.flow.id ? this.flow : undefined;
  }
  async retry(_ns: string, _q: string, id: string): Promise<void> {
    this.retried.push(id);
    this.failedTasks = this.failedTasks.filter((t) => t.id !== id);
    this.queue = { ...this.queue, failed: this.queue.failed - 1, waiting: this.queue.waiting + 1 };
  }
  async cancel(): Promise<void> {}
  async purge(): Promise<number> {
    const n = this.queue.waiting;
    this.queue = { ...this.queue, waiting: 0 };
    return n;
  }
}
