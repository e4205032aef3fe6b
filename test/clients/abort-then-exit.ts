/**
 * Aborts waiting gets that a put races, round after round, until an abort has rejected while its value is
 * still out of the list (libdbr gives it back asynchronously); then exits at once, as a SIGTERM handler that
 * aborts its gets and leaves would. Prints one JSON line: { name, rounds } naming the tuple of that round,
 * or { name: null } if no round got there.
 *
 *   env ABORT_NAMESPACE
 */
import { Broker } from '@tsdbr/core';

const broker = new Broker();
const ns = await broker.open(process.env.ABORT_NAMESPACE as string);
for (let i = 0; i < 500; i++) {
  const name = `n${i}`;
  const ac = new AbortController();
  const waiting = ns.get(name, { timeout: 'infinite', signal: ac.signal });
  await ns.put(name, 'v');
  ac.abort();
  try {
    await waiting;
    continue;
  } catch (err) {
    if (!(err instanceof Error) || err.name !== 'AbortError') throw err;
  }
  if ((await ns.count(name)) === 0) {
    process.stdout.write(`${JSON.stringify({ name, rounds: i + 1 })}\n`);
    process.exit(0);
  }
}
process.stdout.write(`${JSON.stringify({ name: null })}\n`);
process.exit(0);
