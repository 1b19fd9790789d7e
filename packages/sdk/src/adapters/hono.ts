/**
 * Hono. Hono is an optional peer dependency and is never imported: its context is used through the structural
 * types below. On Node (@hono/node-server) the client address is the socket peer of `c.env.incoming`, and the
 * request ends when the Node response does; on other runtimes the request ends when the middleware chain returns
 * and there is no socket address (unless a trusted proxy header is configured and present).
 *
 * @example
 * import { Hono } from 'hono';
 * import { serve } from '@hono/node-server';
 * import { createVigil } from '@vigil/sdk';
 * import { vigilHono } from '@vigil/sdk/hono';
 * const vigil = createVigil({ service: 'orders' });
 * const app = new Hono();
 * app.use(vigilHono(vigil)); // first
 * app.use(authenticate); // c.set('user', ...)
 * app.use(vigilHonoEnforce(vigil, { mode: 'enforce' }));
 * app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }));
 * serve({ fetch: app.fetch, port: 3000 });
 */
import type { Vigil } from '../client.js';
import type { HeaderMap, RequestState, RequestView } from '../request.js';
import { trackerOf } from '../tracker.js';
import { createEnforcement, type EnforcementControls, type VigilEnforceOptions } from './enforcement.js';
import {
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  type ResponseHooks,
  runInRequest,
  trackResponse,
} from './shared.js';

export interface HonoRouteLike {
  readonly method: string;
  readonly path: string;
  readonly handler?: unknown;
}

export interface HonoRequestLike {
  readonly method: string;
  readonly url: string;
  readonly raw: { readonly headers: { forEach(fn: (value: string, key: string) => void): void } };
  /** Every route and middleware that matched the path, in registration order. */
  readonly matchedRoutes?: readonly HonoRouteLike[];
  /** Index in `matchedRoutes` of the handler running (after the chain: of the one that answered). */
  readonly routeIndex?: number;
  /** Older Hono: the path of the handler running. */
  readonly routePath?: string;
  /** `c.req.param()`: the route parameters. */
  readonly param?: unknown;
  /** Hono's cache of the body the app read (`c.req.json()`, `c.req.parseBody()`). */
  readonly bodyCache?: unknown;
}

export interface HonoContextLike {
  readonly req: HonoRequestLike;
  /** With @hono/node-server: `{ incoming, outgoing }`, node:http's request and response. */
  readonly env?: unknown;
  readonly res?: { readonly status: number; readonly headers: { get(name: string): string | null } };
  /** An error a handler threw (set by Hono before its onError handler runs). */
  readonly error?: unknown;
  /** Variables set with `c.set()` (`user`, `jwtPayload`), read by the default `identify`. */
  readonly var?: unknown;
}

/** A context that can answer (Hono's own `c.body`). */
export interface HonoAnsweringContextLike extends HonoContextLike {
  body(data: string, status: 403 | 429, headers: Record<string, string>): Response;
}

export type HonoMiddleware = (c: HonoContextLike, next: () => Promise<void>) => Promise<void>;

interface NodeBindings {
  readonly incoming: NodeRequestLike;
  readonly outgoing: NodeResponseLike;
}

function nodeBindings(env: unknown): NodeBindings | undefined {
  const e = env as { incoming?: NodeRequestLike; outgoing?: NodeResponseLike } | undefined;
  if (typeof e?.incoming?.headers !== 'object' || typeof e?.outgoing?.on !== 'function') return undefined;
  return { incoming: e.incoming, outgoing: e.outgoing };
}

/** Without node:http underneath: the view from the Fetch API request (there is no socket address). */
function fetchRequestView(req: HonoRequestLike): RequestView {
  const headers: Record<string, string> = {};
  req.raw.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return { method: req.method, url: req.url, headers: headers as HeaderMap };
}

/**
 * A route that answers requests, as opposed to middleware mounted with `app.use()` (method ALL, path ending `*`,
 * and a handler that takes `next`: the test Hono's own route listing uses). `app.all('/proxy/*', (c) => ...)` is an
 * endpoint.
 */
function isEndpoint(route: HonoRouteLike | undefined): route is HonoRouteLike {
  if (route === undefined) return false;
  if (route.method !== 'ALL' || !route.path.endsWith('*')) return true;
  return typeof route.handler === 'function' && route.handler.length < 2;
}

/**
 * The route template of a Hono request: the route that answered, or, when middleware answered (an authentication
 * middleware's 401), the first route after it that would have. Undefined when only middleware matched (a 404).
 * `ownIndex` is the index of Vigil's own middleware, which never counts.
 */
