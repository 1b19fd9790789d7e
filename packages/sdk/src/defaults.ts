/**
 * Every default of the SDK, in one place. `VigilOptions` (options.ts) documents each option and points here;
 * docs/sdk.md lists the same values. Change a default here and nowhere else.
 */
export const DEFAULTS = {
  /** `http` sends batches to the collector; `stdout` writes one JSON line per event for teams that ship logs. */
  mode: 'http',
  /** Collector base URL. None: read `VIGIL_ENDPOINT`, otherwise the SDK runs disabled and warns once. */
  endpoint: undefined,
  /** Ingest token. None: read `VIGIL_INGEST_TOKEN`, otherwise the SDK runs disabled and warns once. */
  token: undefined,
  /**
   * `service.name` on every event. None: `OTEL_SERVICE_NAME`, then `npm_package_name` (set when started by an npm
   * script, not by `node app.js`), otherwise `unknown_service:node` (OpenTelemetry's conventions).
   */
  service: undefined,
  /** Events waiting to be sent; past this, new events are dropped and counted as `queue_full`. */
  maxQueueSize: 10_000,
  /**
   * Bytes of queued events (UTF-8); past this, new events are dropped and counted as `queue_full`. With events of
   * ordinary size the count bound is reached first (10 000 × ~500 bytes); this one holds when events are large.
   */
  maxQueueBytes: 16 * 1024 * 1024,
  /** Events per request to the collector. */
  maxBatchSize: 500,
  /** A partial batch is sent at the latest this long after its first event was queued. */
  flushIntervalMillis: 1000,
  /**
   * Compress request bodies with gzip (`Content-Encoding: gzip`). Off: compressing costs the app about 1.5 µs of CPU
   * per event, more than building it, and saves bytes only where the link to the collector is narrow.
   */
  gzip: false,
  /**
   * The HTTP proxy to the collector. None: `HTTPS_PROXY` / `HTTP_PROXY` (lower case first, by the endpoint's
   * scheme), unless `NO_PROXY` names the endpoint's host or the endpoint is loopback (outbound.ts).
   */
  proxy: undefined,
  /** Attempts after the first one, for network errors, 408, 429 and 5xx. Then the batch counts as dropped. */
  maxRetries: 5,
  /** First backoff ceiling; each retry doubles it (full jitter: a random wait between 0 and the ceiling). */
  initialBackoffMillis: 500,
  /** Backoff ceiling, and the longest `Retry-After` the SDK honours. */
  maxBackoffMillis: 30_000,
  /** One request to the collector is aborted after this long. */
  requestTimeoutMillis: 10_000,
  /** `close()`, `beforeExit` and `SIGTERM` stop waiting for the collector after this long. */
  closeTimeoutMillis: 5000,
  /** A single event larger than this (serialised JSON) is dropped as `too_large`, never sent. */
  maxEventBytes: 64 * 1024,
  /** Longer strings are cut (the collector's own limit, PARSE_DEFAULTS.maxStringLength, is the same). */
  maxStringLength: 8192,
  /** Flush on `beforeExit` and `SIGTERM` (see docs/sdk.md, "Shutdown"). */
  flushOnExit: true,
  /** Peers whose forwarding headers are believed. None: `client.address` is always the socket peer. */
  trustedProxies: [] as readonly string[],
  /** Which header a trusted proxy sets: `x-forwarded-for` (nginx, most load balancers) or `forwarded` (RFC 7239). */
  forwardedHeader: 'x-forwarded-for',
  /** Extra key names or dotted paths to redact, on top of the built-in list (redact.ts). */
  redact: [] as readonly string[],
  /**
   * Cookies whose value identifies a session; `session.id` is a keyed hash (fingerprint.ts) of the first one found.
   * The defaults of express-session, @fastify/session and koa-session, and two common names.
   */
  sessionCookies: ['connect.sid', 'sessionId', 'koa.sess', 'sid', 'session'] as readonly string[],
  // Route templates (or `METHOD /template`) whose 401 means a failed login; a leading `*` matches any start
  // (`POST */login`: `/login`, `/api/v1/auth/login`). The default names the usual login endpoints; `[]` turns it off.
  loginRoutes: [
    'POST */login',
    'POST */log-in',
    'POST */signin',
    'POST */sign-in',
    'POST */sign_in',
    'POST */logon',
    'POST */authenticate',
    'POST */session',
    'POST */sessions',
    'POST */token',
  ] as readonly string[],
  /**
   * Paths of GraphQL endpoints, exact (`/api/graphql`) or `*` and a suffix: their requests record the operation they
   * run (name, type, batch size, introspection; never the document). `[]` turns it off.
   */
  graphqlPaths: ['*/graphql'] as readonly string[],
  /**
   * Hash object ids (of `vigil.access()`, `accessParams` and every helper that names an object) with the keyed hash of
   * fingerprint.ts instead of sending them as they are.
   */
  hashObjectIds: false,
  /**
   * Record `object_access` from route parameters of successful requests: `true` for every parameter (object type:
   * the path segment before it), or `{ parameter: objectType }` for the named ones. Off: the app calls
   * `vigil.access()` where it knows better.
   */
  accessParams: false as boolean | Readonly<Record<string, string>>,
  /** Record one `http_request` event per request. Automatic security events are recorded either way. */
  recordRequests: true,
  /** Paths whose successful GET / HEAD requests without a query record no `http_request`. None by default. */
  skipPaths: [] as readonly string[],
  /**
   * What of a request's input is recorded: `off` (the path only, no query string), `url` (path and query,
   * redacted) or `params` (also path parameters, query parameters, parsed body leaves and `inspectHeaders`, under
   * `vigil.inspect.*`, for payload detection). Bodies are never read by default: they hold the most personal data.
   */
  inspect: 'url',
  /** Headers whose values `inspect: 'params'` records (lower-case names). Sensitive ones are always redacted. */
  inspectHeaders: ['user-agent', 'referer', 'x-forwarded-host', 'content-type'] as readonly string[],
  /** `inspect: 'params'`: a longer inspected value is cut to this many characters. */
  inspectMaxValueChars: 256,
  /** `inspect: 'params'`: characters of inspected values per request; what does not fit is left out. */
  inspectMaxRequestChars: 4096,
  /** `inspect: 'params'`: inspected values per request. */
  inspectMaxFields: 32,
  /** Write diagnostics to stderr. */
  debug: false,
} as const;

