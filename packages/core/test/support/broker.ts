/**
 * Test helpers: a broker on the backend under test and unique namespace names.
 */
import { randomBytes } from 'node:crypto';
import { Broker, type Namespace } from '../../src/index.js';

/** A namespace name no other test uses. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The broker of this test process (DBR_SERVER selects the backend, as for users). */
export function testBroker(): Broker {
  return new Broker();
}

/** Creates a fresh namespace and deletes it after the callback. */
export async function withNamespace<T>(fn: (ns: Namespace, broker: Broker) => Promise<T>): Promise<T> {
  const broker = testBroker();
  const name = uniqueName();
  const ns = await broker.create(name);
  try {
    return await fn(ns, broker);
  } finally {
    await broker.close();
    await broker.delete(name).catch(() => undefined);
  }
}
