/**
 * Connects with whatever DBR_SERVER / DBR_AUTHFILE it was given, tries a put and a get, and prints the
 * outcome as one JSON line on stdout: { code, message }. The test searches everything this process printed
 * for the password.
 */
import { Broker } from '@tsdbr/core';
import { describe } from './fixture.js';

let outcome: { code: string; message: string };
try {
  const broker = new Broker();
  const ns = await broker.open(`auth-probe-${process.pid}`);
  await ns.put('k', 'v');
  await ns.get('k', { timeout: 1000 });
  await ns.get('missing', { timeout: 100 }).catch(() => undefined); // an error path, logged at debug level
  await broker.close();
  await broker.delete(`auth-probe-${process.pid}`);
  outcome = { code: 'ok', message: '' };
} catch (err) {
  outcome = describe(err);
}
process.stdout.write(`${JSON.stringify(outcome)}\n`);
process.exit(0);
