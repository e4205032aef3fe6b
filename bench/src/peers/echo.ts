/**
 * The floor under any task round trip: gets each value put to the tuple "ping" and puts an answer back as
 * "pong" through @tsdbr/core, with no task machinery. The answer is the ping itself unless `answer` says
 * otherwise (latency-split answers with a timestamp).
 */
import { Broker } from '@tsdbr/core';

export class Echo {
  private readonly broker = new Broker();
  private readonly stopper = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly namespace: string,
    private readonly answer: (ping: Buffer) => Buffer = (ping) => ping,
  ) {}

  /** Answers until stop(). */
  start(): void {
    this.loop = (async () => {
      const ns = await this.broker.open(this.namespace);
      for (;;) {
        const ping = await ns.get('ping', { timeout: 'infinite', signal: this.stopper.signal }).catch(() => undefined);
        if (ping === undefined) return;
        await ns.put('pong', this.answer(ping));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
    await this.broker.close();
  }
}
