/**
 * The one framework-neutral request handler every adapter calls. An adapter turns its framework's request and
 * response into a `RequestView` and a `ResponseView`; everything else (client address behind proxies, principal,
 * session, trace ids, redaction, the automatic security events) happens here, once, for every framework.
 */
import { Field, type FieldValue, memoByKey } from '@vigil/schema';
import { DEFAULT_AUTOMATIC_EVENTS } from './defaults.js';
import { FieldEncoder, type FieldKey } from './encode.js';
import { type IdHash, shortHash } from './fingerprint.js';
import { type GraphqlOperation, graphqlOperation } from './graphql.js';
import { collectInspection, type InspectLimits, type InspectMode } from './inspect.js';
import { createTrustedProxies, normaliseAddress, type TrustedProxies } from './proxy.js';
import { errorClassName, hideSecretSegments, type Redactor, secretSegments } from './redact.js';
import { isThenable, type Reporter } from './report.js';
import { activeSpanIds, parseTraceparent } from './trace-context.js';
import { validationFailure, validationFields } from './validation.js';
import { errorFields, idString, objectAccessFields } from './vocabulary.js';

export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** What the handler needs to know about an incoming request, at its start. */
export interface RequestView {
  /** HTTP method as received. */
  readonly method: string;
  /** Request target as received: path and query (`/users/4711?expand=1`). */
  readonly url: string;
  /** Headers with lower-case names, as node:http gives them. */
  readonly headers: HeaderMap;
  /** Address of the socket peer (the client, or the last proxy). */
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/** What the handler needs to know about the response, at its end. */
export interface ResponseView {
  readonly statusCode: number;
  /** The route template that matched (`/users/:id`), if the framework knows one. Never the raw path. */
  readonly route?: string;
  /** Bytes of body sent, when counted; otherwise the response's Content-Length is used. */
  readonly bodySize?: number;
  /** Reads a response header (Content-Length, rate-limit headers). */
  readonly header?: (name: string) => unknown;
  /** An error thrown by the route, if the adapter saw one. */
  readonly error?: unknown;
}

/** Who the request ran as. Every value is an id or a name, never a credential. */
export interface Principal {
  readonly userId?: string;
  readonly userName?: string;
  readonly roles?: readonly string[];
  readonly tenantId?: string;
  readonly apiKeyId?: string;
}

/** Tells the SDK who a request runs as. Gets the framework's request object (after authentication middleware ran). */
// biome-ignore lint/suspicious/noExplicitAny: the request object of whichever framework the app uses
export type IdentifyHook = (req: any) => Principal | null | undefined;

export interface AutomaticEvents {
  readonly loginFailure: string | null;
  readonly unauthorized: string | null;
  readonly forbidden: string | null;
  readonly tooManyRequests: string | null;
  readonly serverError: string | null;
  readonly invalidInput: string | null;
}

/**
 * Route parameters that name objects, for `object_access`: `true` for every parameter (its type is the path segment
 * before it), or parameter name → object type.
 */
export type AccessParams = boolean | Readonly<Record<string, string>>;

export interface RequestHandlerConfig {
  readonly proxies: TrustedProxies;
  /** No `trustedProxies` were configured: a forwarding header from an internal peer is worth a warning. */
  readonly noTrustedProxies?: boolean;
  readonly redactor: Redactor;
  readonly reporter: Reporter;
  readonly identify?: IdentifyHook;
  readonly sessionCookies: readonly string[];
  readonly loginRoutes: readonly string[];
  readonly automaticEvents?: Partial<AutomaticEvents>;
  readonly recordRequests: boolean;
  /** Paths whose successful GET / HEAD requests without a query record no `http_request` (health checks). */
  readonly skipPaths?: readonly string[];
  /** Paths of GraphQL endpoints (exact, or `*` and a suffix): their requests record the operation they run. */
  readonly graphqlPaths?: readonly string[];
  /** What of the request's input is recorded; `params` adds `vigil.inspect.*` to `http_request`. Default `url`. */
  readonly inspect?: InspectMode;
  readonly inspectLimits?: InspectLimits;
  /** Record `object_access` for the route parameters of successful requests. Default false. */
  readonly accessParams?: AccessParams;
  /** Send object ids hashed (with `hashId`). */
  readonly hashObjectIds?: boolean;
  /** How ids are hashed (session cookies, `hashObjectIds`): keyed, see fingerprint.ts. */
  readonly hashId: IdHash;
  /** Record an event in the context of a request (the client's event builder). */
  readonly emit: (type: string, fields: Record<string, unknown>, state: RequestState) => void;
  /**
   * Record the request's `http_request` event: `fields` is a JSON fragment of its own fields (already redacted), to
   * go after the request's start fields and `lateJson`.
   */
  readonly emitRequest: (state: RequestState, fields: string) => void;
}

/** One request in flight. Adapters keep it; helpers find it through context.ts. */
export class RequestState {
  /** `performance.now()` when the request started. */
  readonly startedAt = performance.now();
  /** Event types recorded during this request, so an automatic event does not repeat the app's own. */
  recorded: string[] | undefined;
  /** The route template, once the adapter knows it. */
  route: string | undefined;
  /** Asked for the route template when none was set (routing happens after the request starts). */
  routeResolver: (() => string | undefined) | undefined;
  /** An error thrown by the route, set by an error hook. */
  error: unknown;
  /** A validation error the framework handed to the route instead of throwing (Fastify's `attachValidation`). */
  validationError: unknown;
  finished = false;
  /** A request of `skipPaths`: if it succeeds, it records no `http_request`. */
  skippable = false;
  /** A request to one of `graphqlPaths`: its operation is read from its body or query when it ends. */
  graphql = false;
  /**
   * Route parameters and parsed body, noted by the adapter when the response ends (parameters for `inspect:
   * 'params'` and `accessParams`, the body for `inspect: 'params'` and GraphQL requests only).
   */
  params: unknown;
  body: unknown;
  /** The raw query string, kept only for `inspect: 'params'` and GraphQL requests. */
  query: string | undefined;
  /**
   * The response decision Vigil's own enforcement answered this request by (403, 429): its `http_request` names it,
   * and the collector keeps such requests out of detection, which must not feed on Vigil's own refusals.
   */
  answeredBy: { readonly id: string; readonly action: string } | undefined;
  private startFields: Readonly<Record<string, FieldValue>> | undefined;
  /** The route whose parameters were last checked for secrets in the path (see `RequestHandler.routeFound`). */
  private checkedRoute: string | undefined;

