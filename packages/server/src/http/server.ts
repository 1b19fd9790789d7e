/**
 * The one HTTP server: ingest, read API, dashboard, health and metrics on one port. Routing is a plain table; every error
 * becomes `{"error": {"code", "message"}}` with the status from errors.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BehaviourDetector } from '@vigil/engine';
import type { Actor, AlertManager } from '../alerts/manager.js';
import { type RoutingVersions, routingVersionToJson } from '../alerts/routing-versions.js';
import type { Silences } from '../alerts/silences.js';
import { endpointBaseline, listEndpoints, markFalsePositive, principalProfile } from '../api/baselines.js';
import { buildInventory } from '../api/inventory.js';
import { receiverRoutes } from '../api/receivers.js';
import {
  actorOf,
  alertHistory,
  getAlert,
  getEvent,
  jsonBody,
  listAlerts,
  listEvents,
  listSilences,
  silenceBody,
} from '../api/routes.js';
import { sessionRoutes } from '../api/session.js';
import { decisionRoutes } from '../decisions/routes.js';
import type { DecisionService } from '../decisions/service.js';
import { RETRY_AFTER_SECONDS, VigilError } from '../errors.js';
import { decodeOtlpBody, type OtlpSignal, otlpToEvents, rejectedOrigins } from '../ingest/otlp.js';
import { encodeExportResponse, encodeStatus } from '../ingest/protobuf.js';
import { decodeEventsBody, mediaType } from '../ingest/vigil-events.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { ReceiverNotifier } from '../notify/provider.js';
import { otlpSourceName, type Pipeline, POSTED_EVENTS_SOURCE } from '../pipeline/pipeline.js';
import type { Store } from '../store/store.js';
import type { TokenChecker } from './auth.js';
import { readActionBody, readBody, sendJson } from './body.js';
import { type DashboardFiles, dashboardRoutes } from './dashboard.js';
import { type RouteHandler, Router, requestUrl } from './router.js';
import type { SessionStore } from './sessions.js';

export interface HttpDeps {
  readonly pipeline: Pipeline;
  readonly alerts: AlertManager;
  readonly silences: Silences;
  readonly routing: RoutingVersions;
  /** The imported OpenAPI document, if any (for the inventory). */
  readonly openapi?: unknown;
  /** The running behaviour detector, when baselines are on. */
  readonly baselines: () => BehaviourDetector | undefined;
  readonly store: Store;
  readonly tokens: TokenChecker;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly maxBodyBytes: number;
  readonly maxEventsPerRequest: number;
  readonly maxConcurrentIngest: number;
  /** Decisions API and stream (docs/response.md). */
  readonly decisions?: DecisionService;
  /** The configured receivers, for their health check and test notification (docs/receivers.md). */
  readonly receivers?: readonly ReceiverNotifier[];
  /** Dashboard sessions (the same store the token checker takes cookies from); without it, no sign-in route. */
  readonly sessions?: SessionStore;
  /** The dashboard's files; undefined answers its routes with a 404 saying it is not installed. */
  readonly dashboard?: DashboardFiles;
}

type Handler = RouteHandler;

/** The OTLP/HTTP routes, whose failures are answered as OTLP says (`sendOtlpStatus`). */
const OTLP_ROUTES = new Set(['/v1/logs', '/v1/traces']);

const isProtobuf = (type: string) => type === 'application/x-protobuf' || type === 'application/protobuf';

/**
 * OTLP answers name their encoding exactly: the Collector's exporter compares the header to `application/json` and
 * ignores a partial success (or a failure's Status) sent with a `charset` parameter.
 */
const OTLP_JSON = { 'content-type': 'application/json' };

/**
 * A failure on an OTLP route: OTLP/HTTP gives every 4xx and 5xx answer a google.rpc.Status body in the request's
 * encoding (protobuf for a protobuf request, JSON otherwise), which exporters and the Collector decode to log its
 * message. Vigil's own `{"error": ...}` body would not decode there.
 */
