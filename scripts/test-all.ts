/**
 * `pnpm test`: builds, runs every package's tests one package at a time, and ends with a recap of the
 * failed tests (package, backend, test and first error line), so a long log's last lines say what broke.
 * Extra arguments go to `turbo run test`: `npx tsx scripts/test-all.ts --filter @tsdbr/worker`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const ansi = /\u001b\[[0-9;]*m/g;

interface Failure {
  where: string;
  test: string;
  error?: string;
}

function run(args: string[], onLine?: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('turbo', args, { stdio: ['inherit', onLine ? 'pipe' : 'inherit', 'inherit'] });
    if (onLine && child.stdout) {
      child.stdout.pipe(process.stdout);
      createInterface({ input: child.stdout }).on('line', onLine);
    }
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const backendOf = new Map<string, string>();
const failures: Failure[] = [];
let awaitingError: Failure | undefined;

function scan(raw: string): void {
  const line = raw.replace(ansi, '');
  const prefixed = /^(@[\w/-]+):test: ?(.*)$/.exec(line);
  if (!prefixed) return;
  const [, pkg = '', text = ''] = prefixed;
  const backend = /^=== backend: (\w+)/.exec(text);
  if (backend) {
    backendOf.set(pkg, backend[1] as string);
    return;
  }
  const failed = /^\s*FAIL\s+(.+)$/.exec(text);
  if (failed) {
    const on = backendOf.get(pkg);
    awaitingError = { where: on ? `${pkg} (${on})` : pkg, test: failed[1] as string };
    failures.push(awaitingError);
    return;
  }
  if (awaitingError && /\w*(Error|error):/.test(text)) {
    awaitingError.error = text.trim().slice(0, 300);
    awaitingError = undefined;
  }
}

const built = await run(['run', 'build']);
if (built !== 0) process.exit(built);
const code = await run(['run', 'test', '--concurrency=1', '--continue', ...process.argv.slice(2)], scan);
if (failures.length > 0) {
  console.log(`\n=== ${failures.length} failed test${failures.length === 1 ? '' : 's'}:`);
  for (const f of failures) console.log(`- ${f.where}: ${f.test}${f.error ? `\n    ${f.error}` : ''}`);
} else if (code !== 0) {
  console.log(`\n=== tests failed (exit ${code}) outside any test: see the package output above`);
}
process.exit(code);
