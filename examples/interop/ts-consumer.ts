/**
 * The TypeScript side of the interop example: it creates a namespace, starts the C producer, takes every
 * "sample:*" tuple by glob template as it arrives, and answers on "ack".
 *
 *   DBR_SERVER=sock://127.0.0.1:6379 DBR_AUTHFILE=... tsx ts-consumer.ts PATH/TO/c-producer COUNT
 */
import { spawn } from 'node:child_process';
import { Broker } from '@tsdbr/core';

const [producer, countArg] = process.argv.slice(2);
if (!producer || !countArg) {
  console.error('usage: tsx ts-consumer.ts PATH/TO/c-producer COUNT');
  process.exit(2);
}
const count = Number(countArg);
const broker = new Broker();
const name = `interop-${process.pid}`;
const ns = await broker.create(name);
const child = spawn(producer, [name, String(count)], { stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));

const received = new Set<string>();
for (let i = 0; i < count; i++) received.add((await ns.get({ template: 'sample:*' }, { timeout: '30s' })).toString());
await ns.get('done', { timeout: '30s' });
await ns.put('ack', `received ${received.size} distinct values`);
const code = await exited;
console.log(`ts-consumer: ${received.size}/${count} values from C, producer exit ${code}`);
await ns.close();
await broker.delete(name);
process.exit(code === 0 && received.size === count ? 0 : 1);
