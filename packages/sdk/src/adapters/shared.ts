/**
 * What every adapter over node:http needs: the neutral view of an IncomingMessage, counting response bytes, and
 * noticing the end of a response exactly once (`finish`, or `close` when the client went away first).
 */
import { AsyncResource } from 'node:async_hooks';
import { currentRequest, noteThrownFrom, runWithRequest } from '../context.js';
import type { RequestState, RequestView, ResponseView } from '../request.js';
import type { RequestTracker } from '../tracker.js';

/** The parts of node:http's IncomingMessage the SDK reads (structural, so any framework's raw request fits). */
export interface NodeRequestLike {
  readonly method?: string;
  readonly url?: string;
  readonly originalUrl?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly socket?: { readonly remoteAddress?: string; readonly remotePort?: number } | null;
}

/** The parts of node:http's ServerResponse the SDK uses. */
export interface NodeResponseLike {
  statusCode: number;
  readonly writableFinished?: boolean;
  readonly writableEnded?: boolean;
  /** The error the response was destroyed with (by the server: a client going away sets none). */
  readonly errored?: unknown;
  getHeader(name: string): unknown;
  write(...args: unknown[]): boolean;
  end(...args: unknown[]): unknown;
  on(event: 'finish' | 'close', listener: () => void): unknown;
}

/** The neutral view of a request. `socket` is `req.socket`, for a caller that has read it already. */
export function nodeRequestView(req: NodeRequestLike, socket = req.socket): RequestView {
  return {
    method: req.method ?? 'GET',
    // Express rewrites req.url inside routers; originalUrl is what the client sent.
    url: req.originalUrl ?? req.url ?? '/',
    headers: req.headers ?? {},
    remoteAddress: socket?.remoteAddress,
    remotePort: socket?.remotePort,
  };
}