function sendOtlpStatus(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string>,
): void {
  if (isProtobuf(mediaType(req.headers['content-type']))) {
    const body = encodeStatus(message);
    res.writeHead(status, {
      'content-type': 'application/x-protobuf',
      'content-length': body.length,
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(body);
  } else {
    sendJson(res, status, { message }, { ...OTLP_JSON, ...headers });
  }
}

export function createHttpServer(deps: HttpDeps): Server {
  const { metrics, tokens, store, log } = deps;
  let ingestInFlight = 0;

  /** Bound the bodies held in memory at once: under a flood, refuse early rather than buffer without limit. */
  async function bounded(work: () => Promise<void>): Promise<void> {
    // Answered as every error is; the body is not read, and the answer closes the connection (`closeUnread`).
    if (ingestInFlight >= deps.maxConcurrentIngest) {
      throw new VigilError('overloaded', 'too many ingest requests at once; retry');
    }
    ingestInFlight++;
    try {
      await work();
    } finally {
      ingestInFlight--;
    }
  }

  const ingestEvents: Handler = async (req, res) => {
    tokens.require(req, 'ingest');
    await bounded(async () => {
      const body = await readBody(req, deps.maxBodyBytes);
      const batch = decodeEventsBody(body, req.headers['content-type'], deps.maxEventsPerRequest);
      const result = await deps.pipeline.submit(batch.items, POSTED_EVENTS_SOURCE, batch.rejected);
      const payload = { accepted: result.accepted, duplicates: result.duplicates, rejected: result.rejected };
      if (result.accepted === 0 && result.duplicates === 0 && result.rejected.length > 0) {
        metrics.ingestRequestsRejected.inc({ reason: 'all_events_invalid' });
        sendJson(res, 422, {
          error: { code: 'all_events_invalid', message: `all ${result.rejected.length} events were rejected` },
          ...payload,
        });
        return;
      }
      sendJson(res, 200, payload);
    });
  };

  // OTLP/HTTP: the answer is an Export*ServiceResponse in the request's encoding, with partial success.
  const ingestOtlp =
    (signal: OtlpSignal): Handler =>
    async (req, res) => {
      tokens.require(req, 'ingest');
      await bounded(async () => {
        const type = mediaType(req.headers['content-type']);
        const body = await readBody(req, deps.maxBodyBytes);
        // Copied context makes events larger than the body: twice what a JSON body may hold, and no more events.
        const batch = otlpToEvents(signal, decodeOtlpBody(signal, body, type), {
          maxEvents: deps.maxEventsPerRequest,
          maxChars: 2 * deps.maxBodyBytes,
        });
        if (batch.skipped > 0) metrics.otlpSkipped.inc({ signal }, batch.skipped);
        if (batch.droppedFields > 0) metrics.otlpFieldsDropped.inc({ signal }, batch.droppedFields);
        const source = otlpSourceName(signal);
        const result = await deps.pipeline.submit(batch.items, source, batch.rejected);
        // OTLP counts what was sent (spans, log records), not the events Vigil made of them.
        const rejected = rejectedOrigins(batch, result.rejected);
        const what = signal === 'logs' ? 'log record(s)' : 'span(s)';
        const first = result.rejected[0]?.issues[0];
        const message = first ? `${rejected} ${what} rejected; first: ${first.field} ${first.message}` : '';
        if (isProtobuf(type)) {
          const out = encodeExportResponse(rejected, message);
          res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': out.length });
          res.end(out);
        } else {
          const key = signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans';
          sendJson(
            res,
            200,
            rejected > 0 ? { partialSuccess: { [key]: String(rejected), errorMessage: message } } : {},
            OTLP_JSON,
          );
        }
      });
    };

  const api =
    (fn: (url: URL, params: Readonly<Record<string, string>>, req: IncomingMessage) => Promise<unknown>): Handler =>
    async (req, res, url, params) => {
      tokens.require(req, 'api');
      sendJson(res, 200, await fn(url, params, req));
    };

  /** An admin action: a small JSON body naming who acts (`actor`) and why (`comment`). */
  const action =
    (fn: (id: string, who: Actor) => Promise<unknown>): Handler =>
    async (req, res, _url, params) => {
      tokens.require(req, 'api');
      const body = await readActionBody(req);
      sendJson(res, 200, await fn(params.id!, actorOf(body, req)));
    };

  const router = new Router<Handler>()
    .add('POST', '/v1/events', ingestEvents)
    .add('POST', '/v1/logs', ingestOtlp('logs'))
    .add('POST', '/v1/traces', ingestOtlp('traces'))
    .add(
      'GET',
      '/api/v1/alerts',
      api((url) => listAlerts(store, url.searchParams)),
    )
    .add(
      'GET',
      '/api/v1/alerts/:id',
      api((_url, p) => getAlert(store, p.id!)),
    )
    .add(
      'GET',
      '/api/v1/alerts/:id/history',
      api((_url, p) => alertHistory(store, p.id!)),
    )
    .add(
      'POST',
      '/api/v1/alerts/:id/acknowledge',
      action((id, who) => deps.alerts.acknowledge(id, who)),
    )
    .add(
      'POST',
      '/api/v1/alerts/:id/resolve',
      action((id, who) => deps.alerts.resolve(id, who)),
    )
    .add('POST', '/api/v1/alerts/:id/false-positive', async (req, res, _url, p) => {
      tokens.require(req, 'api');
      const body = await readActionBody(req);
      const who = actorOf(body, req);
      sendJson(res, 200, await markFalsePositive({ ...deps, store }, p.id!, who, jsonBody(body)));
    })
    .add(
      'GET',
      '/api/v1/alerting/routing',
      api(async () => routingVersionToJson(deps.routing.current())),
    )
    .add(
      'GET',
      '/api/v1/alerting/routing/versions',
      api(async () => ({ versions: (await deps.routing.history()).map(routingVersionToJson) })),
    )
    .add('PUT', '/api/v1/alerting/routing', async (req, res) => {
      tokens.require(req, 'api');
      const body = await readBody(req, 256 * 1024, 'a routing change takes 256 KiB');
      sendJson(res, 200, routingVersionToJson(await deps.routing.update(jsonBody(body), actorOf(body, req))));
    })
    .add('DELETE', '/api/v1/alerting/routing', async (req, res) => {
      tokens.require(req, 'api');
      sendJson(res, 200, routingVersionToJson(await deps.routing.reset(actorOf(await readActionBody(req), req))));
    })
    .add(
      'GET',
      '/api/v1/inventory',
      api(async () => buildInventory(deps.baselines(), deps.openapi)),
    )
    .add(
      'GET',
      '/api/v1/baselines/endpoints',
      api(async () => listEndpoints(deps.baselines)),
    )
    .add(
      'GET',
      '/api/v1/baselines/endpoint',
      api(async (url) => endpointBaseline(deps.baselines, url.searchParams)),
    )
    .add(
      'GET',
      '/api/v1/baselines/principal',
      api(async (url) => principalProfile(deps.baselines, url.searchParams)),
    )
    .add(
      'GET',
      '/api/v1/silences',
      api(async (url) => ({ silences: listSilences(deps.silences, url) })),
    )
    .add('POST', '/api/v1/silences', async (req, res) => {
      tokens.require(req, 'api');
      sendJson(res, 201, await deps.silences.create(silenceBody(await readActionBody(req), req)));
    })
    .add('DELETE', '/api/v1/silences/:id', async (req, res, _url, p) => {
      tokens.require(req, 'api');
      const who = actorOf(await readActionBody(req), req);
      sendJson(res, 200, await deps.silences.expire(p.id!, who.name));
    })
    .add(
      'GET',
      '/api/v1/events',
      api((url) => listEvents(store, url.searchParams)),
    )
    .add(
      'GET',
      '/api/v1/events/:id',
      api((_url, p) => getEvent(store, p.id!)),
    )
    .add('GET', '/healthz', async (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .add('GET', '/metrics', async (req, res) => {
      tokens.require(req, 'api');
      const text = metrics.registry.render();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      res.end(text);
    });
  if (deps.decisions) for (const r of decisionRoutes(deps.decisions, tokens)) router.add(r.method, r.path, r.handler);
  for (const r of receiverRoutes({ receivers: deps.receivers ?? [], tokens, metrics, log })) {
    router.add(r.method, r.path, r.handler);
  }
  if (deps.sessions) for (const r of sessionRoutes(deps.sessions, tokens)) router.add(r.method, r.path, r.handler);
  for (const r of dashboardRoutes(deps.dashboard)) router.add(r.method, r.path, r.handler);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req.url);
    const pathname = url?.pathname ?? '';
    // Told as the router reads the path, empty segments left out: `//v1/events` is ingest, and counted as such.
    const area = /^\/*([^/]*)/.exec(pathname)?.[1];
    const isIngest = area === 'v1';
    // What metrics name the request by: the route's pattern, never what the client wrote (a label per random path
    // would grow without end, and a path can hold anything, a token pasted in the wrong place included).
    let route = 'unmatched';
    try {
      if (url === undefined) throw new VigilError('invalid_parameter', 'the request target is not a valid path');
      const match = router.match(req.method ?? 'GET', pathname);
      if (match !== undefined && 'allow' in match) {
        throw new VigilError('method_not_allowed', `${req.method} is not allowed on ${pathname}`, undefined, {
          allow: match.allow.join(', '),
        });
      }
      if (!match) throw new VigilError('not_found', `no route ${pathname}`);
      route = match.pattern;
      await match.handler(req, res, url, match.params);
    } catch (error) {
      const known = error instanceof VigilError ? error : undefined;
      // A client that went away mid-body: nothing to answer, and no fault of the server's.
      const gone = !known && isClientGone(req, error);
      if (!known && !gone)
        log.error('request failed', { path: pathname, error: (error as Error).stack ?? String(error) });
      const e = known ?? new VigilError('internal', 'internal error; see the server log');
      if (e.code === 'unauthorized' || e.code === 'forbidden') metrics.authFailures.inc({ reason: e.code });
      if (isIngest) metrics.ingestRequestsRejected.inc({ reason: gone ? 'client_closed' : e.code });
      if (gone) {
        res.destroy();
      } else if (!res.headersSent) {
        const headers: Record<string, string> = { ...e.headers };
        if (e.code === 'unauthorized') headers['www-authenticate'] = 'Bearer';
        const retryAfter = RETRY_AFTER_SECONDS[e.code];
        if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
        if (OTLP_ROUTES.has(route)) {
          sendOtlpStatus(req, res, e.status, e.message, { ...headers, ...closeUnread(req) });
          return;
        }
        sendJson(
          res,
          e.status,
          { error: { code: e.code, message: e.message }, ...e.details },
          {
            ...headers,
            ...closeUnread(req),
          },
        );
      } else {
        res.destroy();
      }
    } finally {
      const status = String(res.statusCode);
      if (isIngest) metrics.ingestRequests.inc({ route, status });
      else if (area === 'api') metrics.apiRequests.inc({ status });
    }
  };
  // Node checks the first two every `connectionsCheckingInterval`, 30 s unless set: a connection trickling its headers
  // would be closed up to 30 s after its time.
  const timeouts = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5000 };
  return createServer({ ...timeouts, connectionsCheckingInterval: 2000 }, (req, res) => {
    // Whatever escapes the handler ends this request, never the process.
    handle(req, res).catch((error: unknown) => {
      log.error('request failed', { error: (error as Error).stack ?? String(error) });
      res.destroy();
    });
  });
}

/**
 * The header that closes the connection after answering a request whose body was not read (refused as too large,
 * without a valid token, or because too many were in flight). Node would otherwise drain the rest of the body to
 * reuse the connection, and a client trickling a refused body would hold that connection for as long as it kept
 * sending, long after the answer and past every request timeout.
 */
function closeUnread(req: IncomingMessage): Record<string, string> {
  return req.complete ? {} : { connection: 'close' };
}

/** True when a request failed because its client closed the connection before sending its whole body. */
function isClientGone(req: IncomingMessage, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return !req.complete && (req.destroyed || code === 'ECONNRESET' || (error as Error)?.message === 'aborted');
}