/**
 * Which event the request handler records for a response status, on top of the `http_request` event. `null`
 * switches one off. A helper event of the same kind recorded by the app during the request replaces it, so a
 * login handler that calls `vigil.authn.loginFail()` and answers 401 produces one failure, not two.
 */
export const DEFAULT_AUTOMATIC_EVENTS = {
  /** 401 on a route in `loginRoutes`. */
  loginFailure: 'authn_login_fail',
  /**
   * 401 anywhere else. Off by default: a 401 there is usually a missing or expired credential, which no OWASP
   * type describes without guessing (it is neither a login nor provably a token reuse). The `http_request` event
   * still carries `event.outcome: failure`; detection rules count those.
   */
  unauthorized: null,
  /** 403. */
  forbidden: 'authz_fail',
  /** 429: the app's own rate limiter said no. */
  tooManyRequests: 'excess_rate_limit_exceeded',
  /** 5xx, and errors thrown by route handlers. */
  serverError: 'app_error',
  /**
   * A 4xx answering a validation error the SDK recognises (validation.ts): Fastify's schema and JSON body errors, and
   * body-parser, celebrate, zod, valibot, ajv, joi or class-validator errors that reached an adapter's error hook.
   */
  invalidInput: 'input_validation_fail',
} as const;

/** Length in hex digits of the hashes used for `session.id`, hashed object ids and fingerprints. */
export const HASH_HEX_LENGTH = 16;

/** Where the collector takes events (PRODUCT.md, user-facing contracts). */
export const EVENTS_PATH = '/v1/events';
