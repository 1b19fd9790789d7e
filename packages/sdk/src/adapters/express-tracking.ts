/**
 * Response tracking for Express, which cannot afford the generic kind (shared.ts).
 *
 * Express gives every request and response its app's prototype (`Object.setPrototypeOf`), and V8 then gives each of
 * those objects a hidden class of its own: every property access on them misses its inline cache. Measured on
 * Express 5 under Node.js 20: ~4 µs per property store or listener added, ~1.2 µs per read, against ~0.2–0.4 µs on
 * a plain `ServerResponse`. The generic tracking does three stores and adds two listeners per response (~30 µs on
 * Express). Here nothing is stored on the request or the response:
 *
 * - `write` and `end` are wrapped once, on the object just below `http.ServerResponse.prototype` in the response's
 *   prototype chain — Express's own response object, which every app's `app.response` (sub-apps' too) inherits
 *   from — and find the response's tracking on its socket, a plain object;
 * - the request is recorded when the app ends the response (the moment its route is still known), with the time to
 *   that call as its duration; a response never ended (the client went away, the app hung up) is recorded when its
 *   socket closes.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestState } from '../request.js';
import { chunkBytes, type NodeResponseLike, RequestScope, type ResponseHooks, TrackedResponse } from './shared.js';

/** The part of a response's socket the tracking uses. */
interface SocketLike {
  once(event: 'close', listener: () => void): unknown;
}

/** One middleware's hooks (shared.ts), with the `ended` this tracking always calls. */
type ExpressHooks<Request> = Required<ResponseHooks<Request>>;

/** One response being tracked; it is also the `ResponseView` handed to `finish`. */
class Tracking<Request = unknown> extends TrackedResponse {
  constructor(
    res: NodeResponseLike,
    readonly request: Request,
    readonly state: RequestState,
    readonly hooks: ExpressHooks<Request>,
    readonly list: Tracking[],
  ) {
    super(res);
  }

  /** Record the request, once. Never throws. */
  finish(): void {
    if (this.done) return;
    this.done = true;
    const index = this.list.indexOf(this as Tracking);
    if (index !== -1) this.list.splice(index, 1);
    try {
      this.hooks.ended(this.state, this.request);
    } catch {
      // the event is recorded with what is known
    }
    this.hooks.tracker.finish(this.state, this);
  }
}

/** Responses in flight on a socket (more than one only with HTTP/1.1 pipelining). */
const IN_FLIGHT = Symbol('vigil.express.inFlight');
type TrackedSocket = SocketLike & { [IN_FLIGHT]?: Tracking[] };

/** Prototypes already wrapped, per middleware (two clients, or one middleware mounted twice, wrap twice). */
const wrapped = new WeakMap<object, WeakSet<object>>();

function trackingOf(res: unknown, hooks: ExpressHooks<never>): Tracking | undefined {
  // A response queued behind another on a pipelined connection has no socket yet; its request has.
  const response = res as { socket?: TrackedSocket | null; req?: { socket?: TrackedSocket | null } };
  const socket = response.socket ?? response.req?.socket;
  const list = socket?.[IN_FLIGHT];
  if (list === undefined) return undefined;
  for (const tracking of list) {
    if (tracking.res === res && tracking.hooks === hooks) return tracking;
  }
  return undefined;
}

/** The request state of a tracked response's request, for the error middleware. */
export function expressState(req: { readonly socket?: unknown }, res: unknown): RequestState | undefined {
  const list = (req.socket as TrackedSocket | undefined)?.[IN_FLIGHT];
  return list?.find((tracking) => tracking.res === res)?.state;
}

function safeChunkBytes(chunk: unknown, encoding: unknown): number {
  try {
    return chunkBytes(chunk, encoding);
  } catch {
    return 0; // counting is best effort
  }
}

/**
 * The object to wrap methods of `value` on: the last one above `value` before `base` in its prototype chain
 * (`http.ServerResponse.prototype` for Express's response, `http.IncomingMessage.prototype` for its request).
 */
function wrapTarget(value: object, base: object = ServerResponse.prototype): object | undefined {
  let target: object | undefined;
  for (
    let proto = Object.getPrototypeOf(value) as object | null;
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (proto === base) return target;
    target = proto;
  }
  return undefined;
}

