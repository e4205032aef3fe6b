/**
 * Property tests (fast-check) against a reference model (src/model.ts: a multiset of FIFOs), run
 * differentially: every generated command sequence runs on mem, on a single Redis and on a 3-master Redis
 * Cluster, each in a client process of its own, and each backend must agree with the model and, where the
 * model's state was the same, with the other backends.
 *
 * Covered: FIFO per name; read never consumes (index included); get consumes exactly once, also with
 * concurrent consumers in one process and across processes; Redis glob templates (* ? [abc] [^a] [a-z] \)
 * for get/read/move/remove/list/keys, where any matching name's oldest value is accepted; move and remove
 * of names and templates, across and within namespaces; moveValue; putIfAbsent; putMany; peek; count; has;
 * query; a waiting get woken by a later matching put (and not by another); a get aborted while a put
 * races it either takes the value or withdraws without consuming anything.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientProcess, startClient } from '../src/client-process.js';
import { commandSequences } from '../src/command-arbitraries.js';
import { byMode } from '../src/mode.js';
import { type Command, Model, type Outcome } from '../src/model.js';
import { recordFigures } from '../src/results.js';
import { type Servers, startServers, stopAllServers } from '../src/servers.js';

const RUNS = Number(process.env.TSDBR_PROPERTY_RUNS) || byMode({ quick: 100, full: 300, soak: 3000 });
const MAX_COMMANDS = 30;
const BACKENDS = ['mem', 'redis', 'cluster'] as const;
type Backend = (typeof BACKENDS)[number];

let redis: Servers;
let cluster: Servers;
const runners = new Map<Backend, ClientProcess>();

beforeAll(async () => {
  redis = await startServers();
  cluster = await startServers({ clusterMasters: 3 });
  runners.set('mem', startClient('command-runner', undefined));
  runners.set('redis', startClient('command-runner', redis));
  runners.set('cluster', startClient('command-runner', cluster));
});

afterAll(async () => {
  await Promise.all([...runners.values()].map((r) => r.kill()));
  await stopAllServers();
});

function describeCommand(c: Command): string {
  return JSON.stringify(c, (k, v: unknown) => (typeof v === 'string' && v.length > 64 ? `<${v.length} chars>` : v));
}

/** Runs one sequence everywhere and returns the first disagreement, or undefined. */
async function check(commands: Command[]): Promise<string | undefined> {
  const tag = randomBytes(4).toString('hex');
  const namespaces = [`pt-${tag}-a`, `pt-${tag}-b`];
  const results = await Promise.all(
    BACKENDS.map(async (b) => {
      const r = await (runners.get(b) as ClientProcess).request<{ type: string; outcomes?: Outcome[]; error?: unknown }>({ type: 'run', namespaces, commands }, 120_000);
      if (!r.outcomes) throw new Error(`${b}: the runner failed: ${JSON.stringify(r.error)}`);
      return r.outcomes;
    }),
  );
  const models = BACKENDS.map(() => new Model(2));
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i] as Command;
    const states = models.map((m) => m.snapshot());
    for (let b = 0; b < BACKENDS.length; b++) {
      const got = (results[b] as Outcome[])[i] as Outcome;
      const wanted = (models[b] as Model).apply(c, got);
      if (wanted !== undefined) {
        return `${BACKENDS[b]} disagrees with the model at command #${i} ${describeCommand(c)}:\n  got      ${JSON.stringify(got)}\n  expected ${wanted}\n  state before: ${states[b]}\n  sequence: ${commands.map(describeCommand).join('\n            ')}`;
      }
    }
    // the model admits several outcomes only for templates and for the abort race; otherwise equal states
    // give equal outcomes
    const deterministic = c.op !== 'abortRace' && !('sel' in c && 'template' in c.sel && (c.op === 'get' || c.op === 'read' || c.op === 'getWait'));
    if (deterministic && states.every((s) => s === states[0])) {
      const outs = results.map((r) => JSON.stringify(r[i]));
      if (outs.some((o) => o !== outs[0])) return `backends disagree at command #${i} ${describeCommand(c)}: ${BACKENDS.map((b, j) => `${b}=${outs[j]}`).join(' ')}`;
    }
  }
  return undefined;
}

describe('mem, Redis and Redis Cluster agree with the reference model', () => {
  it(`${RUNS} generated sequences of up to ${MAX_COMMANDS} commands`, async () => {
    const t0 = Date.now();
    let commandsRun = 0;
    await fc.assert(
      fc.asyncProperty(commandSequences(MAX_COMMANDS), async (commands) => {
        commandsRun += commands.length;
        const problem = await check(commands);
        if (problem) throw new Error(problem);
      }),
      { numRuns: RUNS, endOnFailure: false, interruptAfterTimeLimit: 15 * 60_000 },
    );
    recordFigures('property-model-differential', { sequences: RUNS, commandsPerBackend: commandsRun, backends: BACKENDS, seconds: (Date.now() - t0) / 1000 });
  });

  for (const backend of ['redis', 'cluster'] as const) {
    it(`get consumes exactly once across concurrent consumers in 3 processes (${backend})`, async () => {
      const servers = backend === 'redis' ? redis : cluster;
      const extra = [startClient('command-runner', servers), startClient('command-runner', servers)];
      const namespace = `once-${randomBytes(4).toString('hex')}`;
      const names = ['w:1', 'w:2', 'w:3', 'v:1'];
      const count = byMode({ quick: 3000, full: 10_000, soak: 100_000 });
      try {
        const main = runners.get(backend) as ClientProcess;
        const filled = await main.request<{ type: string; values: string[] }>({ type: 'fill', namespace, names, count });
        // two processes take by template, one by name: the template and name consumers compete, all at once
        await Promise.all(extra.map((e) => e.request({ type: 'ping' })));
        const startAt = Date.now() + 300;
        const results = await Promise.all([
          main.request<{ type: string; values: string[] }>({ type: 'drain', namespace, sel: { template: 'w:*' }, consumers: 8, startAt }, 120_000),
          extra[0]!.request<{ type: string; values: string[] }>({ type: 'drain', namespace, sel: { template: '[wv]:?' }, consumers: 8, startAt }, 120_000),
          extra[1]!.request<{ type: string; values: string[] }>({ type: 'drain', namespace, sel: { name: 'w:2' }, consumers: 8, startAt }, 120_000),
        ]);
        const rest = await main.request<{ type: string; values: string[] }>({ type: 'drain', namespace, sel: { template: '*' }, consumers: 1 });
        const all = [...results.flatMap((r) => r.values), ...rest.values];
        const perProcess = results.map((r) => r.values.length);
        recordFigures(`get-exactly-once-3-processes-${backend}`, { values: count, perProcess, leftOver: rest.values.length, duplicates: all.length - new Set(all).size });
        expect(all.length).toBe(count);
        expect(new Set(all).size).toBe(count);
        expect([...all].sort()).toEqual([...filled.values].sort());
      } finally {
        await (runners.get(backend) as ClientProcess).request({ type: 'drop', namespace });
        await Promise.all(extra.map((e) => e.kill()));
      }
    });
  }
});
