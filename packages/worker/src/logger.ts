/**
 * Logging: pino JSON lines; pretty (pino-pretty, in-thread) only when stdout is a terminal.
 * @module
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

/** Options of createLogger. */
export interface LoggerOptions {
  /** Minimum level (default: DBR_LOG_LEVEL, else 'info'). */
  level?: LevelWithSilent;
  /** Pretty output; default: when stdout is a terminal. */
  pretty?: boolean;
  /** Bound fields on every line. */
  base?: Record<string, unknown>;
}

/** Creates the root logger of a worker, client or CLI command. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.DBR_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const opts = { level, base: options.base ?? { pid: process.pid } };
  if (usePretty) return pino(opts, pretty({ colorize: true, sync: true, ignore: 'pid,hostname' }));
  return pino(opts);
}
