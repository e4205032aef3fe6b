/**
 * Signal handling of long-running commands: the first SIGTERM/SIGINT shuts down gracefully and exits 0; a
 * second one forces exit.
 * @module
 */
import type { Logger } from 'pino';

/** Installs the handlers; returns a function that removes them. */
export function onShutdownSignals(close: (signal: NodeJS.Signals) => Promise<void>, log: Logger, forceExitCode = 130): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(forceExitCode);
    }
    closing = true;
    log.info({ signal }, 'signal received: shutting down gracefully (send it again to force)');
    close(signal).then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