  constructor(
    /** The framework's request object, handed to `identify`. */
    readonly raw: unknown,
    readonly method: string,
    readonly path: string,
    /**
     * The fields known when the request started, already redacted, as a JSON fragment (`,"name":value` pairs): the
     * `http_request` event is written from it without ever building them as an object. The path in it changes once
     * when a route shows that a segment of it is a secret (`/reset/:token`).
     */
    public startJson: string,
    /** `url.path` in `startJson`, as a JSON fragment. */
    public pathJson: string,
    readonly headers: HeaderMap,
    private readonly handler: RequestHandler,
  ) {}

  /**
   * An error the app's error handling saw for this request. Before the request is recorded it goes into the
   * request's events (`app_error`, `error.type`); after (thrown once the response was sent, or answered by an error
   * handler after the client went away), it is recorded on its own as the fault it is.
   */
  noteError(error: unknown): void {
    if (this.error !== undefined) return;
    this.error = error;
    if (this.finished) this.handler.errorAfterFinish(this, error);
  }

  /** True when `handler` tracks this request (a second adapter of the same client must not track it again). */
  trackedBy(handler: RequestHandler): boolean {
    return this.handler === handler;
  }

  /** `startJson` with another path fragment (the start fields decoded again when next asked). */
  replacePath(pathJson: string): void {
    // A function, not the string: `$&`, `$'` in the client's path would be replacement patterns.
    this.startJson = this.startJson.replace(this.pathJson, () => pathJson);
    this.pathJson = pathJson;
    this.startFields = undefined;
  }

  /** The fields known when the request started, already redacted (decoded from `startJson` when first asked). */
  get fields(): Readonly<Record<string, FieldValue>> {
    this.startFields ??= JSON.parse(`{${this.startJson.slice(1)}}`) as Record<string, FieldValue>;
    return this.startFields;
  }

  /** The fields every event recorded during this request carries: request metadata, route and principal. */
  metadata(): Record<string, unknown> {
    return { ...this.fields, ...this.lateMetadata() };
  }

  /**
   * The part of the metadata known only later in the request (route, principal), not yet redacted. The rest,
   * `fields`, was redacted once when the request started.
   */
  lateMetadata(): Record<string, unknown> {
    const out = principalFields(this.handler.principal(this));
    const route = this.currentRoute();
    if (route !== undefined) out[Field.httpRoute] = route;
    return out;
  }

  currentRoute(): string | undefined {
    let route = this.route;
    if (route === undefined) {
      try {
        route = this.routeResolver?.();
      } catch {
        route = undefined;
      }
    }
    if (route !== undefined && route !== this.checkedRoute) {
      this.checkedRoute = route;
      this.handler.routeFound(this, route);
    }
    return route;
  }