function wrapMethods(target: Record<string, unknown>, hooks: ExpressHooks<never>): void {
  const write = target.write as (...args: unknown[]) => unknown;
  const end = target.end as (...args: unknown[]) => unknown;
  target.write = function vigilWrite(this: unknown, ...args: unknown[]) {
    const tracking = trackingOf(this, hooks);
    if (tracking !== undefined && !tracking.done) tracking.count += safeChunkBytes(args[0], args[1]);
    return write.apply(this, args);
  };
  target.end = function vigilEnd(this: unknown, ...args: unknown[]) {
    const tracking = trackingOf(this, hooks);
    if (tracking === undefined || tracking.done) return end.apply(this, args);
    // Recorded once `end` returned: one that throws (a status Node.js refuses, a chunk of the wrong type) sent
    // nothing, and the app's error handler answers instead, through another `end`.
    const result = end.apply(this, args);
    if (typeof args[0] !== 'function') tracking.count += safeChunkBytes(args[0], args[1]);
    tracking.finish();
    return result;
  };
}

/**
 * Track an Express response; false when it cannot be done this way (the response is not Express's, or has no
 * socket), and the caller uses the generic tracking.
 */
export function trackExpressResponse<Request>(
  res: NodeResponseLike,
  socket: unknown,
  request: Request,
  state: RequestState,
  hooks: ExpressHooks<Request>,
): boolean {
  if (typeof socket !== 'object' || socket === null || typeof (socket as SocketLike).once !== 'function') return false;
  const target = wrapTarget(res);
  if (target === undefined) return false;
  let done = wrapped.get(target);
  if (done === undefined) {
    done = new WeakSet();
    wrapped.set(target, done);
  }
  if (!done.has(hooks)) {
    wrapMethods(target as Record<string, unknown>, hooks as ExpressHooks<never>);
    done.add(hooks);
  }
  const tracked = socket as TrackedSocket;
  let list = tracked[IN_FLIGHT];
  if (list === undefined) {
    const fresh: Tracking[] = [];
    list = fresh;
    tracked[IN_FLIGHT] = fresh;
    // A response whose socket closed before the app ended it is recorded then: as unanswered if nothing was sent, as
    // a 500 if the app destroyed it with an error (a body stream that failed).
    tracked.once('close', () => {
      for (const tracking of [...fresh]) {
        tracking.closedEarly(tracking.state);
        tracking.finish();
      }
    });
  }
  list.push(new Tracking(res, request, state, hooks, list) as Tracking);
  return true;
}

type Emit = (...args: unknown[]) => unknown;

/** The scope of each request and response being handled, for the `emit` wrapped on Express's prototypes. */
const scopes = new WeakMap<object, RequestScope>();
/** Prototypes whose `emit` is wrapped: once each, whatever the middleware (the scope is found per object). */
const emitWrapped = new WeakSet<object>();

/**
 * Emit the events of Express's `req` and `res` in the request's context (see RequestScope in shared.ts), so that
 * helpers called from the app's own `req.on('end')` or `res.on('finish')` listeners know their request. `emit` is
 * wrapped once on Express's prototypes and finds the object's scope in a WeakMap: storing an `emit` on each object
 * would cost a slow property store apiece (see above). Called inside `runWithRequest`; never throws.
 */
export function emitExpressEventsInRequest(state: RequestState, req: object, res: object): void {
  try {
    const scope = new RequestScope(state);
    for (const [emitter, base] of [
      [req, IncomingMessage.prototype],
      [res, ServerResponse.prototype],
    ] as const) {
      const target = wrapTarget(emitter, base);
      if (target === undefined) {
        scope.emitOwnEvents(emitter); // not Express's own objects (the http2 compatibility API)
        continue;
      }
      if (!emitWrapped.has(target)) {
        wrapEmit(target as { emit: Emit });
        emitWrapped.add(target);
      }
      scopes.set(emitter, scope);
    }
  } catch {
    // listeners then run where Node.js runs them
  }
}

function wrapEmit(target: { emit: Emit }): void {
  const emit = target.emit;
  target.emit = function vigilEmit(this: object, ...args: unknown[]) {
    const scope = scopes.get(this);
    return scope === undefined ? emit.apply(this, args) : scope.emit(emit, this, args);
  };
}
