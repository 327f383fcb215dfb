/**
 * Process lifecycle shared by every command: the first SIGTERM/SIGINT stops gracefully, a second
 * one closes at once; SIGHUP reloads.
 * @module
 */
import type { Logger } from '@cloudproxy/turn/node';

/** What a command does on signals. */
export interface LifecycleHandlers {
  /** Graceful stop (drain); the process exits 0 when it resolves. */
  readonly stop: (signal: string) => Promise<void>;
  /** Immediate close after a second signal; the process exits 0 when it resolves. */
  readonly force: () => Promise<void>;
  /** SIGHUP: reload configuration, credentials and certificates. */
  readonly reload?: (() => void) | undefined;
  /** Last words before exit (flush logs, remove the pidfile). */
  readonly beforeExit?: (() => void) | undefined;
}

/** Installs the signal handlers. */
export function handleSignals(log: Logger, handlers: LifecycleHandlers): void {
  const exit = (): void => {
    handlers.beforeExit?.();
    process.exit(0);
  };
  if (handlers.reload) {
    const reload = handlers.reload;
    process.on('SIGHUP', () => {
      try {
        reload();
      } catch (error) {
        log.error(
          { event: 'reload.failed', error: String(error) },
          'reload failed; keeping the running configuration',
        );
      }
    });
  }
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) {
      log.warn({ event: 'shutdown.forced', signal }, 'second signal: closing now');
      void handlers.force().then(exit);
      return;
    }
    stopping = true;
    log.info({ event: 'shutdown', signal }, 'shutting down');
    void handlers.stop(signal).then(exit);
  };
  process.on('SIGTERM', () => {
    onSignal('SIGTERM');
  });
  process.on('SIGINT', () => {
    onSignal('SIGINT');
  });
}