  /** Note an event type recorded during this request. Bounded: automatic events look only for the first few. */
  noteRecorded(type: string): void {
    if (this.recorded === undefined) this.recorded = [type];
    else if (this.recorded.length < 32) this.recorded.push(type);
  }
}

/** Peers that are a proxy of the app's own when they forward: this host and private networks. */
const INTERNAL_PEERS = createTrustedProxies(['loopback', 'private']).proxies;

/** `object_access` events one request records at most (`accessParams`). */
const MAX_ACCESS_PER_REQUEST = 4;

/**
 * The object type of route parameter `name`: the literal path segment before it in the template (`/orders/:id` →
 * `orders`), else the parameter's own name (`/:slug`, `/users/:userId/:docId` → `docId`). Templates write
 * parameters as `:name` (Express, Fastify, Koa, Hono, with an optional pattern after the name) or `{name}`.
 */
export function objectTypeOf(route: string | undefined, name: string): string {
  const segments = route?.split('/') ?? [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const own = segment.startsWith(':')
      ? /^:([A-Za-z0-9_$]+)/.exec(segment)?.[1]
      : segment.startsWith('{')
        ? /^\{([^}:]+)/.exec(segment)?.[1]
        : undefined;
    if (own !== name) continue;
    const before = segments[i - 1];
    return before && !before.startsWith(':') && !before.startsWith('{') && !before.includes('*') ? before : name;
  }
  return name;
}

const MAX_HEADER_ID_LENGTH = 128;
/** Session hashes a request handler remembers, and the longest session id it remembers one for. */
const MAX_SESSION_HASHES = 256;
const MAX_CACHED_SESSION_CHARS = 256;

/** The fields the request handler writes on every request, prepared for encoding once per handler. */
function requestKeys(encoder: FieldEncoder) {
  return {
    method: encoder.repeatedKey(Field.httpRequestMethod),
    path: encoder.key(Field.urlPath),
    query: encoder.key(Field.urlQuery),
    client: encoder.repeatedKey(Field.clientAddress),
    peer: encoder.repeatedKey(Field.networkPeerAddress),
    port: encoder.key(Field.clientPort),
    userAgent: encoder.repeatedKey(Field.userAgentOriginal),
    traceId: encoder.key(Field.traceId),
    spanId: encoder.key(Field.spanId),
    requestId: encoder.key(Field.httpRequestId),
    session: encoder.key(Field.sessionId),
    requestSize: encoder.key(Field.httpRequestBodySize),
    route: encoder.repeatedKey(Field.httpRoute),
    status: encoder.key(Field.httpResponseStatusCode),
    duration: encoder.key(Field.httpServerRequestDuration),
    outcome: encoder.key(Field.eventOutcome),
    responseSize: encoder.key(Field.httpResponseBodySize),
    errorType: encoder.key(Field.errorType),
    graphqlName: encoder.repeatedKey(Field.graphqlOperationName),
    graphqlType: encoder.repeatedKey(Field.graphqlOperationType),
    graphqlOperations: encoder.key(Field.graphqlOperations),
    graphqlIntrospection: encoder.key(Field.graphqlIntrospection),
    graphqlDepth: encoder.key(Field.graphqlDepth),
    graphqlRepeatedField: encoder.key(Field.graphqlRepeatedField),
    graphqlRepeatedFieldCount: encoder.key(Field.graphqlRepeatedFieldCount),
    graphqlRootFields: encoder.key(Field.graphqlRootFields),
    graphqlPersistedQuery: encoder.key(Field.graphqlPersistedQuery),
    decisionId: encoder.key(Field.decisionId),
    decisionAction: encoder.key(Field.decisionAction),
  };
}

export class RequestHandler {
  private readonly automatic: AutomaticEvents;
  private readonly loginRoutes: ReadonlyArray<LoginRoute>;
  private readonly encoder: FieldEncoder;
  private readonly keys: ReturnType<typeof requestKeys>;
  private readonly principalKeys: Readonly<Record<PrincipalField, FieldKey>>;
  private readonly outcome: { readonly success: string; readonly failure: string };
  private readonly sessionHashes = new Map<string, string>();
  /** Per route template, `secretSegments` (remembered, as the collector does): most templates have none. */
  private readonly routeSecrets: (route: string) => readonly number[];
  private readonly skipPaths: ReadonlySet<string> | undefined;
  private readonly graphqlPaths: GraphqlPaths | undefined;
  /** Until the first warning: look for forwarded requests from an internal proxy that is not trusted. */
  private watchForwarding: boolean;

  constructor(private readonly config: RequestHandlerConfig) {
    this.skipPaths = config.skipPaths?.length ? new Set(config.skipPaths) : undefined;
    this.graphqlPaths = config.graphqlPaths?.length ? graphqlPaths(config.graphqlPaths) : undefined;
    this.watchForwarding = config.noTrustedProxies === true;
    this.automatic = { ...DEFAULT_AUTOMATIC_EVENTS, ...config.automaticEvents };
    this.loginRoutes = config.loginRoutes.map(loginRoute);
    this.encoder = new FieldEncoder(config.redactor);
    this.routeSecrets = memoByKey((route) => secretSegments(route, (name) => config.redactor.isSensitiveKey(name)));
    this.keys = requestKeys(this.encoder);
    this.principalKeys = {
      [Field.userId]: this.encoder.repeatedKey(Field.userId),
      [Field.userName]: this.encoder.key(Field.userName),
      [Field.userRoles]: this.encoder.key(Field.userRoles),
      [Field.tenantId]: this.encoder.repeatedKey(Field.tenantId),
      [Field.apiKeyId]: this.encoder.repeatedKey(Field.apiKeyId),
    };
    this.outcome = {
      success: this.encoder.redacted(this.keys.outcome, 'success'),
      failure: this.encoder.redacted(this.keys.outcome, 'failure'),
    };
  }

