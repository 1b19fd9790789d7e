/**
 * Flush on the way out: one process-wide `beforeExit` and `SIGTERM` listener for all clients.
 *
 * `SIGTERM` needs care: a process with no `SIGTERM` listener is terminated by the default action, and adding a
 * listener removes that default. So the listener never calls `process.exit()` itself, and what it does depends on
 * whether the host listens too:
 * - No other listener (the host relied on the default action): close every client (bounded by
 *   `closeTimeoutMillis`), then remove the listener and send `SIGTERM` to the process again, so it ends exactly as
 *   it would have without the SDK, only after the flush.
 * - The host listens (a graceful shutdown: stop accepting, finish the requests in flight, then exit): send what is
 *   queued, and stay open, so the requests the host still finishes are recorded too. The host decides when the
 *   process exits; `beforeExit`, or a `close()` in its handler, sends the rest.
 *
 * The listener is put first (`prependListener`), so that when the signal comes it sees every other listener, a
 * `once` listener included: one that ran before it would already have removed itself.
 */

import { processWide } from './process-wide.js';

export interface Closable {
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One registry for every copy of the SDK in the process (see `processWide`), so one pair of listeners: with one per
 * copy, each would count the other as the host's listener, and neither would end the process on `SIGTERM`.
 */
interface Registry {
  register(client: Closable): void;
  unregister(client: Closable): void;
}

const registry = processWide('shutdown.v1', createRegistry);

export function registerForShutdown(client: Closable): void {
  registry.register(client);
}

export function unregisterForShutdown(client: Closable): void {
  registry.unregister(client);
}

function createRegistry(): Registry {
  const clients = new Set<Closable>();
  let installed = false;
  let terminating = false;

  const closeAll = (): Promise<unknown> => Promise.allSettled([...clients].map((c) => c.close()));

  const onBeforeExit = (): void => {
    if (clients.size > 0) void closeAll();
  };

  const onSigterm = (): void => {
    if (process.listenerCount('SIGTERM') > 1) {
      void Promise.allSettled([...clients].map((c) => c.flush()));
      return;
    }
    if (terminating) return;
    terminating = true;
    void closeAll().finally(() => {
      uninstall();
      terminating = false;
      if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
    });
  };

  const uninstall = (): void => {
    if (!installed) return;
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('SIGTERM', onSigterm);
    installed = false;
  };

  return {
    register(client) {
      clients.add(client);
      if (installed) return;
      process.on('beforeExit', onBeforeExit);
      process.prependListener('SIGTERM', onSigterm);
      installed = true;
    },
    unregister(client) {
      clients.delete(client);
      if (clients.size === 0 && !terminating) uninstall();
    },
  };
}
