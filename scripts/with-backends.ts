/**
 * Runs a command once per backend, with the environment that selects it:
 *
 *   tsx scripts/with-backends.ts mem,redis,cluster -- vitest run
 *
 * mem: DBR_SERVER unset. redis: a fresh password-protected redis-server. cluster: a fresh 3-master Redis
 * Cluster. Servers live on free loopback ports in a temporary directory and are stopped afterwards.
 * TSDBR_TEST_BACKENDS=mem (for example) narrows the list for a quick local run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRedis, type LocalRedis } from '../packages/core/dist/local-redis.js';

const sep = process.argv.indexOf('--');
if (sep < 3 || sep === process.argv.length - 1) {
  console.error('usage: tsx scripts/with-backends.ts mem,redis,cluster -- COMMAND [ARGS...]');
  process.exit(2);
}
const requested = (process.argv[2] as string).split(',');
const allowed = process.env.TSDBR_TEST_BACKENDS?.split(',');
const backends = allowed ? requested.filter((b) => allowed.includes(b)) : requested;
const command = process.argv.slice(sep + 1);

function run(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command[0] as string, command.slice(1), { stdio: 'inherit', env, shell: false });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

let failed = 0;
for (const backend of backends) {
  let servers: LocalRedis | undefined;
  const dir = mkdtempSync(join(tmpdir(), `tsdbr-${backend}-`));
  const env: NodeJS.ProcessEnv = { ...process.env, TSDBR_TEST_BACKEND: backend };
  delete env.DBR_SERVER;
  delete env.DBR_AUTHFILE;
  try {
    if (backend === 'redis' || backend === 'cluster') {
      servers = await startLocalRedis({ dir, clusterMasters: backend === 'cluster' ? 3 : 0 });
      env.DBR_SERVER = servers.server;
      env.DBR_AUTHFILE = servers.authFile;
    } else if (backend !== 'mem') throw new Error(`unknown backend ${backend}: use mem, redis or cluster`);
    console.log(`\n=== backend: ${backend}${servers ? ` (${servers.nodes.map((n) => n.port).join(', ')})` : ''}`);
    const code = await run(env);
    if (code !== 0) {
      failed++;
      console.error(`=== backend ${backend}: FAILED (exit ${code})`);
    }
  } finally {
    await servers?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(failed > 0 ? 1 : 0);
