/**
 * Fastify 4 and 5. Fastify is an optional peer dependency and is never imported: its objects are used through the
 * structural types below. The plugin is marked to skip Fastify's encapsulation (as `fastify-plugin` would), so its
 * hooks see every route of the instance it is registered on.
 *
 * @example
 * import Fastify from 'fastify';
 * import { createVigil } from '@vigil/sdk';
 * import { vigilFastify } from '@vigil/sdk/fastify';
 * const vigil = createVigil({ service: 'orders' });
 * const app = Fastify();
 * await app.register(vigilFastify(vigil));
 * app.addHook('onRequest', authenticate); // sets request.user
 * await app.register(vigilFastifyEnforce(vigil, { mode: 'enforce' }));
 * app.get('/users/:id', handler);
 */
import type { Vigil } from '../client.js';
import type { RequestState } from '../request.js';
import { trackerOf } from '../tracker.js';
import { createEnforcement, type EnforcementControls, type VigilEnforceOptions } from './enforcement.js';
import {
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  type ResponseHooks,
  routeHooks,
  runInRequest,
  trackedState,
  trackResponse,
} from './shared.js';

export interface FastifyRequestLike {
  readonly raw: NodeRequestLike;
  /** Fastify 4.10+ and 5: the route's options, `url` being its template. */
  readonly routeOptions?: { readonly url?: string };
  /** Fastify 4 before 4.10. */
  readonly routerPath?: string;
  readonly params?: unknown;
  readonly body?: unknown;
  /** Set instead of a thrown error on routes with `attachValidation: true`. */
  readonly validationError?: unknown;
}

export interface FastifyReplyLike {
  readonly raw: NodeResponseLike;
}

/** A reply that can be answered (Fastify's own `code`, `header`, `send`). */
export interface FastifyAnsweringReplyLike extends FastifyReplyLike {
  code(statusCode: number): FastifyAnsweringReplyLike;
  header(name: string, value: string): FastifyAnsweringReplyLike;
  send(payload: string): unknown;
}

type Done = (error?: Error) => void;

export interface FastifyInstanceLike {
  /** The HTTP server (Fastify creates it with the instance). */
  readonly server?: { on?(event: 'request', listener: (req: NodeRequestLike, res: NodeResponseLike) => void): unknown };
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => void): unknown;
  addHook(
    name: 'preHandler',
    hook: (request: FastifyRequestLike, reply: FastifyAnsweringReplyLike, done: Done) => void,
  ): unknown;
  addHook(
    name: 'onError',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, error: unknown, done: Done) => void,
  ): unknown;
}

export type FastifyPluginLike = ((instance: FastifyInstanceLike, options: unknown, done: Done) => void) & {
  [key: symbol]: unknown;
};

/** The route template of a Fastify request; undefined when no route matched (a 404). */
export function fastifyRoute(request: FastifyRequestLike): string | undefined {
  // `routerPath` only where `routeOptions` does not exist (before Fastify 4.10): on a 404 `routeOptions.url` is
  // undefined, and reading `routerPath` would make Fastify 4 print a deprecation warning (FSTDEP017).
  const options = request.routeOptions;
  const url = options !== undefined ? options.url : request.routerPath;
  return typeof url === 'string' && url.length > 0 ? url : undefined;
}

/** Servers already watched, per client's hooks. */
const watched = new WeakMap<object, WeakSet<object>>();

/**
 * Requests Fastify answers before any hook runs (`FST_ERR_BAD_URL`: a path with a malformed escape, `/%zz`, as
 * fuzzers send) would not be recorded. The server's `request` listeners run in order, Fastify's first: when this one
 * runs, such a request is already answered and untracked, while every other is either tracked or not yet answered.
 */