export function honoRoute(c: HonoContextLike, ownIndex?: number): string | undefined {
  const { matchedRoutes: routes, routeIndex } = c.req;
  if (Array.isArray(routes) && typeof routeIndex === 'number') {
    const current = routes[routeIndex];
    if (routeIndex !== ownIndex && isEndpoint(current)) return current.path;
    for (let i = routeIndex + 1; i < routes.length; i++) {
      const next = routes[i];
      if (isEndpoint(next)) return next.path;
    }
    return undefined;
  }
  const path = c.req.routePath;
  return typeof path === 'string' && path.length > 0 && !path.endsWith('*') ? path : undefined;
}

/** The body the app already read, if it read it as JSON or form data. Never reads an unread body. */
async function parsedBody(c: HonoContextLike): Promise<unknown> {
  const cache = c.req.bodyCache as Record<string, unknown> | undefined;
  if (typeof cache !== 'object' || cache === null) return undefined;
  if (cache.parsedBody !== undefined) return await cache.parsedBody;
  if (cache.json !== undefined) return await cache.json;
  const type = c.req.raw.headers as unknown as { get?(name: string): string | null };
  if (cache.text !== undefined && /\bjson\b/i.test(type.get?.('content-type') ?? '')) {
    const text = await cache.text;
    // A body larger than this is not worth parsing twice for a few capped values.
    if (typeof text === 'string' && text.length <= 65_536) return JSON.parse(text);
  }
  return undefined;
}

/** Middleware recording every request: `app.use(vigilHono(vigil))`, first. */
export function vigilHono(vigil: Vigil): HonoMiddleware {
  const tracker = trackerOf(vigil);
  const hooks: ResponseHooks<HonoContextLike> | undefined = tracker && { tracker };
  return async function vigilMiddleware(c, next) {
    let state: RequestState | undefined;
    let node: NodeBindings | undefined;
    const ownIndex = c.req.routeIndex;
    try {
      node = nodeBindings(c.env);
      const view = node ? nodeRequestView(node.incoming) : fetchRequestView(c.req);
      state = hooks?.tracker.start(view, c, () => honoRoute(c, ownIndex));
      if (state && node && hooks) trackResponse(node.outgoing, state, c, hooks);
    } catch {
      state = undefined;
    }
    if (!state) return next();
    const s = state;
    try {
      await runInRequest(s, node?.incoming, node?.outgoing, next);
    } catch (error) {
      s.noteError(error);
      throw error;
    } finally {
      try {
        s.route ??= honoRoute(c, ownIndex);
        if (c.error !== undefined) s.noteError(c.error);
        if (tracker?.readsParams && typeof c.req.param === 'function') {
          s.params = (c.req.param as () => unknown).call(c.req);
        }
        if (tracker?.inspectsParams || s.graphql) s.body = await parsedBody(c).catch(() => undefined);
        if (!node) {
          const res = c.res;
          tracker?.finish(s, {
            statusCode: res?.status ?? 200,
            header: (name) => res?.headers.get(name) ?? undefined,
          });
        }
      } catch {
        // the response goes out whatever happens here
      }
    }
  };
}

export type { VigilEnforceOptions };

export type HonoEnforceMiddleware = ((
  c: HonoAnsweringContextLike,
  next: () => Promise<void>,
) => Promise<Response | undefined>) &
  EnforcementControls;

/**
 * Middleware enforcing Vigil's response decisions (see `vigilEnforce` of `@vigil/sdk/enforce` for what it does). Mount
 * it after `vigilHono` and after the app's authentication (what sets `c.var.user` or hono/jwt's `jwtPayload`), so that
 * user and API key decisions can apply. Pass the Vigil client first, or options only. A refused request is answered
 * with `c.body(...)`; the handlers after it do not run.
 *
 * @example
 * app.use(vigilHono(vigil));
 * app.use('/api/*', jwt({ secret }));
 * app.use(vigilHonoEnforce(vigil, { mode: 'enforce' }));
 */
export function vigilHonoEnforce(
  vigilOrOptions?: Vigil | VigilEnforceOptions,
  more: VigilEnforceOptions = {},
): HonoEnforceMiddleware {
  const enforcement = createEnforcement(vigilOrOptions, more);
  const middleware = async function vigilEnforceMiddleware(c: HonoAnsweringContextLike, next: () => Promise<void>) {
    // Without node:http underneath (no recording adapter's address either), only the forwarding headers are known.
    const answer = enforcement.answer(c, () => nodeBindings(c.env)?.incoming ?? fetchRequestView(c.req));
    if (answer === undefined) {
      await next();
      return;
    }
    return c.body(answer.body, answer.status, { ...answer.headers });
  };
  return Object.assign(middleware, enforcement.controls);
}
