/**
 * Plain node:http: wrap a request listener.
 *
 * @example
 * import { createServer } from 'node:http';
 * import { createVigil } from '@vigil/sdk';
 * import { wrap } from '@vigil/sdk/node';
 * const vigil = createVigil({ service: 'orders' });
 * createServer(wrap(vigil, handler, { route: (req) => myRouter.match(req)?.template })).listen(3000);
 *
 * Enforcing response decisions in the listener, after its authentication:
 * const enforce = vigilNodeEnforce(vigil, { mode: 'enforce' });
 * createServer(wrap(vigil, (req, res) => {
 *   req.user = authenticate(req);
 *   if (enforce.check(req, res)) return; // refused, and answered
 *   route(req, res);
 * }));
 */

import type { Vigil } from '../client.js';
import { noteThrownFrom } from '../context.js';
import { isThenable } from '../report.js';
import type { RequestState } from '../request.js';
import { trackerOf } from '../tracker.js';
import {
  createEnforcement,
  type EnforcementControls,
  type VigilEnforceOptions,
  type WritableResponseLike,
  writeAnswer,
} from './enforcement.js';
import {
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  routeHooks,
  runInRequest,
  trackResponse,
} from './shared.js';

export interface WrapOptions<Req> {
  /** The route template of a request (`/users/:id`), if the app's router can tell. Without it `http.route` is omitted. */
  route?: (req: Req) => string | undefined;
  /** The route parameters of a request (`{ id: '4711' }`), for `inspect: 'params'` and `accessParams` (called only then). */
  params?: (req: Req) => Record<string, unknown> | undefined;
}

/**
 * Wrap a node:http request listener so each request is recorded and helpers inside it know their request. The
 * listener's behaviour is unchanged: its return value is passed through, and what it throws is rethrown.
 */
export function wrap<Req extends NodeRequestLike, Res extends NodeResponseLike, R>(
  vigil: Vigil,
  handler: (req: Req, res: Res) => R,
  options: WrapOptions<Req> = {},
): (req: Req, res: Res) => R {
  const tracker = trackerOf(vigil);
  if (!tracker) return handler;
  // A body parser in front of the handler may have left the parsed body on the request.
  const hooks = routeHooks<Req>(
    tracker,
    (req) => options.route?.(req),
    (req) => ({ params: options.params?.(req), body: (req as { body?: unknown }).body }),
  );
  return function wrapped(this: unknown, req: Req, res: Res): R {
    let state: RequestState | undefined;
    try {
      const resolveRoute = options.route ? () => options.route?.(req) : undefined;
      state = tracker.start(nodeRequestView(req), req, resolveRoute);
      if (state) trackResponse(res, state, req, hooks);
    } catch {
      state = undefined;
    }
    if (!state) return handler.call(this, req, res);
    const s = state;
    return runInRequest(s, req, res, () => {
      try {
        const result = handler.call(this, req, res);
        if (isThenable(result)) {
          // Observe a rejection without handling it: the promise returned in its place settles as the handler's
          // did, so a caller that handles it handles the rejection, and one nobody handles stays unhandled.
          return result.then(undefined, (error: unknown) => {
            s.noteError(error);
            throw error;
          }) as R;
        }
        return result;
      } catch (error) {
        s.noteError(error);
        // Rethrown out of the request's context: a crash it causes is told its request from here.
        noteThrownFrom(error, s);
        throw error;
      }
    });
  };
}

export type { VigilEnforceOptions };

export interface NodeEnforcer extends EnforcementControls {
  /**
   * Look the request's decisions up. True when it is refused: it has been answered (403, or 429 with `Retry-After`)
   * and the listener must return without writing to `res`. False lets it through (always, in dry-run).
   */
  check(req: NodeRequestLike, res: WritableResponseLike): boolean;
}

/**
 * Enforce Vigil's response decisions in a plain node:http listener (see `vigilEnforce` of `@vigil/sdk/enforce` for
 * what it does): call `check(req, res)` in the listener `wrap` wraps, after its authentication put the user on `req`
 * (`req.user`, or what `identify` reads), and return when it answers true. Pass the Vigil client first, or options
 * only.
 *
 * @example
 * const enforce = vigilNodeEnforce(vigil, { mode: 'enforce' });
 * createServer(wrap(vigil, (req, res) => {
 *   if (enforce.check(req, res)) return;
 *   res.end('ok');
 * }));
 */
export function vigilNodeEnforce(
  vigilOrOptions?: Vigil | VigilEnforceOptions,
  more: VigilEnforceOptions = {},
): NodeEnforcer {
  const enforcement = createEnforcement(vigilOrOptions, more);
  return {
    ...enforcement.controls,
    check(req, res) {
      const answer = enforcement.answer(req, () => req);
      if (answer === undefined) return false;
      writeAnswer(res, answer);
      return true;
    },
  };
}
