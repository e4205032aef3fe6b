/**
 * A client fixture (clients/*.ts) run in a process of its own: libdbr serves one backend per process, and a
 * separate process is what the scenarios measure (CPU from /proc, stderr lines) and signal (SIGTERM).
 * Messages go both ways over Node's IPC channel; stdout and stderr are captured with arrival times.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Servers } from './servers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** A message from a client fixture: `type` says what it is. */
export interface ClientMessage {
  type: string;
  [key: string]: unknown;
}

/** One captured chunk of output. */
export interface OutputLine {
  at: number;
  line: string;
}

export class ClientProcess {
  readonly proc: ChildProcess;
  readonly stdout: OutputLine[] = [];
  readonly stderr: OutputLine[] = [];
  /** Resolves with the exit code (or the signal's name) and when it happened. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private readonly inbox: ClientMessage[] = [];
  private readonly waiters: { type: string; resolve: (m: ClientMessage) => void }[] = [];

  constructor(fixture: string, env: NodeJS.ProcessEnv) {
    const script = fileURLToPath(new URL(`../clients/${fixture}.ts`, import.meta.url));
    this.proc = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: packageDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const capture = (into: OutputLine[]) => {
      let partial = '';
      return (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        const at = Date.now();
        for (const line of parts) into.push({ at, line });
      };
    };
    this.proc.stdout?.on('data', capture(this.stdout));
    this.proc.stderr?.on('data', capture(this.stderr));
    this.proc.on('message', (m: ClientMessage) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
      else this.inbox.push(m);
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, signal: sig, at: Date.now() })));
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  /** Sends a message to the fixture. */
  send(message: ClientMessage): void {
    this.proc.send(message);
  }

  /** The next message of a type (or a rejection naming the fixture's stderr if it exits or times out first). */
  next<T extends { type: string } = ClientMessage>(type: string, timeoutMs = 60_000): Promise<T> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = { type, resolve: resolve as (m: ClientMessage) => void };
      const fail = (why: string) => {
        const j = this.waiters.indexOf(waiter);
        if (j >= 0) this.waiters.splice(j, 1);
        reject(new Error(`client fixture: ${why} while waiting for "${type}"; stderr:\n${this.stderrText().slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`no message within ${timeoutMs} ms`), timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m as T);
      };
      this.waiters.push(waiter);
      void this.exited.then((e) => {
        clearTimeout(timer);
        if (this.waiters.includes(waiter)) fail(`exited (${e.code ?? e.signal})`);
      });
    });
  }

  /** Sends a request and waits for the reply of type `${type}:done`. */
  async request<T extends { type: string } = ClientMessage>(message: ClientMessage, timeoutMs = 60_000): Promise<T> {
    const reply = this.next<T>(`${message.type}:done`, timeoutMs);
    this.send(message);
    return reply;
  }

  stderrText(): string {
    return this.stderr.map((l) => l.line).join('\n');
  }

  stdoutText(): string {
    return this.stdout.map((l) => l.line).join('\n');
  }

  /** Ends the process if it is still running (SIGKILL) and waits for it. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** The environment of a client on the given servers (mem when undefined), with extra variables. */
export function clientEnv(servers: Servers | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.DBR_SERVER;
  delete env.DBR_AUTHFILE;
  delete env.NODE_OPTIONS; // vitest's own loader options must not leak into the fixture
  if (servers) {
    env.DBR_SERVER = servers.server;
    env.DBR_AUTHFILE = servers.authFile;
  }
  return { ...env, ...extra };
}

/** Starts a client fixture on the given servers. */
export function startClient(fixture: string, servers: Servers | undefined, extra: Record<string, string> = {}): ClientProcess {
  return new ClientProcess(fixture, clientEnv(servers, extra));
}
