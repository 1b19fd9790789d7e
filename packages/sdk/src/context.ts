/**
 * The request an event belongs to, carried through `AsyncLocalStorage`: an event recorded by a helper anywhere
 * below a request handler (a service, a repository, a callback) gets the request's client address, route,
 * principal, trace ids and request id without the app passing them along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { processWide } from './process-wide.js';
import type { RequestState } from './request.js';

// One store for every copy of the SDK in the process: a request one build's adapter started is the current request
// for the other build's helpers too.
const storage = processWide('requestContext.v1', () => new AsyncLocalStorage<RequestState>());

/** The request being handled in the current async context, if any. */
export function currentRequest(): RequestState | undefined {
  return storage.getStore();
}

/** Run `fn` (the rest of the request's handling) with `state` as the current request. */
export function runWithRequest<T>(state: RequestState, fn: () => T): T {
  return storage.run(state, fn);
}

// Errors that left a request's handling uncaught, with that request: one thrown synchronously out of a node:http
// handler unwinds `storage.run()` before Node.js reports it, so a crash it causes finds no current request.
const thrownFrom = processWide('thrownFrom.v1', () => new WeakMap<object, RequestState>());

/** Note that `error` is leaving the handling of `state` (a primitive thrown cannot be told apart and is not noted). */
export function noteThrownFrom(error: unknown, state: RequestState): void {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function') thrownFrom.set(error, state);
}

/** The request an error was thrown out of, as `noteThrownFrom` noted it. */
export function requestThrownFrom(error: unknown): RequestState | undefined {
  return (typeof error === 'object' && error !== null) || typeof error === 'function'
    ? thrownFrom.get(error)
    : undefined;
}
