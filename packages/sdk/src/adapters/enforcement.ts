/**
 * What every framework's enforcement middleware shares: its options, the decision cache and enforcer behind it, who a
 * request comes from, and the bare 403 / 429 it answers with. A framework's glue only asks `answer` and, when there is
 * one, writes it its own way (so the framework's reply path, hooks and the recording adapter all see it).
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
import type { NodeRequestLike, NodeResponseLike } from './shared.js';

export interface VigilEnforceOptions extends DecisionCacheOptions {
  /** The client whose events record what was done (and whose request context gives the client address). */
  vigil?: Vigil;
  /** `dry-run` (default) or `enforce`. */
  mode?: EnforceMode;
  /**
   * Proxies whose forwarding headers are believed, when no recording adapter of the client (`vigilExpress`,
   * `vigilFastify`, `vigilKoa`, `vigilHono`, `wrap`) runs around this one (with one, its client address is used).
   * IPs, CIDRs, `loopback`, `private`, `linklocal`. Default none.
   */
  trustedProxies?: readonly string[];
  forwardedHeader?: ForwardedHeader;
  /**
   * Who the request runs as, given the framework's request object (Express `req`, Fastify `request`, Koa `ctx`, Hono
   * `c`, node:http `req`). Default: the request context of the recording adapter, else the conventions of
   * `defaultIdentify` (`req.user` / `req.auth`, Koa's `ctx.state.user`, Hono's `c.var.user`).
   */
  // biome-ignore lint/suspicious/noExplicitAny: the framework's request object
  identify?: (req: any) => { userId?: string; apiKeyId?: string } | null | undefined;
  /** At most one `decision_enforced` event per decision per this interval. Default 10 000. */
  recordIntervalMillis?: number;
}

/** What every enforcement middleware carries besides being one. */
export interface EnforcementControls {
  readonly enforcer: Enforcer;
  readonly cache: DecisionCache;
  stats(): EnforcerStats;
  /** Stop polling Vigil. */
  close(): void;
}

/** The answer to a refused request. Deliberately bare: nothing about which rule, which decision, or for how long. */
export interface EnforcedAnswer {
  readonly status: 403 | 429;
  /** `content-type`, `cache-control` and, for a throttle, `retry-after`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface Enforcement {
  readonly controls: EnforcementControls;
  /**
   * The answer to give a request instead of running the app, or undefined to let it through (every dry-run request,
   * and every request when anything goes wrong: it never throws). `request` is the framework's request object, for
   * `identify`; `peer` gives the node:http request (socket and headers), asked only when no recording adapter
   * worked out the client address.
   */
  answer(request: unknown, peer: () => NodeRequestLike | undefined): EnforcedAnswer | undefined;
}

const FORBIDDEN: EnforcedAnswer = {
  status: 403,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: '{"error":"forbidden"}',
};

/**
 * The cache and enforcer of one middleware, polling the decision stream from now on (`endpoint` and `token` default
 * to `VIGIL_ENDPOINT` and `VIGIL_INGEST_TOKEN`). The Vigil client first, or options only.
 */
export function createEnforcement(
  vigilOrOptions: Vigil | VigilEnforceOptions | undefined,
  more: VigilEnforceOptions,
): Enforcement {
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

  const subjectOf = (
    state: RequestState | undefined,
    request: unknown,
    peer: () => NodeRequestLike | undefined,
  ): DecisionSubject => {
    let clientAddress = state?.fields[Field.clientAddress];
    if (typeof clientAddress !== 'string') {
      const req = peer();
      clientAddress = req && proxies.clientAddress(req.socket?.remoteAddress, req.headers);
    }
    let principal: { userId?: string | undefined; apiKeyId?: string | undefined } | null | undefined;
    if (options.identify) principal = options.identify(request);
    else if (state) {
      const late = state.lateMetadata();
      principal = { userId: stringOf(late[Field.userId]), apiKeyId: stringOf(late[Field.apiKeyId]) };
    } else principal = defaultIdentify(request);
    return {
      clientAddress: typeof clientAddress === 'string' ? clientAddress : undefined,
      userId: principal?.userId,
      apiKeyId: principal?.apiKeyId,
    };
  };

  return {
    controls: { enforcer, cache, stats: () => enforcer.stats(), close: () => cache.close() },
    answer(request, peer) {
      let verdict: ReturnType<Enforcer['evaluate']>;
      let state: RequestState | undefined;
      try {
        state = currentRequest();
        verdict = enforcer.evaluate(subjectOf(state, request, peer));
      } catch {
        return undefined; // never stand between the app and its requests
      }
      if (verdict.kind === 'block') {
        markAnswered(state, verdict.decision);
        return FORBIDDEN;
      }
      if (verdict.kind === 'throttle') {
        markAnswered(state, verdict.decision);
        return {
          status: 429,
          headers: { ...FORBIDDEN.headers, 'retry-after': String(verdict.retryAfterSeconds) },
          body: '{"error":"too_many_requests"}',
        };
      }
      return undefined;
    },
  };
}

/** A node:http response, as Express and plain listeners hand it. */
export interface WritableResponseLike extends NodeResponseLike {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** Write an answer to a node:http response and end it. */
export function writeAnswer(res: WritableResponseLike, answer: EnforcedAnswer): void {
  res.statusCode = answer.status;
  for (const name in answer.headers) res.setHeader(name, answer.headers[name]!);
  res.end(answer.body);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Vigil's own 403/429 is not the app refusing someone: without this, the request would also be recorded as an
 * authz_fail / excess event and feed detection with its own enforcement.
 */
function markAnswered(
  state: RequestState | undefined,
  decision: { readonly id: string; readonly action: string },
): void {
  state?.noteRecorded('authz_fail');
  state?.noteRecorded('excess_rate_limit_exceeded');
  if (state) state.answeredBy = { id: decision.id, action: decision.action };
}