function watchEarlyAnswers(instance: FastifyInstanceLike, hooks: ResponseHooks<FastifyRequestLike>): void {
  const server = instance.server;
  if (typeof server?.on !== 'function') return;
  let servers = watched.get(hooks);
  if (servers === undefined) {
    servers = new WeakSet();
    watched.set(hooks, servers);
  }
  if (servers.has(server)) return;
  servers.add(server);
  server.on('request', (req, res) => {
    try {
      if (res.writableEnded !== true || trackedState(res, hooks as ResponseHooks<never>) !== undefined) return;
      const state = hooks.tracker.start(nodeRequestView(req), req);
      if (state === undefined) return;
      hooks.tracker.finish(state, {
        statusCode: res.statusCode,
        header: (name: string) => res.getHeader(name),
      });
    } catch {
      // never in the way of the server
    }
  });
}

/** The plugin: `app.register(vigilFastify(vigil))`, before the routes. */
export function vigilFastify(vigil: Vigil): FastifyPluginLike {
  const tracker = trackerOf(vigil);
  const routed =
    tracker && routeHooks(tracker, fastifyRoute, (request) => ({ params: request.params, body: request.body }));
  const hooks = routed && {
    ...routed,
    ended(state: RequestState, request: FastifyRequestLike) {
      routed.ended(state, request);
      // A schema error the route was handed (attachValidation) instead of Fastify answering it: the automatic
      // input_validation_fail sees it if the route answers 4xx.
      if (request.validationError !== undefined) state.validationError ??= request.validationError;
    },
  };
  const plugin = (instance: FastifyInstanceLike, _options: unknown, done: Done): void => {
    if (hooks) watchEarlyAnswers(instance, hooks);
    instance.addHook('onRequest', (request, reply, next) => {
      let state: RequestState | undefined;
      try {
        state = hooks?.tracker.start(nodeRequestView(request.raw), request, () => fastifyRoute(request));
        if (state && hooks) trackResponse(reply.raw, state, request, hooks);
      } catch {
        state = undefined;
      }
      if (state) {
        const s = state;
        runInRequest(s, request.raw, reply.raw, next);
      } else next();
    });
    instance.addHook('onError', (_request, reply, error, next) => {
      try {
        const state = hooks && trackedState(reply.raw, hooks);
        state?.noteError(error);
      } catch {
        // never stand between an error and Fastify's own handling
      }
      next();
    });
    done();
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@vigil/sdk',
  });
}

export type { VigilEnforceOptions };

export type FastifyEnforcePluginLike = FastifyPluginLike & EnforcementControls;

/**
 * The plugin enforcing Vigil's response decisions (see `vigilEnforce` of `@vigil/sdk/enforce` for what it does):
 * `app.register(vigilFastifyEnforce(vigil, options))`, after `vigilFastify`. Pass the Vigil client first, or options
 * only. It looks decisions up in a `preHandler` hook, the last one before the route's handler, so that the app's
 * authentication in `onRequest` and `preValidation` hooks (and `preHandler` hooks registered before it) has set
 * `request.user` and user and API key decisions can apply. A refused request is answered with `reply.send`, through
 * Fastify's own reply path; the handler does not run.
 *
 * @example
 * await app.register(vigilFastify(vigil));
 * app.addHook('onRequest', async (request) => { request.user = await authenticate(request); });
 * await app.register(vigilFastifyEnforce(vigil, { mode: 'enforce' }));
 */
export function vigilFastifyEnforce(
  vigilOrOptions?: Vigil | VigilEnforceOptions,
  more: VigilEnforceOptions = {},
): FastifyEnforcePluginLike {
  const enforcement = createEnforcement(vigilOrOptions, more);
  const plugin = (instance: FastifyInstanceLike, _options: unknown, done: Done): void => {
    instance.addHook('preHandler', (request, reply, next) => {
      const answer = enforcement.answer(request, () => request.raw);
      if (answer === undefined) {
        next();
        return;
      }
      reply.code(answer.status);
      for (const name in answer.headers) reply.header(name, answer.headers[name]!);
      // Answered from the hook without calling next: Fastify ends the request here, through onSend and onResponse.
      reply.send(answer.body);
    });
    done();
  };
  return Object.assign(plugin, enforcement.controls, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@vigil/sdk enforce',
  });
}
