/**
 * The worker's `dbr` commands refuse mistakes before doing anything, with one line that names the option (or
 * variable) and the value as typed, and the documented exit code: 2 usage, 5 no shared backend.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dbr, spawnDbr } from './support/dbr-cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const workflowModule = fixture('cli-workflow-ok.ts');
const tasksModule = fixture('arithmetic-tasks.ts');
const noTasks = fixture('no-tasks.ts');

/** Runs dbr and checks it refused with `code` and one line on stderr matching every pattern. */
async function expectRefusal(args: string[], code: number, patterns: (string | RegExp)[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await dbr(args, env);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  expect({ code: r.code, lines: lines.length }, r.stderr).toEqual({ code, lines: 1 });
  for (const p of patterns) expect(lines[0]).toMatch(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  expect(r.stdout).toBe('');
}

describe('usage mistakes exit 2 and name what was typed', () => {
  it('a tasks or workflow module that does not exist, or exports no tasks', async () => {
    await expectRefusal(['run', './nosuch.ts'], 2, ['./nosuch.ts does not exist']);
    await expectRefusal(['worker', '--tasks', noTasks], 2, ['exports no tasks']);
  });

  it('`run --tasks` with a missing module or one without tasks is refused up front (it used to restart crashed workers forever)', async () => {
    await expectRefusal(['run', workflowModule, '--workers', '1', '--tasks', './nosuch.ts'], 2, ['./nosuch.ts does not exist']);
    await expectRefusal(['run', workflowModule, '--workers', '1', '--tasks', noTasks], 2, ['exports no tasks']);
  });

  it('worker durations and prefetch, from flags or environment', async () => {
    await expectRefusal(['worker', '--tasks', tasksModule, '--lease', 'bogus'], 2, ['--lease "bogus" is not a duration']);
    await expectRefusal(['worker', '--tasks', tasksModule, '--lease', '100ms'], 2, ['--lease "100ms" is too short', '200ms']);
    await expectRefusal(['worker', '--tasks', tasksModule, '--grace', 'soon'], 2, ['--grace "soon" is not a duration']);
    await expectRefusal(['worker', '--tasks', tasksModule, '--prefetch', 'bogus'], 2, ['--prefetch must be auto or an integer from 0 to 1000, got "bogus"']);
    await expectRefusal(['worker', '--tasks', tasksModule], 2, ['DBR_LEASE_TTL "forever" is not a duration'], { DBR_LEASE_TTL: 'forever' });
    await expectRefusal(['worker', '--tasks', tasksModule], 2, ['DBR_WORKER_PREFETCH must be auto'], { DBR_WORKER_PREFETCH: 'lots' });
  });

  it('DBR_LOG_LEVEL that is no level names the variable and the levels', async () => {
    await expectRefusal(['worker', '--tasks', tasksModule], 2, ['DBR_LOG_LEVEL "bogus" is not a log level', 'info, debug'], { DBR_LOG_LEVEL: 'bogus' });
    await expectRefusal(['run', workflowModule], 2, ['DBR_LOG_LEVEL "bogus"'], { DBR_LOG_LEVEL: 'bogus' });
  });

  it('worker --queues naming a queue no task uses', async () => {
    await expectRefusal(['worker', '--tasks', fixture('two-queue-tasks.ts'), '--queues', 'q2,nosuchq'], 2, ['uses queue nosuchq', 'default, q2']);
    await expectRefusal(['worker', '--tasks', tasksModule, '--queues', 'bad queue!'], 2, ['--queues: Queue name "bad queue!" is invalid']);
  });

  it('submit checks every option before it queues anything', async () => {
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--wait', 'bogus'], 2, ['--wait "bogus" is not a duration']);
    await expectRefusal(['submit', 'add', '--wait', '{"a":1,"b":2}'], 2, ['--wait "{"a":1,"b":2}" is not a duration', 'put --wait after the input']);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--delay', 'bogus'], 2, ['--delay "bogus" is not a duration']);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--id', 'bad id!'], 2, ['--id "bad id!" is invalid']);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--priority', 'high'], 2, ['--priority must be an integer from -1000000 to 1000000, got "high"']);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--priority', '1.5'], 2, ['--priority must be an integer', '"1.5"']);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--delay', '999999999999'], 2, ['--delay "999999999999" is more than a year']);
  });

  it('tasks commands check the queue and the id', async () => {
    await expectRefusal(['tasks', 'ls', '-Q', 'bad queue!'], 2, ['Queue name "bad queue!" is invalid']);
    await expectRefusal(['tasks', 'inspect', 'bad id!'], 2, ['Task id "bad id!" is invalid']);
    await expectRefusal(['tasks', 'cancel', 'x', '-Q', 'bad queue!'], 2, ['Queue name "bad queue!" is invalid']);
  });

  it('dashboard options, with the input as typed', async () => {
    await expectRefusal(['dashboard', '--port', 'abc'], 2, ['--port must be an integer from 0 to 65535', '"abc"'], { DBR_DASHBOARD_TOKEN: '' });
    await expectRefusal(['dashboard', '--port', '0', '--refresh', 'bogus'], 2, ['--refresh "bogus"'], { DBR_DASHBOARD_TOKEN: '' });
    await expectRefusal(['dashboard', '--port', '0'], 2, ['DBR_DASHBOARD_TOKEN is shorter than 8 characters'], { DBR_DASHBOARD_TOKEN: 'abc' });
    await expectRefusal(['dashboard', '--port', '0', '--token', 'abc'], 2, ['--token is shorter than 8 characters'], { DBR_DASHBOARD_TOKEN: '' });
  });

  it('demo --grid out of range and an --out that cannot be written are refused before the ensemble runs', async () => {
    await expectRefusal(['demo', '--grid', 'abc'], 2, ['--grid must be an integer from 8 to 512, got "abc"']);
    await expectRefusal(['demo', '--grid', '0'], 2, ['--grid must be an integer from 8 to 512, got "0"']);
    const dir = mkdtempSync(join(tmpdir(), 'tsdbr-demo-out-'));
    await expectRefusal(['demo', '--out', join(dir, 'nosuch', 'x.svg')], 2, ['no such directory']);
    await expectRefusal(['demo', '--out', dir], 2, ['is a directory']);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('commands that need workers in other processes refuse the embedded backend (exit 5)', () => {
  const embedded = { DBR_SERVER: '' };

  it('submit, with or without --wait, queues nothing that would be thrown away', async () => {
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}'], 5, ['submit needs a shared backend: set DBR_SERVER (see dbr redis up)'], embedded);
    await expectRefusal(['submit', 'add', '{"a":1,"b":2}', '--wait'], 5, ['submit needs a shared backend'], embedded);
  });

  it('tasks ls, inspect, retry and cancel', async () => {
    await expectRefusal(['tasks', 'ls'], 5, ['tasks ls needs a shared backend'], embedded);
    await expectRefusal(['tasks', 'inspect', 'x'], 5, ['tasks inspect needs a shared backend'], embedded);
    await expectRefusal(['tasks', 'retry', 'x'], 5, ['tasks retry needs a shared backend'], embedded);
    await expectRefusal(['tasks', 'cancel', 'x'], 5, ['tasks cancel needs a shared backend'], embedded);
  });
});

describe('dbr worker --queues', () => {
  it.each([1, 2])('serves exactly the queues named, not those plus the queues of every task (%i procs)', async (procs) => {
    const namespace = `wt-queues-${process.pid}-${Date.now().toString(36)}`;
    const worker = spawnDbr(['worker', '--tasks', fixture('two-queue-tasks.ts'), '--queues', 'q2', '--procs', String(procs), '-n', namespace, '--grace', '0'], { DBR_LOG_LEVEL: 'info' });
    try {
      const started = await new Promise<{ queues: string[] }[]>((resolve, reject) => {
        const timer = setInterval(() => {
          const lines = worker.stdout().split('\n').filter((l) => l.includes('"worker started"'));
          if (lines.length === procs) {
            clearInterval(timer);
            resolve(lines.map((line) => JSON.parse(line) as { queues: string[] }));
          }
        }, 50);
        void worker.exited.then((code) => reject(new Error(`dbr worker exited (${code}): ${worker.stderr()}`)));
      });
      for (const member of started) expect(member.queues).toEqual(['q2']);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
      await dbr(['ns', 'delete', namespace]).catch(() => undefined);
    }
  });
});