  /**
   * A request arrived. `raw` is the framework's request object (for `identify`). What the request tells about
   * itself is read here, redacted and encoded once, for every event the request records.
   */
  start(view: RequestView, raw: unknown, routeResolver?: () => string | undefined): RequestState {
    const { redactor, proxies } = this.config;
    const { encoder, keys } = this;
    const method = (typeof view.method === 'string' ? view.method : 'GET').toUpperCase().slice(0, 32);
    const { path, query } = splitTarget(typeof view.url === 'string' ? view.url : '/');
    const headers = view.headers ?? {};
    // As a URL: segments with escapes are judged decoded (`/cards/4111%201111%201111%201111`).
    const pathJson = encoder.redacted(keys.path, redactor.url(path));
    let json = encoder.string(keys.method, method) + pathJson;
    const inspect = this.config.inspect ?? 'url';
    if (query && inspect !== 'off') json += encoder.redacted(keys.query, redactor.query(query));
    const remote = view.remoteAddress;
    const peer = remote === undefined ? undefined : (normalisePeer(remote) ?? remote);
    const client = proxies.clientAddress(peer, headers);
    if (this.watchForwarding && peer !== undefined) this.checkForwarding(peer, headers);
    if (client !== undefined) json += encoder.string(keys.client, client);
    if (peer !== undefined) json += encoder.string(keys.peer, peer);
    if (client !== undefined && client === peer && typeof view.remotePort === 'number') {
      json += encoder.number(keys.port, view.remotePort);
    }
    const userAgent = firstHeader(headers['user-agent']);
    if (userAgent) json += encoder.string(keys.userAgent, userAgent);
    // OpenTelemetry's active server span first: its trace id is the caller's (when it honoured traceparent) or the
    // trace it started, and its span id is the one a trace viewer shows for this request.
    const trace = activeSpanIds() ?? parseTraceparent(firstHeader(headers.traceparent));
    if (trace) json += encoder.string(keys.traceId, trace.traceId) + encoder.string(keys.spanId, trace.spanId);
    const requestId = firstHeader(headers['x-request-id']);
    if (requestId) json += encoder.string(keys.requestId, requestId.slice(0, MAX_HEADER_ID_LENGTH));
    const session = sessionCookie(firstHeader(headers.cookie), this.config.sessionCookies);
    if (session) json += encoder.string(keys.session, this.sessionHash(session));
    const length = contentLength(firstHeader(headers['content-length']));
    if (length !== undefined) json += encoder.number(keys.requestSize, length);
    const state = new RequestState(raw, method, path, json, pathJson, headers, this);
    state.routeResolver = routeResolver;
    if (this.graphqlPaths?.matches(path)) state.graphql = true;
    if ((inspect === 'params' || state.graphql) && query) state.query = query;
    // Only a plain read of exactly that path: a query, another method or a failure is recorded as usual.
    if (this.skipPaths?.has(path) && !query && (method === 'GET' || method === 'HEAD')) state.skippable = true;
    return state;
  }

  /**
   * The request's route is known: when the template has parameters whose names are secrets (`/reset/:token`,
   * `/sessions/{sessionId}`), their segments of `url.path` are redacted in every event of the request from now on
   * (each event writes the path when it is recorded). Paths and templates whose segments do not line up (wildcards,
   * mount prefixes) are left as they are.
   */
  routeFound(state: RequestState, route: string): void {
    const redacted = hideSecretSegments(state.path, this.routeSecrets(route));
    if (redacted === undefined) return;
    state.replacePath(this.encoder.redacted(this.keys.path, this.config.redactor.url(redacted)));
  }

  /** An error noted after the request was recorded (`RequestState.noteError`): an `app_error` unless the app's 4xx. */
  errorAfterFinish(state: RequestState, error: unknown): void {
    const a = this.automatic;
    const status = statusOf(error);
    if (!a.serverError || (status !== undefined && status < 500) || validationFailure(error) !== undefined) return;
    if (state.recorded?.some((t) => t.startsWith('app_error') || t === a.serverError)) return;
    this.config.emit(a.serverError, { [Field.eventOutcome]: 'failure', ...errorFields(error) }, state);
  }

  /** The response was sent (or the connection closed). Records the automatic events and `http_request`. */
  finish(state: RequestState, response: ResponseView): void {
    if (state.finished) return;
    state.finished = true;
    if (response.route !== undefined) state.route = response.route;
    // Resolved once, now the route is final: it decides the path every event of the request writes (secrets in its
    // parameters), and the automatic events and `http_request` read it after without asking the framework again.
    const resolved = state.currentRoute();
    if (resolved !== undefined) state.route = resolved;
    const status = response.statusCode;
    const error = response.error ?? state.error;
    const durationSeconds = (performance.now() - state.startedAt) / 1000;
    const failure = status >= 400 || error !== undefined;

    // Every automatic event is about a failure: a success skips the generator altogether.
    if (failure) {
      for (const [type, fields] of this.automaticEvents(state, status, resolved, error, response)) {
        this.config.emit(type, { [Field.eventOutcome]: 'failure', ...fields }, state);
      }
    } else if (this.config.accessParams) {
      this.recordAccess(state);
    }

    if (!this.config.recordRequests || (state.skippable && !failure)) return;
    const { encoder, keys } = this;
    let json =
      encoder.number(keys.status, status) +
      encoder.seconds(keys.duration, durationSeconds) +
      (failure ? this.outcome.failure : this.outcome.success);
    // No body goes out for HEAD, 204 and 304, whatever the app wrote (Node.js drops it).
    const noBody = state.method === 'HEAD' || status === 204 || status === 304;
    const size = noBody ? 0 : (response.bodySize ?? contentLength(response.header?.('content-length')));
    if (size !== undefined) json += encoder.number(keys.responseSize, size);
    if (error !== undefined) json += encoder.redacted(keys.errorType, errorClassName(error));
    if (state.answeredBy !== undefined) {
      json +=
        encoder.string(keys.decisionId, state.answeredBy.id) +
        encoder.string(keys.decisionAction, state.answeredBy.action);
    }
    if (state.graphql) json += this.graphqlJson(state);
    if (this.config.inspect === 'params' && this.config.inspectLimits) {
      try {
        const input = { query: state.query, headers: state.headers, params: state.params, body: state.body };
        // Decided and redacted there: judged by name again, `vigil.inspect.body.password` = `{"$ne":null}` would
        // lose the operator it is sent for.
        json += encoder.fields(collectInspection(input, this.config.inspectLimits, this.config.redactor));
      } catch (problem) {
        this.config.reporter.warnOnce('internal', 'could not inspect a request; it is recorded without', problem);
      }
    }
    this.config.emitRequest(state, json);
  }

