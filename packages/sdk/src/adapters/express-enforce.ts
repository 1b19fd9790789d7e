/**
 * Express middleware enforcing Vigil's response decisions. Dry-run is the default: it only records what it would
 * have done (`decision_enforced` events with `vigil.decision.mode: dry-run`). In `enforce` mode a block answers 403,
 * a throttle 429 with `Retry-After`, a flag passes and is recorded. Vigil unreachable: every request passes.
 *
 * @example
 * import { createVigil } from '@vigil/sdk';
 * import { vigilExpress } from '@vigil/sdk/express';
 * import { vigilEnforce } from '@vigil/sdk/enforce';
 * const vigil = createVigil({ service: 'orders', trustedProxies: ['10.0.0.0/8'] });
 * app.use(vigilExpress(vigil));
 * app.use(authenticate); // so that user and API key decisions can apply
 * app.use(vigilEnforce(vigil, { mode: 'enforce' }));
 */
import { Field } from '@vigil/schema';
import type { Vigil } from '../client.js';
import { currentRequest } from '../context.js';
import {
  type CachedDecision,
  DecisionCache,
  type DecisionCacheOptions,
  type DecisionSubject,
  type EnforceMode,
  Enforcer,
  type EnforcerStats,
} from '../enforce.js';
import { createTrustedProxies, type ForwardedHeader } from '../proxy.js';
import { defaultIdentify, type RequestState } from '../request.js';
import { trackerOf } from '../tracker.js';
import type { ExpressMiddleware, ExpressRequestLike } from './express.js';
import type { NodeResponseLike } from './shared.js';

export interface VigilEnforceOptions extends DecisionCacheOptions {
  /** The client whose events record what was done (and whose request context gives the client address). */
  vigil?: Vigil;
  /** `dry-run` (default) or `enforce`. */
  mode?: EnforceMode;
  /**
   * Proxies whose forwarding headers are believed, when no `vigilExpress` middleware ran before this one (with one,
   * its client address is used). IPs, CIDRs, `loopback`, `private`, `linklocal`. Default none.
   */
  trustedProxies?: readonly string[];
  forwardedHeader?: ForwardedHeader;
  /** Who the request runs as. Default: the request context of `vigilExpress`, else `req.user` / `req.auth`. */
  // biome-ignore lint/suspicious/noExplicitAny: the framework's request object
  identify?: (req: any) => { userId?: string; apiKeyId?: string } | null | undefined;
  /** At most one `decision_enforced` event per decision per this interval. Default 10 000. */
  recordIntervalMillis?: number;
}

export interface VigilEnforceMiddleware extends ExpressMiddleware {
  readonly enforcer: Enforcer;
  readonly cache: DecisionCache;
  stats(): EnforcerStats;
  /** Stop polling Vigil. */
  close(): void;
}

interface HeaderWritable extends NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * Create the middleware and start polling the decision stream (`endpoint` and `token` default to `VIGIL_ENDPOINT`
 * and `VIGIL_INGEST_TOKEN`). Pass the Vigil client first, or options only.
 */
export function vigilEnforce(vigilOrOptions?: Vigil | VigilEnforceOptions, more: VigilEnforceOptions = {}) {
  // A disabled client has no tracker but is still a client: tell them apart by their methods.
  const isClient =
    trackerOf(vigilOrOptions) !== undefined ||
    (typeof vigilOrOptions === 'object' &&
      vigilOrOptions !== null &&
      typeof (vigilOrOptions as Vigil).event === 'function' &&
      typeof (vigilOrOptions as Vigil).stats === 'function');
  const options: VigilEnforceOptions = isClient
    ? { ...more, vigil: vigilOrOptions as Vigil }
    : { ...((vigilOrOptions as VigilEnforceOptions | undefined) ?? {}), ...more };
  const vigil = options.vigil;
  const cache = new DecisionCache(options);
  const enforcer = new Enforcer(cache, {
    mode: options.mode === 'enforce' ? 'enforce' : 'dry-run',
    ...(options.recordIntervalMillis !== undefined ? { recordIntervalMillis: options.recordIntervalMillis } : {}),
    record: (decision: CachedDecision, mode: EnforceMode) =>
      vigil?.event('decision_enforced', {
        [Field.decisionId]: decision.id,
        [Field.decisionAction]: decision.action,
        [Field.decisionMode]: mode,
        [Field.decisionScope]: decision.scope,
      }),
  });
  const proxies = createTrustedProxies(options.trustedProxies ?? [], options.forwardedHeader).proxies;
  cache.start();

  const subjectOf = (req: ExpressRequestLike): DecisionSubject => {
    const state = currentRequest();
    let clientAddress = state?.fields[Field.clientAddress];
    if (typeof clientAddress !== 'string') {
      clientAddress = proxies.clientAddress(req.socket?.remoteAddress, req.headers);
    }
    let principal: { userId?: string | undefined; apiKeyId?: string | undefined } | null | undefined;
    if (options.identify) principal = options.identify(req);
    else if (state) {
      const late = state.lateMetadata();
      principal = { userId: stringOf(late[Field.userId]), apiKeyId: stringOf(late[Field.apiKeyId]) };
    } else principal = defaultIdentify(req);
    return {
      clientAddress: typeof clientAddress === 'string' ? clientAddress : undefined,
      userId: principal?.userId,
      apiKeyId: principal?.apiKeyId,
    };
  };

  const middleware = function vigilEnforceMiddleware(req, res, next) {
    let verdict: ReturnType<Enforcer['evaluate']>;
    try {
      verdict = enforcer.evaluate(subjectOf(req));
    } catch {
      next(); // never stand between the app and its requests
      return;
    }
    if (verdict.kind !== 'block' && verdict.kind !== 'throttle') {
      next();
      return;
    }
    const out = res as HeaderWritable;
    // Vigil's own 403/429 is not the app refusing someone: without this, the request would also be recorded as an
    // authz_fail / excess event and feed detection with its own enforcement.
    markAnswered(currentRequest(), verdict.decision);
    out.statusCode = verdict.kind === 'block' ? 403 : 429;
    out.setHeader('content-type', 'application/json; charset=utf-8');
    out.setHeader('cache-control', 'no-store');
    if (verdict.kind === 'throttle') out.setHeader('retry-after', String(verdict.retryAfterSeconds));
    // Deliberately bare: nothing about which rule, which decision, or for how long.
    out.end(verdict.kind === 'block' ? '{"error":"forbidden"}' : '{"error":"too_many_requests"}');
  } as VigilEnforceMiddleware;
  return Object.assign(middleware, {
    enforcer,
    cache,
    stats: () => enforcer.stats(),
    close: () => cache.close(),
  });
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function markAnswered(
  state: RequestState | undefined,
  decision: { readonly id: string; readonly action: string },
): void {
  state?.noteRecorded('authz_fail');
  state?.noteRecorded('excess_rate_limit_exceeded');
  if (state) state.answeredBy = { id: decision.id, action: decision.action };
}
