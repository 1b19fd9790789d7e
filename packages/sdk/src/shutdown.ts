/**
 * Flush on the way out: one process-wide `beforeExit`, `SIGTERM`, `exit` and `uncaughtExceptionMonitor` listener for
 * all clients.
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
 *
 * `signal-exit` (a dependency of many command-line and file tools) listens too, and ends the process itself only when
 * its listeners are the only ones: counted as the host's, the two would wait for each other and the process would
 * never end. Its listeners are left out of the count, and the SDK sends the signal again once it is done.
 *
 * A process that ends without closing its clients (`process.exit()`, a crash) gets no more asynchronous work: at
 * `exit`, what the clients still hold is sent from a worker thread while the exiting thread waits (exit-delivery.ts).
 * A crash is recorded first, as `sys_crash`, when nothing in the process will handle the error: the monitor event
 * only watches, and the process ends as it would have.
 */

import { deliverAtExit, type ExitJob } from './exit-delivery.js';
import { processWide } from './process-wide.js';

export interface Closable {
  flush(): Promise<void>;
  close(): Promise<void>;
  /** The process is exiting without `close()`: what is left to send (synchronous; exit-delivery.ts sends it). */
  exitJob?(): ExitJob | undefined;
  /** The process is about to end because of `error`, which nothing handled (`origin` as Node.js names it). */
  recordCrash?(error: unknown, origin: string): void;
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

/**
 * `SIGTERM` listeners that are not signal-exit's (v4 keeps its count on `globalThis`, v3 on `process`; each loaded
 * copy adds one listener per signal): the listeners of a host that handles the signal itself, and the SDK's.
 */
function hostListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')]?.count;
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  const signalExit = (typeof v4 === 'number' ? v4 : 0) + (typeof v3 === 'number' ? v3 : 0);
  return process.listenerCount('SIGTERM') - signalExit;
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
    if (hostListeners() > 1) {
      void Promise.allSettled([...clients].map((c) => c.flush()));
      return;
    }
    if (terminating) return;
    terminating = true;
    void closeAll().finally(() => {
      uninstall();
      terminating = false;
      // Nobody else's listener: the default action (or signal-exit, which then cleans up and ends the process).
      if (hostListeners() <= 0) process.kill(process.pid, 'SIGTERM');
    });
  };

  const onCrash = (error: unknown, origin: string): void => {
    // A listener of the app's (or a capture callback) handles the error and the process lives on: no crash.
    if (process.listenerCount('uncaughtException') > 0 || process.hasUncaughtExceptionCaptureCallback()) return;
    for (const client of clients) {
      try {
        client.recordCrash?.(error, origin);
      } catch {
        // the process is ending with the app's error, not one of the SDK's
      }
    }
  };

  const onExit = (): void => {
    const jobs: ExitJob[] = [];
    for (const client of clients) {
      try {
        const job = client.exitJob?.();
        if (job !== undefined) jobs.push(job);
      } catch {
        // nothing of this client's to send
      }
    }
    try {
      deliverAtExit(jobs);
    } catch {
      // the process ends as it would have
    }
  };

  const uninstall = (): void => {
    if (!installed) return;
    process.removeListener('beforeExit', onBeforeExit);
    process.removeListener('SIGTERM', onSigterm);
    process.removeListener('exit', onExit);
    process.removeListener('uncaughtExceptionMonitor', onCrash);
    installed = false;
  };

  return {
    register(client) {
      clients.add(client);
      if (installed) return;
      process.on('beforeExit', onBeforeExit);
      process.prependListener('SIGTERM', onSigterm);
      process.on('exit', onExit);
      process.on('uncaughtExceptionMonitor', onCrash);
      installed = true;
    },
    unregister(client) {
      clients.delete(client);
      if (clients.size === 0 && !terminating) uninstall();
    },
  };
}
