/**
 * Koa (2 and 3). Koa is an optional peer dependency and is never imported: its context is used through the
 * structural types below. Route templates come from @koa/router: the layer that ran (`ctx._matchedRoute`), among
 * those that matched (`ctx.matched`).
 *
 * @example
 * import Koa from 'koa';
 * import Router from '@koa/router';
 * import { createVigil } from '@vigil/sdk';
 * import { vigilKoa } from '@vigil/sdk/koa';
 * const vigil = createVigil({ service: 'orders' });
 * const app = new Koa();
 * app.use(vigilKoa(vigil)); // first, before the router and error handling you want inside the request's context
 * const router = new Router();
 * router.get('/users/:id', handler);
 * app.use(authenticate); // sets ctx.state.user
 * app.use(vigilKoaEnforce(vigil, { mode: 'enforce' }));
 * app.use(router.routes());
 */
import type { Vigil } from '../client.js';
import type { RequestState } from '../request.js';
import { trackerOf } from '../tracker.js';
import { createEnforcement, type EnforcementControls, type VigilEnforceOptions } from './enforcement.js';
import {
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  routeHooks,
  runInRequest,
  trackResponse,
} from './shared.js';

export interface KoaContextLike {
  readonly req: NodeRequestLike;
  readonly res: NodeResponseLike;
  /** @koa/router: the path of the layer running (after the chain, of the one that ran last). */
  readonly _matchedRoute?: unknown;
  /** @koa/router (and koa-router): the path of the layer that ran. */
  readonly routerPath?: unknown;
  /** @koa/router: route parameters. */
  readonly params?: unknown;
  /** @koa/router: the layers whose path matched, `router.use()` middleware included, in order. */
  readonly matched?: unknown;
  readonly method?: string;
  /** The body parsed by @koa/bodyparser or koa-body. */
  readonly request?: { readonly body?: unknown };
  /** Where koa-passport and koa-jwt put the user (read by the default `identify`). */
  readonly state?: unknown;
}

/** A context that can be answered (Koa's own `status`, `body`, `set`). */
export interface KoaAnsweringContextLike extends KoaContextLike {
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}

export type KoaMiddleware = (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown>;

/**
 * The route template of a Koa request; undefined when no router matched one (never the raw path). @koa/router lists
 * in `ctx.matched` every layer whose path matched, in order (routes of other methods, and routes that never ran,
 * included), and sets `_matchedRoute` to the path of each layer as its chain runs: the route is the layer that ran
 * last. When that is a `router.use()` middleware that answered (an authentication check's 401), it is the first route
 * of the request's method after it, the one it stood in front of. A router that does not say which layer ran gives
 * the last route of the request's method it matched.
 */
export function koaRoute(ctx: KoaContextLike): string | undefined {
  const matched = ctx.matched;
  const ran = ctx._matchedRoute ?? ctx.routerPath;
  if (!Array.isArray(matched)) return template(ctx._matchedRoute) ?? template(ctx.routerPath);
  const method = typeof ctx.method === 'string' ? ctx.method.toUpperCase() : undefined;
  let middleware = -1;
  if (ran !== undefined) {
    for (let i = 0; i < matched.length; i++) {
      const layer = matched[i] as KoaLayerLike | null;
      if (layer?.path !== ran) continue;
      if (isRouteOf(layer, method)) return template(ran);
      if (middleware === -1) middleware = i;
    }
  }
  if (middleware !== -1) {
    for (let i = middleware + 1; i < matched.length; i++) {
      const layer = matched[i] as KoaLayerLike | null;
      if (isRouteOf(layer, method)) return template(layer?.path);
    }
  }
  for (let i = matched.length - 1; i >= 0; i--) {
    const layer = matched[i] as KoaLayerLike | null;
    if (isRouteOf(layer, method)) return template(layer?.path);
  }
  return undefined;
}

/** A layer of @koa/router: a route has methods, a `router.use()` middleware none. */
interface KoaLayerLike {
  readonly methods?: unknown;
  readonly path?: unknown;
}

function isRouteOf(layer: KoaLayerLike | null, method: string | undefined): boolean {
  const methods = layer?.methods;
  return Array.isArray(methods) && methods.length > 0 && (method === undefined || methods.includes(method));
}

function template(path: unknown): string | undefined {
  if (typeof path === 'string' && path.length > 0) return path;
  if (path instanceof RegExp) return path.toString();
  return undefined;
}

/** Middleware recording every request: `app.use(vigilKoa(vigil))`, first. */
export function vigilKoa(vigil: Vigil): KoaMiddleware {
  const tracker = trackerOf(vigil);
  const hooks = tracker && routeHooks(tracker, koaRoute, (ctx) => ({ params: ctx.params, body: ctx.request?.body }));
  let orderChecked = false;
  return function vigilMiddleware(ctx, next) {
    let state: RequestState | undefined;
    try {
      // A parsed body already: a body parser runs before this middleware, and the requests it refuses never get here.
      if (!orderChecked && ctx.request?.body !== undefined) {
        orderChecked = true;
        tracker?.warnOnce?.(
          'middleware_order',
          'vigilKoa runs after a body parser (ctx.request.body was already set): a request whose body the parser ' +
            'refuses (malformed JSON, too large) ends before Vigil sees it and is not recorded. ' +
            'Mount app.use(vigilKoa(vigil)) first',
        );
      }
      state = hooks?.tracker.start(nodeRequestView(ctx.req), ctx, () => koaRoute(ctx));
      if (state && hooks) trackResponse(ctx.res, state, ctx, hooks);
    } catch {
      state = undefined;
    }
    if (!state) return next();
    const s = state;
    return runInRequest(s, ctx.req, ctx.res, () =>
      next().then(undefined, (error: unknown) => {
        // Koa answers a thrown error itself (ctx.onerror), after every middleware: note it and let it go on.
        s.noteError(error);
        throw error;
      }),
    );
  };
}

export type { VigilEnforceOptions };

export type KoaEnforceMiddleware = ((ctx: KoaAnsweringContextLike, next: () => Promise<unknown>) => Promise<unknown>) &
  EnforcementControls;

/**
 * Middleware enforcing Vigil's response decisions (see `vigilEnforce` of `@vigil/sdk/enforce` for what it does). Mount
 * it after `vigilKoa` and after the app's authentication (what sets `ctx.state.user`), so that user and API key
 * decisions can apply, and before the router. Pass the Vigil client first, or options only. A refused request is
 * answered by setting `ctx.status`, its headers and `ctx.body`; the middleware after it does not run.
 *
 * @example
 * app.use(vigilKoa(vigil));
 * app.use(authenticate);
 * app.use(vigilKoaEnforce(vigil, { mode: 'enforce' }));
 * app.use(router.routes());
 */
export function vigilKoaEnforce(
  vigilOrOptions?: Vigil | VigilEnforceOptions,
  more: VigilEnforceOptions = {},
): KoaEnforceMiddleware {
  const enforcement = createEnforcement(vigilOrOptions, more);
  const middleware = function vigilEnforceMiddleware(ctx: KoaAnsweringContextLike, next: () => Promise<unknown>) {
    const answer = enforcement.answer(ctx, () => ctx.req);
    if (answer === undefined) return next();
    ctx.status = answer.status;
    // Headers first: a string body set without a content type would be sent as text/plain.
    for (const name in answer.headers) ctx.set(name, answer.headers[name]!);
    ctx.body = answer.body;
    return Promise.resolve();
  };
  return Object.assign(middleware, enforcement.controls);
}
