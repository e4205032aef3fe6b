/**
 * A worker process for the task-queue benchmarks, driven over IPC by the benchmark process:
 *   {cmd:'start', system:'ours'|'bull'|'echo', concurrency, namespace?, queue, redis?} -> {ok:'started'}
 *   {cmd:'stop'} -> {ok:'stopped'}; {cmd:'exit'} ends the process.
 * Everything heavy (imports, connections) happens before 'started' is answered, so the caller's clock can
 * start when it says go; starting ours is worker.start() (heartbeat, slot loops), BullMQ's is worker.run().
 * 'echo' is no task system: it gets each value put to the tuple "ping" and puts it back as "pong" through
 * @tsdbr/core, the floor under any task round trip.
 */
import { Worker as BullWorker } from 'bullmq';
import { createLogger, Worker } from '@tsdbr/worker';
import { Echo } from './echo.js';
import { bullNoop, noop } from './tasks.js';

export interface HostStart {
  cmd: 'start';
  system: 'ours' | 'bull' | 'echo';
  concurrency: number;
  namespace: string;
  queue: string;
  redis: { host: string; port: number; password: string };
}
export type HostCommand = HostStart | { cmd: 'go' } | { cmd: 'stop' } | { cmd: 'exit' };

const silent = createLogger({ level: 'silent', pretty: false });
let ours: Worker | undefined;
let bull: BullWorker | undefined;
let echo: Echo | undefined;

function reply(ok: string, extra: Record<string, unknown> = {}): void {
  process.send?.({ ok, ...extra });
}

process.on('message', (msg: HostCommand) => {
  void (async () => {
    try {
      if (msg.cmd === 'start') {
        if (msg.system === 'echo') {
          echo = new Echo(msg.namespace);
        } else if (msg.system === 'ours') {
          ours = new Worker({ tasks: [noop], concurrency: msg.concurrency, namespace: msg.namespace, logger: silent, shutdownGrace: '5s' });
        } else {
          bull = new BullWorker(msg.queue, bullNoop, {
            connection: { ...msg.redis, maxRetriesPerRequest: null },
            concurrency: msg.concurrency,
            autorun: false,
          });
          await bull.waitUntilReady();
        }
        reply('prepared');
      } else if (msg.cmd === 'go') {
        if (ours) await ours.start();
        echo?.start();
        if (bull) void bull.run().catch((err: unknown) => console.error('bullmq worker:', err));
        reply('started');
      } else if (msg.cmd === 'stop') {
        await ours?.close({ graceMs: 5000 });
        await bull?.close();
        await echo?.stop();
        echo = undefined;
        ours = undefined;
        bull = undefined;
        reply('stopped');
      } else if (msg.cmd === 'exit') {
        process.exit(0);
      }
    } catch (err) {
      reply('error', { error: String((err as Error)?.stack ?? err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
reply('ready');
