/**
 * Runs one target on one backend and prints its outcome as JSON on the last line of stdout.
 *   tsx src/child.ts TARGET BACKEND SECONDS
 */
import { benchServer, stopBenchServers } from './servers.js';
import type { Backend } from './target.js';
import { TARGETS } from './targets/index.js';

const [id, backend, seconds] = process.argv.slice(2) as [string, Backend, string];
const target = TARGETS.find((t) => t.id === id);
if (!target) throw new Error(`unknown target ${id}`);
let server = 'mem://';
delete process.env.DBR_SERVER;
delete process.env.DBR_AUTHFILE;
try {
  if (backend !== 'mem') {
    const s = await benchServer(backend);
    server = s.server;
    process.env.DBR_SERVER = s.server;
    process.env.DBR_AUTHFILE = s.authFile;
  }
  const outcome = await target.run({ seconds: Number(seconds), quick: Number(seconds) < 2, backend, server });
  process.stdout.write(`\n${JSON.stringify(outcome)}\n`);
} finally {
  await stopBenchServers();
}
process.exit(0);
