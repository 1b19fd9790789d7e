/**
 * Express 4 and 5. Express is an optional peer dependency and is never imported: its objects are used through the
 * structural types below.
 *
 * @example
 * import express from 'express';
 * import { createVigil } from '@vigil/sdk';
 * import { vigilExpress, vigilErrorHandler } from '@vigil/sdk/express';
 * const vigil = createVigil({ service: 'orders' });
 * const app = express();
 * app.use(vigilExpress(vigil)); // first, before the routes
 * app.get('/users/:id', handler);
 * app.use(vigilErrorHandler(vigil)); // after the routes, before your own error handlers
 */
import type { Vigil } from '../client.js';
import { currentRequest, runWithRequest } from '../context.js';
import type { RequestState } from '../request.js';
import { type RequestTracker, trackerOf } from '../tracker.js';
import { baseTemplate, dispatchedTo, instrumentMounts } from './express-mounts.js';
import { emitExpressEventsInRequest, expressState, trackExpressResponse } from './express-tracking.js';
import { type NodeRequestLike, type NodeResponseLike, nodeRequestView, routeHooks, trackResponse } from './shared.js';

export interface ExpressRequestLike extends NodeRequestLike {
  /** The mount path of the router handling the request (Express sets it; empty at the top level). */
  readonly baseUrl?: string;
  /** The app handling the request (Express sets it): where the middleware finds the routers to prepare. */
  readonly app?: unknown;
  /** The route that matched, once one did. */
  readonly route?: { readonly path?: unknown } | undefined;
  /** Route parameters and the parsed body (body parsers), read for `inspect: 'params'`. */
  readonly params?: unknown;
  readonly body?: unknown;
}

export type ExpressMiddleware = (
  req: ExpressRequestLike,
  res: NodeResponseLike,
  next: (error?: unknown) => void,
) => void;
export type ExpressErrorMiddleware = (
  error: unknown,
  req: ExpressRequestLike,
  res: NodeResponseLike,
  next: (error?: unknown) => void,
) => void;

/**
 * The route template of an Express request: the template of `req.baseUrl` + `req.route.path` (`/api` + `/users/:id`).
 * Undefined before a route matched (or when none did, as for a 404), so the raw path never stands in for a template.
 * `baseUrl` is the text the router was reached by; where a router is mounted on a pattern
 * (`app.use('/tenants/:tid', router)`), the pattern replaces that text (express-mounts.ts).
 */
export function expressRoute(req: ExpressRequestLike): string | undefined {
  const route = req.route;
  if (!route) return undefined;
  const noted = dispatchedTo(req, route);
  let path = route.path;
  // A route on an array of paths: the one the request matched (express-mounts.ts), else all of them.
  if (Array.isArray(path)) path = noted?.path ?? path.map(String).join('|');
  let template: string | undefined;
  if (typeof path === 'string') template = path;
  else if (path instanceof RegExp) template = path.toString();
  if (template === undefined) return undefined;
  const baseUrl = req.baseUrl;
  const base = noted?.base ?? (typeof baseUrl === 'string' ? baseTemplate(req, baseUrl) : '');
  if (template === '/' && base) return base;
  return `${base}${template.startsWith('/') || template.startsWith('|') ? '' : '/'}${template}`;
}

type ExpressHooks = ReturnType<typeof expressHooks>;

function expressHooks(tracker: RequestTracker) {
  // The moment the app ends the response is the moment req.route and req.baseUrl belong to its route.
  return routeHooks<ExpressRequestLike>(tracker, expressRoute, (req) => ({ params: req.params, body: req.body }));
}

/**
 * The hooks of each middleware `vigilExpress` made, and of the first one made for each client: an error handler that
 * starts tracking a request uses the same hooks (each distinct one wraps Express's response methods once more).
 */
const middlewareHooks = new WeakMap<object, ExpressHooks>();
const clientHooks = new WeakMap<object, ExpressHooks>();

