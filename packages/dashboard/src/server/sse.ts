/**
 * Server-Sent Events: `GET /api/events` streams the views a page subscribed to. One refresh loop computes
 * each view once per interval for all clients, and a client gets an event only when its view changed.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventName } from '../api-types.js';
import { SECURITY_HEADERS } from './security.js';
import { paced } from './state.js';

/** A view a client can subscribe to: an event name plus its parameters. */
export interface Topic {
  event: EventName;
  /** Parameters (namespace name, queue, workflow id); part of the cache key. */
  args: string[];
}

/** Computes the data of a topic (undefined: nothing to send, e.g. a namespace that vanished). */
export type TopicProducer = (topic: Topic) => Promise<unknown>;

interface Client {
  id: number;
  reply: FastifyReply;
  topics: Topic[];
  last: Map<string, string>;
}

const HEARTBEAT_MS = 15_000;

/** The event hub of one dashboard. */
export class EventHub {
  private readonly clients = new Map<number, Client>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;

  constructor(
    private readonly produce: TopicProducer,
    private readonly refreshMs: number,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  /** Connected clients. */
  get size(): number {
    return this.clients.size;
  }

  /** Takes over the reply and streams the topics until the client goes away. */
  subscribe(req: FastifyRequest, reply: FastifyReply, topics: Topic[]): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const client: Client = { id: this.nextId++, reply, topics, last: new Map() };
    this.clients.set(client.id, client);
    req.raw.on('close', () => this.clients.delete(client.id));
    this.start();
    void this.push([client]);
  }

  /** Ends every stream and stops refreshing. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    for (const c of this.clients.values()) c.reply.raw.end();
    this.clients.clear();
  }

  /** Refreshes now (after a write action, so pages see its effect at once). */
  poke(): void {
    if (this.clients.size > 0) void this.push([...this.clients.values()]);
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.heartbeat = setInterval(() => {
      for (const c of this.clients.values()) c.reply.raw.write(': ping\n\n');
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
    const loop = async () => {
      if (this.closed) return;
      if (this.clients.size === 0) {
        this.running = false;
        clearInterval(this.heartbeat);
        return;
      }
      const t0 = performance.now();
      await this.push([...this.clients.values()]);
      this.timer = setTimeout(() => void loop(), paced(this.refreshMs, performance.now() - t0));
      this.timer.unref();
    };
    this.timer = setTimeout(() => void loop(), this.refreshMs);
    this.timer.unref();
  }

  private async push(clients: Client[]): Promise<void> {
    const cache = new Map<string, Promise<string | undefined>>();
    const compute = (t: Topic): Promise<string | undefined> => {
      const key = keyOf(t);
      let p = cache.get(key);
      if (p === undefined) {
        p = this.produce(t).then(
          (data) => (data === undefined ? undefined : JSON.stringify(data)),
          (err: unknown) => {
            this.onError(err);
            return undefined;
          },
        );
        cache.set(key, p);
      }
      return p;
    };
    await Promise.all(
      clients.map(async (c) => {
        for (const t of c.topics) {
          const data = await compute(t);
          const key = keyOf(t);
          if (data === undefined || c.last.get(key) === data || !this.clients.has(c.id)) continue;
          c.last.set(key, data);
          c.reply.raw.write(`event: ${t.event}\ndata: ${data}\n\n`);
        }
      }),
    );
  }
}

function keyOf(t: Topic): string {
  return `${t.event}\u0000${t.args.join('\u0000')}`;
}