  /**
   * A request forwarded by a proxy on this host or network (loopback or private peer) while no proxy is trusted:
   * every request then has that proxy's address, and per-source detection sees one client. Said once. A public peer
   * is left alone: a forwarding header from the internet is what an attacker sends, and ignoring it is right.
   */
  private checkForwarding(peer: string, headers: HeaderMap): void {
    const header =
      headers['x-forwarded-for'] !== undefined
        ? 'X-Forwarded-For'
        : headers.forwarded !== undefined
          ? 'Forwarded'
          : undefined;
    if (header === undefined || !INTERNAL_PEERS.trusts(peer)) return;
    this.watchForwarding = false;
    this.config.reporter.warnOnce(
      'forwarding_ignored',
      `requests from ${peer} carry ${header}, but trustedProxies is not set: client.address is that proxy's ` +
        'address on every request, so per-source detection sees one client. If the proxy is yours, set ' +
        "trustedProxies (['private'], ['loopback'] or its CIDR; docs/sdk.md, \"Client address\")",
    );
  }

  /** The GraphQL operation of a request to a GraphQL path, as a JSON fragment; empty when it carries none. */
  private graphqlJson(state: RequestState): string {
    let operation: GraphqlOperation | undefined;
    try {
      operation = graphqlOperation(state.body, state.query);
    } catch (problem) {
      this.config.reporter.warnOnce('internal', 'could not read a GraphQL request; it is recorded without', problem);
    }
    if (operation === undefined) return '';
    const { encoder, keys } = this;
    let json = encoder.number(keys.graphqlOperations, operation.operations);
    if (operation.name !== undefined) json += encoder.string(keys.graphqlName, operation.name);
    if (operation.type !== undefined) json += encoder.string(keys.graphqlType, operation.type);
    if (operation.introspection) json += encoder.boolean(keys.graphqlIntrospection, true);
    if (operation.depth > 0) json += encoder.number(keys.graphqlDepth, operation.depth);
    if (operation.rootFields.length > 0) json += encoder.strings(keys.graphqlRootFields, operation.rootFields);
    if (operation.persistedQuery !== undefined) {
      json += encoder.string(keys.graphqlPersistedQuery, operation.persistedQuery);
    }
    const repeated = operation.repeatedField;
    if (repeated !== undefined) {
      json += encoder.string(keys.graphqlRepeatedField, repeated.name);
      json += encoder.number(keys.graphqlRepeatedFieldCount, repeated.count);
    }
    return json;
  }

  /** `object_access` for the route parameters `accessParams` names (a successful request's). */
  private recordAccess(state: RequestState): void {
    const params = asObject(state.params);
    if (params === undefined) return;
    const named = this.config.accessParams;
    const route = state.currentRoute();
    let recorded = 0;
    for (const name of Object.keys(params)) {
      // Taken from every route, a parameter named as a secret (`:token`) is no object id to record.
      if (typeof named !== 'object' && this.config.redactor.isSensitiveKey(name)) continue;
      const type =
        typeof named !== 'object' ? objectTypeOf(route, name) : Object.hasOwn(named, name) ? named[name] : undefined;
      const id = type === undefined ? undefined : idString(params[name]);
      if (type === undefined || id === undefined) continue;
      const fields = objectAccessFields(type, id, this.config.hashObjectIds ? this.config.hashId : undefined);
      this.config.emit('object_access', { ...fields, [Field.eventOutcome]: 'success' }, state);
      if (++recorded === MAX_ACCESS_PER_REQUEST) break;
    }
  }

  /** `lateMetadata`, encoded: the route and the principal as a JSON fragment. */
  lateJson(state: RequestState): string {
    const { encoder, keys } = this;
    let json = '';
    const route = state.currentRoute();
    if (route !== undefined) json += encoder.string(keys.route, route);
    eachPrincipalField(this.principal(state), (field, value) => {
      const key = this.principalKeys[field];
      json += typeof value === 'string' ? encoder.string(key, value) : encoder.strings(key, value);
    });
    return json;
  }