/**
 * The hooks of the `vigilExpress` middleware mounted on `app` (Express's `req.app`), found in the app's router stack.
 * Undefined when there is none at its top level, or the stack is not one this knows.
 */
function hooksOfApp(app: unknown): ExpressHooks | undefined {
  if ((typeof app !== 'function' && typeof app !== 'object') || app === null) return undefined;
  // Express 4 keeps its router in `_router` (its `router` getter throws); Express 5 in `router`.
  const express = app as { _router?: { stack?: unknown }; router?: { stack?: unknown } };
  const stack = (express._router ?? express.router)?.stack;
  if (!Array.isArray(stack)) return undefined;
  for (const layer of stack) {
    const handle = (layer as { handle?: unknown } | null)?.handle;
    const hooks = typeof handle === 'function' ? middlewareHooks.get(handle) : undefined;
    if (hooks) return hooks;
  }
  return undefined;
}

/** Start tracking `req` and its response; undefined when the client records nothing. */
function startTracking(hooks: ExpressHooks, req: ExpressRequestLike, res: NodeResponseLike): RequestState | undefined {
  // Every property access on Express's req and res is slow (see express-tracking.ts): the socket is read once.
  const socket = req.socket;
  const state = hooks.tracker.start(nodeRequestView(req, socket), req, () => expressRoute(req));
  if (state && !trackExpressResponse(res, socket, req, state, hooks)) trackResponse(res, state, req, hooks);
  return state;
}

/** Middleware recording every request. Mount it first, so the whole request runs in its context. */
export function vigilExpress(vigil: Vigil): ExpressMiddleware {
  const tracker = trackerOf(vigil);
  const hooks = tracker && expressHooks(tracker);
  // The app's routers are prepared on the first request, the first moment the middleware sees its app.
  let mountsPrepared = hooks === undefined;
  const middleware: ExpressMiddleware = function vigilMiddleware(req, res, next) {
    let state: RequestState | undefined;
    try {
      if (!mountsPrepared) {
        mountsPrepared = true;
        instrumentMounts(req.app, req);
      }
      state = hooks && startTracking(hooks, req, res);
    } catch {
      state = undefined;
    }
    if (!state) {
      next();
      return;
    }
    const s = state;
    runWithRequest(s, () => {
      emitExpressEventsInRequest(s, req, res);
      next();
    });
  };
  if (hooks) {
    middlewareHooks.set(middleware, hooks);
    if (!clientHooks.has(vigil)) clientHooks.set(vigil, hooks);
  }
  return middleware;
}

/**
 * Error middleware: notes the error a route threw (for `app_error` with its class and fingerprint, never its
 * message) and passes it on unchanged to the next error handler.
 *
 * It also records what failed before `vigilExpress` ran: a body parser mounted in front of it that refused a
 * malformed body (what fuzzers send) never calls the middlewares after it, only the error handlers. Such a request is
 * tracked from here (its duration from this moment) by the client given, or, without one, by the client of the
 * `vigilExpress` mounted on the app.
 */
export function vigilErrorHandler(vigil?: Vigil): ExpressErrorMiddleware {
  const tracker = vigil === undefined ? undefined : trackerOf(vigil);
  let own: ExpressHooks | undefined;
  // Four parameters: that is how Express recognises an error handler.
  return function vigilErrorMiddleware(error, req, res, next) {
    try {
      // The request the handler is handed wins: a callback can run in another request's context (a pooled
      // connection that request opened), which is then the current one.
      const current = currentRequest();
      let state = current !== undefined && current.raw === req ? current : expressState(req, res);
      if (state === undefined) {
        let hooks = tracker ? clientHooks.get(vigil!) : hooksOfApp(req.app);
        if (hooks === undefined && tracker) {
          own ??= expressHooks(tracker); // a client no vigilExpress was made for
          hooks = own;
        }
        if (hooks) state = startTracking(hooks, req, res);
      }
      state?.noteError(error);
    } catch {
      // never stand between an error and the app's own handler
    }
    next(error);
  };
}
