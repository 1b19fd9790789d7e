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
 * app.get('/users/:id', handler);
 */
import type { Vigil } from '../client.js';
import { runWithRequest } from '../context.js';
import type { RequestState } from '../request.js';
import { trackerOf } from '../tracker.js';
import {
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  routeHooks,
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

type Done = (error?: Error) => void;

export interface FastifyInstanceLike {
  addHook(name: 'onRequest', hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: Done) => void): unknown;
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
    instance.addHook('onRequest', (request, reply, next) => {
      let state: RequestState | undefined;
      try {
        state = hooks?.tracker.start(nodeRequestView(request.raw), request, () => fastifyRoute(request));
        if (state && hooks) trackResponse(reply.raw, state, request, hooks);
      } catch {
        state = undefined;
      }
      if (state) runWithRequest(state, next);
      else next();
    });
    instance.addHook('onError', (_request, reply, error, next) => {
      try {
        const state = hooks && trackedState(reply.raw, hooks);
        if (state && state.error === undefined) state.error = error;
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