  /** The principal of a request: `identify(req)` if configured, else the conventions of common auth middlewares. */
  principal(state: RequestState): Principal | undefined {
    if (this.config.identify) {
      try {
        const given: unknown = this.config.identify(state.raw);
        if (isThenable(given)) {
          // An async hook: its answer comes too late for events written now, and a rejection must not become the
          // host's unhandled rejection.
          given.then(undefined, () => {});
          this.config.reporter.warnOnce(
            'hook_failed',
            'the identify(req) hook returned a Promise; it must return the principal itself (read what ' +
              'authentication already put on the request). The default is used instead',
          );
        } else {
          // Read here, inside the guard: the principal may be the app's own object, with getters that throw.
          const found = textPrincipal(given as Principal | null | undefined);
          if (found) return found;
        }
      } catch (error) {
        this.config.reporter.warnOnce(
          'hook_failed',
          'the identify(req) hook threw; the default is used instead',
          error,
        );
      }
    }
    try {
      return conventionalPrincipal(state.raw);
    } catch (error) {
      this.config.reporter.warnOnce(
        'identify_failed',
        "reading a request's user (req.user, req.auth, ctx.state.user) threw; such requests are recorded without a " +
          'principal (an identify(req) hook can read it another way)',
        error,
      );
      return undefined;
    }
  }

  private *automaticEvents(
    state: RequestState,
    status: number,
    route: string | undefined,
    error: unknown,
    response: ResponseView,
  ): Generator<[string, Record<string, unknown>]> {
    const reason = `http_${status}`;
    const a = this.automatic;
    const already = (...prefixes: string[]) =>
      state.recorded?.some((t) => prefixes.some((p) => t.startsWith(p))) ?? false;
    if (status === 401) {
      const type = this.isLoginRoute(state.method, route, state.path) ? a.loginFailure : a.unauthorized;
      if (type && !already('authn_', 'session_', type)) yield [type, { [Field.eventReason]: reason }];
    } else if (status === 403) {
      if (a.forbidden && !already('authz_fail', 'malicious_', a.forbidden)) {
        yield [
          a.forbidden,
          {
            [Field.eventReason]: reason,
            [Field.objectType]: 'endpoint',
            [Field.objectId]: `${state.method} ${route ?? state.path}`,
          },
        ];
      }
    } else if (status === 429) {
      // The vocabulary requires the limit; it is known when the app's rate limiter advertises it.
      const limit = rateLimit((name) => response.header?.(name));
      if (a.tooManyRequests && limit !== undefined && !already('excess_', a.tooManyRequests)) {
        yield [a.tooManyRequests, { [Field.eventReason]: reason, [Field.limitValue]: limit }];
      }
    }
    // A validation error answered with a 4xx is the client's bad input, not a fault of the app.
    const invalid = status < 500 ? validationFailure(error ?? state.validationError) : undefined;
    if (invalid && a.invalidInput && !already('input_validation_fail', a.invalidInput)) {
      yield [a.invalidInput, { [Field.eventReason]: reason, ...validationFields(invalid) }];
    }
    // A thrown error is the app's fault when it is answered with a 5xx, or when nothing answered it with a status
    // of its own (a response already under way); one the app maps to a 4xx (its NotFound, its Conflict) is an answer.
    const ownStatus = statusOf(error);
    const serverError =
      status >= 500 ||
      (error !== undefined && invalid === undefined && status < 400 && (ownStatus === undefined || ownStatus >= 500));
    if (serverError && a.serverError && !already('app_error', a.serverError)) {
      yield [
        a.serverError,
        error !== undefined
          ? errorFields(error)
          : {
              // No error object (the app answered 5xx itself): the status is the error type (OpenTelemetry's rule
              // for error.type), and the endpoint tells occurrences apart.
              [Field.errorType]: String(status),
              [Field.errorFingerprint]: shortHash(`${status} ${state.method} ${route ?? state.path}`),
            },
      ];
    }
  }

  /**
   * The hash of a session id. A client sends the same session cookie on many requests, so the hashes of the most
   * recent ones are kept (a small LRU, bounded in entries and in the length of what it keeps) rather than computing
   * the HMAC on every request.
   */
  private sessionHash(session: string): string {
    const cache = this.sessionHashes;
    let hash = cache.get(session);
    if (hash !== undefined) {
      cache.delete(session);
      cache.set(session, hash);
      return hash;
    }
    hash = this.config.hashId(session);
    if (session.length <= MAX_CACHED_SESSION_CHARS) {
      if (cache.size >= MAX_SESSION_HASHES) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(session, hash);
    }
    return hash;
  }

