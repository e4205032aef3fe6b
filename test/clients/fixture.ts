/**
 * What every client fixture shares: messages to and from the test process (Node IPC), and error codes.
 */
import { DbrError } from '@tsdbr/core';

export interface Message {
  type: string;
  [key: string]: unknown;
}

/** Sends a message to the test process. */
export function send(message: Message): void {
  process.send?.(message);
}

/** Calls `handler` for each message of a type; its result is sent back as `${type}:done`. */
export function on<T extends { type: string }>(type: string, handler: (m: T) => Promise<Record<string, unknown>> | Record<string, unknown>): void {
  process.on('message', (m: Message) => {
    if (m.type !== type) return;
    void (async () => {
      try {
        send({ type: `${type}:done`, ...(await handler(m as T)) });
      } catch (err) {
        send({ type: `${type}:done`, error: describe(err) });
      }
    })();
  });
}

/** The DbrError code of an error, or its name and message for anything else. */
export function codeOf(err: unknown): string {
  if (err instanceof DbrError) return err.code;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export function describe(err: unknown): { code: string; message: string } {
  return { code: codeOf(err), message: err instanceof Error ? err.message : String(err) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The test process went away: so does the fixture. */
process.on('disconnect', () => process.exit(0));

/** `ping` answers once the fixture is up (tsx start-up takes a while). */
on('ping', () => ({}));
