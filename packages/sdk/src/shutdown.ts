/**
 * Flush on the way out: one process-wide `beforeExit` and `SIGTERM` listener for all clients.
 *
 * `SIGTERM` needs care: a process with no `SIGTERM` listener is terminated by the default action, and adding a
 * listener removes that default. So the listener never calls `process.exit()` itself; it flushes (bounded by
 * `closeTimeoutMillis`) and then, if no other `SIGTERM` listener exists (the host relied on the default action),
 * removes itself and sends `SIGTERM` to the process again, so the process ends exactly as it would have without the
 * SDK, only after the flush. A host with its own `SIGTERM` listener keeps full control of when it exits.
 */

export interface Closable {
  close(): Promise<void>;
}

const clients = new Set<Closable>();
let installed = false;
let terminating = false;

function closeAll(): Promise<unknown> {
  return Promise.allSettled([...clients].map((c) => c.close()));
}

function onBeforeExit(): void {
  if (clients.size > 0) void closeAll();
}

function onSigterm(): void {
  if (terminating) return;
  terminating = true;
  const othersListening = process.listenerCount('SIGTERM') > 1;
  void closeAll().finally(() => {
    uninstall();
    terminating = false;
    if (!othersListening && process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
  });
}

function uninstall(): void {
  if (!installed) return;
  process.removeListener('beforeExit', onBeforeExit);
  process.removeListener('SIGTERM', onSigterm);
  installed = false;
}

export function registerForShutdown(client: Closable): void {
  clients.add(client);
  if (installed) return;
  process.on('beforeExit', onBeforeExit);
  process.on('SIGTERM', onSigterm);
  installed = true;
}

export function unregisterForShutdown(client: Closable): void {
  clients.delete(client);
  if (clients.size === 0 && !terminating) uninstall();
}
