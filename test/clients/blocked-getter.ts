/**
 * A client that blocks in gets and leaves cleanly on SIGTERM: its handler closes the broker and exits 0.
 * It also probes single calls on request, timing them, for the SIGSTOPped-server scenario.
 *
 *   block { namespace, names, count, timeout }  ->  block:done        (the gets stay pending)
 *   probe { namespace, op, name, timeoutMs }    ->  probe:done { code, ms, value }
 *   SIGTERM                                     ->  stderr "closing", exit 0
 */
import { Broker, type Duration, type Namespace } from '@tsdbr/core';
import { codeOf, on } from './fixture.js';

const broker = new Broker();
const open = new Map<string, Namespace>();
let blockedOutcomes: string[] = [];

async function ns(name: string): Promise<Namespace> {
  let n = open.get(name);
  if (!n) {
    n = await broker.open(name);
    open.set(name, n);
  }
  return n;
}

process.on('SIGTERM', () => {
  process.stderr.write('closing\n');
  const t0 = Date.now();
  void broker
    .close()
    .catch((err) => process.stderr.write(`close failed: ${codeOf(err)}\n`))
    .finally(() => {
      process.stderr.write(`closed in ${Date.now() - t0} ms\n`);
      process.exit(0);
    });
});

on<{ type: 'block'; namespace: string; names: string[]; count: number; timeout: Duration }>('block', async (m) => {
  const n = await ns(m.namespace);
  blockedOutcomes = [];
  for (let i = 0; i < m.count; i++) {
    n.get(m.names[i % m.names.length] as string, { timeout: m.timeout }).then(
      () => blockedOutcomes.push('ok'),
      (err) => blockedOutcomes.push(codeOf(err)),
    );
  }
  return {};
});

on<{ type: 'probe'; namespace: string; op: string; name: string; timeoutMs: number }>('probe', async (m) => {
  const n = await ns(m.namespace);
  const t0 = Date.now();
  try {
    let value: unknown;
    if (m.op === 'get') value = (await n.get(m.name, { timeout: m.timeoutMs })).toString();
    else if (m.op === 'read') value = (await n.read(m.name, { timeout: m.timeoutMs })).toString();
    else if (m.op === 'put') await n.put(m.name, 'probe');
    else if (m.op === 'has') value = await n.has(m.name);
    else if (m.op === 'count') value = await n.count(m.name);
    else throw new Error(`unknown op ${m.op}`);
    return { code: 'ok', ms: Date.now() - t0, value };
  } catch (err) {
    return { code: codeOf(err), ms: Date.now() - t0, message: err instanceof Error ? err.message : String(err) };
  }
});