  private isLoginRoute(method: string, route: string | undefined, path: string): boolean {
    return this.loginRoutes.some((r) => {
      if (r.method !== undefined && r.method !== method) return false;
      // A template as written; a path as a server would route it: without case, a trailing slash aside.
      if (r.suffix === undefined) return r.route === route || r.path === withoutTrailingSlash(path.toLowerCase());
      return endsWithSegment(route, r.suffix) || endsWithSegment(path, r.suffix);
    });
  }
}

interface GraphqlPaths {
  matches(path: string): boolean;
}

/** `graphqlPaths`: exact paths (`/api/graphql`), or `*` and a suffix (`/graphql`), compared without case. */
function graphqlPaths(entries: readonly string[]): GraphqlPaths {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const text = entry.trim().toLowerCase();
    if (text.startsWith('*')) suffixes.push(withoutTrailingSlash(text.slice(1)));
    else if (text.length > 0) exact.add(withoutTrailingSlash(text));
  }
  const exactLengths = new Set([...exact].map((e) => e.length));
  return {
    // Every request asks: nothing is allocated for a path that cannot match.
    matches(path) {
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) === 0x2f /* / */) end--;
      for (const suffix of suffixes) {
        const start = end - suffix.length;
        if (start < 0 || suffix.length === 0) continue;
        // ASCII case folded: most paths already differ in their last character.
        if ((path.charCodeAt(end - 1) | 0x20) !== (suffix.charCodeAt(suffix.length - 1) | 0x20)) continue;
        if (path.slice(start, end).toLowerCase() === suffix) return true;
      }
      return exactLengths.has(end) && exact.has(path.slice(0, end).toLowerCase());
    },
  };
}

// An entry of `loginRoutes`: `/login`, `POST /login`, or `POST */login` (any route ending so).
interface LoginRoute {
  readonly method?: string;
  readonly route: string;
  /** For a leading `*`: the rest, lower-cased (`/login`). */
  readonly suffix?: string;
  /** Otherwise: the entry as a path, lower-cased, without a trailing slash. */
  readonly path?: string;
}

function loginRoute(entry: string): LoginRoute {
  const text = entry.trim();
  const space = text.indexOf(' ');
  const method = space === -1 ? undefined : text.slice(0, space).toUpperCase();
  const route = space === -1 ? text : text.slice(space + 1).trim();
  return route.startsWith('*')
    ? { method, route, suffix: withoutTrailingSlash(route.slice(1).toLowerCase()) }
    : { method, route, path: withoutTrailingSlash(route.toLowerCase()) };
}

/** `text` without one trailing slash (`/login/` → `/login`), `/` itself kept. */
function withoutTrailingSlash(text: string): string {
  return text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text;
}

/** True when `value` ends with `suffix` (a trailing slash aside), compared without case. */
function endsWithSegment(value: string | undefined, suffix: string): boolean {
  if (value === undefined) return false;
  return withoutTrailingSlash(value).toLowerCase().endsWith(suffix);
}

/** The event fields a principal fills. */
type PrincipalField =
  | typeof Field.userId
  | typeof Field.userName
  | typeof Field.userRoles
  | typeof Field.tenantId
  | typeof Field.apiKeyId;

/**
 * Each field of a principal, as an event carries it. The principal is one `principal()` gave: its ids are text
 * already (textPrincipal, conventionalPrincipal).
 */
function eachPrincipalField(
  principal: Principal | undefined,
  put: (field: PrincipalField, value: string | string[]) => void,
): void {
  if (!principal) return;
  if (principal.userId !== undefined) put(Field.userId, principal.userId);
  if (principal.userName !== undefined) put(Field.userName, principal.userName);
  if (principal.roles !== undefined && principal.roles.length > 0) {
    put(Field.userRoles, principal.roles.slice(0, MAX_ROLES));
  }
  if (principal.tenantId !== undefined) put(Field.tenantId, principal.tenantId);
  if (principal.apiKeyId !== undefined) put(Field.apiKeyId, principal.apiKeyId);
}