/** Bytes of a chunk given to `write` / `end`. */
export function chunkBytes(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/**
 * What an adapter does with a tracked response: `ended` runs when the app ends the response (the moment the route,
 * parameters and body still belong to it); the tracker's `finish` once when it finished or closed. Made once per
 * adapter, not per request.
 */
export interface ResponseHooks<Request> {
  readonly tracker: RequestTracker;
  ended?(state: RequestState, request: Request): void;
}

/**
 * The status recorded for a request whose client went away before anything was answered (nginx's "client closed
 * request"): the status on the response object then is only its default, 200, which nobody received.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** A tracked response as the `ResponseView` handed to `finish`: status, bytes counted, headers. */
export class TrackedResponse implements ResponseView {
  count = 0;
  done = false;
  /**
   * The status recorded in place of the response's, for one that closed before it finished (`closedEarly`); 0 for
   * the response's own.
   */
  closedStatus = 0;
  /**
   * Set when the app called `end`: from then on `write` counts nothing. HTTP/2's compatibility response (and
   * anything built like it) writes the last chunk by calling its own `write` from `end`, which is the wrapped one.
   */
  ending = false;

  constructor(readonly res: NodeResponseLike) {}

  get statusCode(): number {
    return this.closedStatus || this.res.statusCode;
  }

  /**
   * The response closed before it finished, or was destroyed after the app ended it. Node.js sets `errored` when the
   * server side destroyed it with an error (a body stream that failed: `ENOENT`), never for a client that went away:
   * that is the app's failure, a 500 with its error, whatever status was set. Otherwise, when nothing of the response
   * was sent, the request is recorded as unanswered (`CLIENT_CLOSED_REQUEST`).
   */
  closedEarly(state: RequestState): void {
    try {
      const errored = this.res.errored;
      if (errored !== null && errored !== undefined) {
        this.closedStatus = 500;
        state.noteError(errored);
      } else if ((this.res as { headersSent?: unknown }).headersSent === false) {
        this.closedStatus = CLIENT_CLOSED_REQUEST;
      }
    } catch {
      // a response object of another make: its own status stands
    }
  }

  get bodySize(): number {
    return this.count;
  }

  header(name: string): unknown {
    const value = this.res.getHeader(name);
    if (value !== undefined) return value;
    // Headers given to `writeHead(status, { ... })` on a response with none set before are written straight into
    // the header block, and `getHeader` never sees them: plain node:http apps answer that way.
    const block = (this.res as { _header?: unknown })._header;
    return typeof block === 'string' ? headerInBlock(block, name) : undefined;
  }
}

/** The value of header `name` (lower case) in an HTTP/1 response's header block, the first if repeated. */
export function headerInBlock(block: string, name: string): string | undefined {
  const lower = block.toLowerCase();
  const at = lower.indexOf(`\r\n${name}:`);
  if (at === -1) return undefined;
  const start = at + name.length + 3;
  const end = block.indexOf('\r\n', start);
  return block.slice(start, end === -1 ? undefined : end).trim();
}

/**
 * Hooks that note, when the app ends the response, the route template and, when used, the parsed input (route
 * parameters and body belong to the route only while it runs).
 */
export function routeHooks<Request>(
  tracker: RequestTracker,
  route: (request: Request) => string | undefined,
  input: (request: Request) => { params: unknown; body: unknown },
): ResponseHooks<Request> & { ended(state: RequestState, request: Request): void } {
  return {
    tracker,
    ended(state, request) {
      state.route ??= route(request);
      if (tracker.readsParams || state.graphql) {
        const { params, body } = input(request);
        state.params = params;
        if (tracker.inspectsParams || state.graphql) state.body = body;
      }
    },
  };
}

/**
 * One tracked response: its byte count, the functions it wraps, the request it answers. It is also the response's
 * `ResponseView` handed to `finish`, so tracking a request allocates this one object.
 */
class Tracking<Request = unknown> extends TrackedResponse {
  constructor(
    res: NodeResponseLike,
    readonly write: (...args: unknown[]) => boolean,
    readonly end: (...args: unknown[]) => unknown,
    readonly state: RequestState,
    readonly request: Request,
    readonly hooks: ResponseHooks<Request>,
  ) {
    super(res);
  }
}

type Tracked = NodeResponseLike & Record<symbol, Tracking | undefined>;

/**
 * The `write`, `end` and end-of-response listener tracked responses get: the same functions for every response,
 * reading that response's own state from a symbol property. Fresh closures per response, which this replaced, kept
 * each response's graph (request, reply, state) alive long enough to be promoted out of the young generation:
 * measured under load on Fastify, about 2.7 KB promoted per request and several µs of garbage collection, more than
 * everything else the adapter does. A response tracked twice (two clients, a middleware mounted twice), possibly
 * with another wrapper in between (compression), gets a second layer with its own symbol, so each layer finds its
 * own state however the calls interleave.
 */
interface Layer {
  readonly key: symbol;
  readonly write: (this: Tracked, ...args: unknown[]) => boolean;
  readonly end: (this: Tracked, ...args: unknown[]) => unknown;
  /** Listens to `finish` and `close`: whichever comes first ends the tracking. */
  readonly done: (this: Tracked) => void;
}

const layers: Layer[] = [];
const trackedFunctions = new Set<unknown>();

function layer(index: number): Layer {
  let found = layers[index];
  if (found === undefined) {
    const key = Symbol(`vigil.responseTracking.${index}`);
    found = {
      key,
      write(...args) {
        const tracking = this[key];
        if (tracking === undefined) return originalOf(this, 'write').apply(this, args) as boolean;
        if (!tracking.ending) tracking.count += safeChunkBytes(args[0], args[1]);
        return tracking.write.apply(this, args);
      },
      end(...args) {
        const tracking = this[key];
        if (tracking === undefined) return originalOf(this, 'end').apply(this, args);
        if (typeof args[0] !== 'function' && !tracking.ending) tracking.count += safeChunkBytes(args[0], args[1]);
        tracking.ending = true;
        try {
          tracking.hooks.ended?.(tracking.state, tracking.request);
        } catch {
          // the app's response must end whatever happens here
        }
        return tracking.end.apply(this, args);
      },
      done() {
        const tracking = this[key];
        if (tracking === undefined || tracking.done) return;
        tracking.done = true;
        // `close` before `finish`: the client went away, or the app destroyed the response; with an error, even
        // after ending it (Hono's answer to a body stream that failed), it failed.
        if (this.writableFinished === false || (this.errored !== null && this.errored !== undefined)) {
          tracking.closedEarly(tracking.state);
        }
        tracking.hooks.tracker.finish(tracking.state, tracking);
      },
    };
    trackedFunctions.add(found.write);
    trackedFunctions.add(found.end);
    layers[index] = found;
  }
  return found;
}

function safeChunkBytes(chunk: unknown, encoding: unknown): number {
  try {
    return chunkBytes(chunk, encoding);
  } catch {
    return 0; // counting is best effort
  }
}

/** The method a tracked function stands in for, when it is called on an object that is not a tracked response. */
function originalOf(target: object, name: 'write' | 'end'): (...args: unknown[]) => unknown {
  let proto = Object.getPrototypeOf(target) as Record<string, unknown> | null;
  while (proto !== null) {
    const method = proto[name];
    if (typeof method === 'function' && !trackedFunctions.has(method)) return method as (...args: unknown[]) => unknown;
    proto = Object.getPrototypeOf(proto) as Record<string, unknown> | null;
  }
  return () => false;
}

/**
 * Count body bytes by wrapping this response's own `write` and `end` (the prototype is untouched), call
 * `hooks.ended` when the app ends the response, and the tracker's `finish` once when it finished or closed, with
 * the status, the bytes sent and a header reader.
 */
export function trackResponse<Request>(
  res: NodeResponseLike,
  state: RequestState,
  request: Request,
  hooks: ResponseHooks<Request>,
): void {
  const tracked = res as Tracked;
  // An own-property check: a miss through the prototype chain is slow where a framework swapped the prototype
  // (Express gives every response its app's prototype, which V8 keeps in dictionary mode).
  let index = 0;
  while (Object.hasOwn(res, layer(index).key)) index++;
  const { key, write, end, done } = layer(index);
  tracked[key] = new Tracking(res, res.write, res.end, state, request, hooks) as Tracking;
  res.write = write;
  res.end = end;
  res.on('finish', done);
  res.on('close', done);
}

/** The request state an adapter's `trackResponse` attached to a response, if any. */
export function trackedState(res: unknown, hooks: ResponseHooks<never>): RequestState | undefined {
  if (typeof res !== 'object' || res === null) return undefined;
  for (let index = 0; index < layers.length; index++) {
    const tracking = (res as Tracked)[layers[index]!.key];
    if (tracking?.hooks === hooks) return tracking.state;
  }
  return undefined;
}

type Emit = (...args: unknown[]) => unknown;

/**
 * Node.js emits a request's body events (`data`, `end`) and its response's (`finish`, `close`) in the connection's
 * async context, not the handler's: a helper called from their listeners (a handler reading its body with
 * `req.on('end')`, a middleware acting on `res.on('finish')`) would not know its request. A request's scope emits
 * them in an `AsyncResource` made in the request's context, as raw-body (under the body parsers of Express and Koa)
 * runs its callback. Made inside `runWithRequest`.
 */
export class RequestScope {
  private readonly resource = new AsyncResource('vigil.request');

  constructor(private readonly state: RequestState) {}

  /**
   * Call `emit` on `emitter` in the request's context. Most emits already run in it (those of the handler's own
   * code, and what it scheduled): they are called as they are, for the cost of one lookup.
   */
  emit(emit: Emit, emitter: unknown, args: unknown[]): unknown {
    try {
      return currentRequest() === this.state
        ? emit.apply(emitter, args)
        : this.resource.runInAsyncScope(emit, emitter, ...args);
    } catch (error) {
      // A listener's throw leaves the request's scope before Node.js reports it: a crash is told its request here.
      noteThrownFrom(error, this.state);
      throw error;
    }
  }

  /**
   * Emit the events of `req` and `res` (when given) in this scope, through an `emit` of their own. A closure rather
   * than `resource.bind(emit)`: on Node.js 20 a bound function takes tens of µs to make; this costs about one per
   * request (docs/sdk.md, "What a request costs"). Where a property store is slow (Express's objects), see
   * express-tracking.ts.
   */
  emitOwnEvents(req: object, res?: object): void {
    this.own(req);
    if (res !== undefined) this.own(res);
  }

  private own(emitter: object): void {
    const target = emitter as { emit?: unknown };
    const emit = target.emit;
    if (typeof emit !== 'function') return;
    const scope = this;
    target.emit = function emitInRequest(this: unknown, ...args: unknown[]) {
      return scope.emit(emit as Emit, this, args);
    };
  }
}

/**
 * Run `fn` in `state`'s request context, with the events of `req` and `res` (when given) emitted in it too (see
 * RequestScope): how every adapter but Express's enters a request. Making the scope never throws: without it,
 * listeners run where Node.js runs them.
 */
export function runInRequest<T>(state: RequestState, req: object | undefined, res: object | undefined, fn: () => T): T {
  return runWithRequest(state, () => {
    try {
      if (req !== undefined) new RequestScope(state).emitOwnEvents(req, res);
    } catch {
      // listeners then run where Node.js runs them
    }
    return fn();
  });
}