/** The principal's fields, ready for an event (see eachPrincipalField). */
export function principalFields(principal: Principal | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  eachPrincipalField(principal, (field, value) => {
    out[field] = value;
  });
  return out;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** Roles an event carries at most (the collector's limit on a list field): a principal with more keeps the first. */
const MAX_ROLES = 64;

function roleList(value: unknown): string[] | undefined {
  if (typeof value === 'string' && value.length > 0) return [value];
  if (Array.isArray(value)) {
    const roles = value.filter((r): r is string => typeof r === 'string' && r.length > 0);
    return roles.length > 0 ? roles : undefined;
  }
  return undefined;
}

/**
 * The conventions of common Node.js authentication middlewares:
 * - `req.user` (Passport, @fastify/jwt, most session setups): `id`, `sub` or `_id`; `roles` or `role`; `tenantId`.
 * - `req.auth` (express-jwt 7+) or `req.auth.payload` (express-oauth2-jwt-bearer): JWT claims `sub`, `roles` /
 *   `role`, `tenant` / `tid` (Entra ID), and `azp` (the authorised client) as the API key id.
 * - Koa: `ctx.state.user`. Hono: `c.var.user`, or the claims in `c.var.jwtPayload` (hono/jwt).
 */
export function defaultIdentify(req: unknown): Principal | undefined {
  try {
    return conventionalPrincipal(req);
  } catch {
    return undefined; // a getter of the app's that throws: no principal, never an exception into the app
  }
}

/**
 * A principal from `identify`, as the events carry it. `identify` is the app's code: whatever it returns, only ids and
 * names as text are kept (a numeric id becomes its digits, an ObjectId its hex string; anything else is left out),
 * read once, so an odd principal never makes the collector reject the event.
 */
function textPrincipal(principal: Principal | null | undefined): Principal | undefined {
  if (!principal) return undefined;
  const roles = principal.roles;
  return {
    userId: idString(principal.userId),
    userName: idString(principal.userName),
    roles: Array.isArray(roles) ? roles.map(idString).filter((r): r is string => r !== undefined) : undefined,
    tenantId: idString(principal.tenantId),
    apiKeyId: idString(principal.apiKeyId),
  };
}

function conventionalPrincipal(req: unknown): Principal | undefined {
  const r = asObject(req);
  if (!r) return undefined;
  // Koa keeps the user in ctx.state (koa-passport, koa-jwt); Hono in c.var (`user`, or hono/jwt's `jwtPayload`).
  const state = asObject(r.state);
  const vars = asObject(r.var);
  const user = asObject(r.user) ?? asObject(state?.user) ?? asObject(vars?.user);
  const authObject = asObject(r.auth) ?? asObject(vars?.jwtPayload);
  const claims = asObject(authObject?.payload) ?? authObject;
  const userId = idString(user?.id) ?? idString(user?.sub) ?? idString(user?._id) ?? idString(claims?.sub);
  const roles = roleList(user?.roles) ?? roleList(user?.role) ?? roleList(claims?.roles) ?? roleList(claims?.role);
  const tenantId =
    idString(user?.tenantId) ?? idString(user?.tenant) ?? idString(claims?.tenant) ?? idString(claims?.tid);
  const apiKeyId = idString(claims?.azp);
  if (userId === undefined && roles === undefined && tenantId === undefined && apiKeyId === undefined) return undefined;
  return { userId, roles, tenantId, apiKeyId };
}

function firstHeader(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  if (typeof value === 'number') return String(value);
  return undefined;
}

function contentLength(value: unknown): number | undefined {
  const s = typeof value === 'number' ? String(value) : firstHeader(value);
  if (s === undefined || !/^\d{1,15}$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

/** `/a/b?x=1#f` → path `/a/b`, query `x=1`. An absolute-form target keeps only its path and query. */
function splitTarget(target: string): { path: string; query: string } {
  let t = target;
  if (!t.startsWith('/')) {
    const scheme = t.indexOf('://');
    if (scheme !== -1) {
      // The authority ends at the first `/`, `?` or `#`: `http://host?x=1` has path `/` and query `x=1`.
      let end = scheme + 3;
      while (end < t.length && t[end] !== '/' && t[end] !== '?' && t[end] !== '#') end++;
      t = end === t.length || t[end] !== '/' ? `/${t.slice(end)}` : t.slice(end);
    }
  }
  const hash = t.indexOf('#');
  if (hash !== -1) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q === -1 ? { path: t, query: '' } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

const peers = new Map<string, string | undefined>();
const MAX_PEERS = 1024;

/**
 * A socket peer's address, normalised (`::ffff:10.0.0.1` → `10.0.0.1`). A kept-alive connection sends many requests
 * from one address, so recent answers are kept (bounded; the map starts over when full).
 */
function normalisePeer(address: string): string | undefined {
  let normal = peers.get(address);
  if (normal === undefined && !peers.has(address)) {
    normal = normaliseAddress(address);
    if (peers.size >= MAX_PEERS) peers.clear();
    if (address.length <= 64) peers.set(address, normal);
  }
  return normal;
}

function sessionCookie(header: string | undefined, names: readonly string[]): string | undefined {
  if (!header || names.length === 0) return undefined;
  const found = new Map<string, string>();
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (!found.has(name)) found.set(name, part.slice(eq + 1).trim());
  }
  for (const name of names) {
    const value = found.get(name);
    if (value) return cookieValue(value);
  }
  return undefined;
}

/**
 * A cookie's value as session middlewares read it (the `cookie` package): without its quotes, percent-decoded. So
 * `sid=abc`, `sid="abc"` and `sid=a%62c`, one session to the app, are one `session.id`.
 */
function cookieValue(raw: string): string {
  const unquoted = raw.length > 1 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!unquoted.includes('%')) return unquoted;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}

function statusOf(error: unknown): number | undefined {
  const e = asObject(error);
  const status = e?.status ?? e?.statusCode;
  return typeof status === 'number' && status >= 100 && status <= 599 ? status : undefined;
}

/** The limit a rate limiter advertised: `RateLimit-Limit`, `X-RateLimit-Limit`, `RateLimit-Policy` or `RateLimit`. */
function rateLimit(header: ResponseView['header']): number | undefined {
  if (!header) return undefined;
  const read = (name: string) => {
    try {
      return firstHeader(header(name));
    } catch {
      return undefined;
    }
  };
  for (const name of ['ratelimit-limit', 'x-ratelimit-limit', 'ratelimit-policy']) {
    const m = /^\s*(\d{1,12})/.exec(read(name) ?? '');
    if (m) return Number(m[1]);
  }
  // The structured form of the later drafts: `RateLimit-Policy: "default";q=100;w=60`.
  const quota = /(?:^|;)\s*q=(\d{1,12})/.exec(read('ratelimit-policy') ?? '');
  if (quota) return Number(quota[1]);
  const combined = /(?:^|[,;\s])limit=(\d{1,12})/.exec(read('ratelimit') ?? '');
  return combined ? Number(combined[1]) : undefined;
}
