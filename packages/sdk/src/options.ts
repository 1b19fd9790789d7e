/**
 * The options of `createVigil`, and their resolution: explicit option, then environment variable, then the default
 * from defaults.ts. A bad value never throws into the host: it is reported (naming the option) and its default used.
 */
import { readFileSync } from 'node:fs';
import { isKnownEventType } from '@vigil/schema';
import { DEFAULT_AUTOMATIC_EVENTS, DEFAULTS } from './defaults.js';
import { INSPECT_MODES, type InspectMode } from './inspect.js';
import { isLoopbackHost, type OutboundProxy, proxyFor } from './outbound.js';
import type { ForwardedHeader } from './proxy.js';
import type { ErrorHook, Reporter } from './report.js';
import type { AccessParams, AutomaticEvents, IdentifyHook } from './request.js';

export interface VigilOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:7070`. Env `VIGIL_ENDPOINT`. Required in `http` mode. */
  endpoint?: string;
  /** Ingest token. Env `VIGIL_INGEST_TOKEN`. Required in `http` mode. */
  token?: string;
  /**
   * `service.name` of every event. Default: env `OTEL_SERVICE_NAME` (as OpenTelemetry SDKs read it), else
   * `npm_package_name`, else `unknown_service:node`.
   */
  service?: string;
  /** `service.version` of every event. Default: none. */
  serviceVersion?: string;
  /** `deployment.environment.name` of every event. Default: none. */
  environment?: string;
  /**
   * PEM certificate(s) to trust for an `https://` endpoint, besides Node.js's bundled roots: a collector whose
   * certificate comes from a private CA. Default none.
   */
  ca?: string | readonly string[];
  /**
   * The HTTP proxy to reach the collector through (`http://user:pass@proxy.internal:3128`), or `false` for none.
   * Default: `HTTPS_PROXY` / `HTTP_PROXY` (by the endpoint's scheme), unless `NO_PROXY` names the endpoint's host or
   * the endpoint is loopback.
   */
  proxy?: string | false;
  /** `http` (default) sends to the collector; `stdout` writes one JSON line per event. */
  mode?: 'http' | 'stdout';
  /** Default 10 000. */
  maxQueueSize?: number;
  /** Default 16 MiB. */
  maxQueueBytes?: number;
  /** Default 500. */
  maxBatchSize?: number;
  /** Default 1000. */
  flushIntervalMillis?: number;
  /** Default false: compressing costs the app more CPU per event than building it (docs/sdk.md, Delivery). */
  gzip?: boolean;
  /** Default 5. */
  maxRetries?: number;
  /** Default 500. */
  initialBackoffMillis?: number;
  /** Default 30 000. */
  maxBackoffMillis?: number;
  /** Default 10 000. */
  requestTimeoutMillis?: number;
  /** Default 5000. */
  closeTimeoutMillis?: number;
  /** Default 65 536. */
  maxEventBytes?: number;
  /** Default true: flush on `beforeExit` and `SIGTERM`. */
  flushOnExit?: boolean;
  /** IPs, CIDRs or `loopback` / `private` / `linklocal` whose forwarding headers are believed. Default none. */
  trustedProxies?: readonly string[];
  /** Default `x-forwarded-for`. */
  forwardedHeader?: ForwardedHeader;
  /** Extra key names or dotted paths to redact. Default none (the built-in list always applies). */
  redact?: readonly string[];
  /** Default `connect.sid`, `sessionId`, `koa.sess`, `sid`, `session`. */
  sessionCookies?: readonly string[];
  /**
   * Route templates (`/login`) or `METHOD /template` whose 401 is a failed login; a template starting with `*`
   * matches any route ending with the rest. Default: POST to a route ending in /login, /log-in, /signin, /sign-in,
   * /sign_in, /logon, /authenticate, /session, /sessions or /token. `[]` turns it off.
   */
  loginRoutes?: readonly string[];
  /**
   * Paths of GraphQL endpoints: exact (`/api/graphql`) or `*` and a suffix. Their requests record the operation
   * (`graphql.operation.name` / `.type`, batch size, introspection), never the document. Default: any path ending in
   * `/graphql`; `[]` turns it off.
   */
  graphqlPaths?: readonly string[];
  /** Which event each status records; see DEFAULT_AUTOMATIC_EVENTS. */
  automaticEvents?: Partial<AutomaticEvents>;
  /** Default false. */
  hashObjectIds?: boolean;
  /**
   * The key of the hashes that stand for ids (session cookies, `hashObjectIds`, unknown login names). Env
   * `VIGIL_HASH_KEY`; default: derived from the ingest token, so the replicas of a service hash alike.
   */
  hashKey?: string;
  /** `object_access` from route parameters: `true`, or `{ parameter: objectType }`. Default false. */
  accessParams?: AccessParams;
  /** Default true. */
  recordRequests?: boolean;
  /**
   * Paths (`/healthz`, `/metrics`) whose successful GET and HEAD requests without a query string record no
   * `http_request` event: health checks and metrics scrapes. A failure (status >= 400), another method or a query
   * is recorded as usual. Default none.
   */
  skipPaths?: readonly string[];
  /** `off`, `url` (default) or `params`: what of a request's input is recorded (docs/sdk.md, "Parameter inspection"). */
  inspect?: InspectMode;
  /** Headers inspected with `inspect: 'params'`. Default `user-agent`, `referer`, `x-forwarded-host`, `content-type`. */
  inspectHeaders?: readonly string[];
  /** Default 256. */
  inspectMaxValueChars?: number;
  /** Default 4096. */
  inspectMaxRequestChars?: number;
  /** Default 32. */
  inspectMaxFields?: number;
  /** Who a request runs as. Default: `req.user` / `req.auth` conventions (request.ts, defaultIdentify). */
  identify?: IdentifyHook;
  /**
   * Called with the SDK's own problems: `events_rejected`, `delivery_failed` and most `internal` ones each time, the
   * others once per client (`config_invalid` once per option). Default: one `process.emitWarning` per kind of problem.
   */
  onError?: ErrorHook;
  /** Default false. */
  debug?: boolean;
}

type NumberKey =
  | 'maxQueueSize'
  | 'maxQueueBytes'
  | 'maxBatchSize'
  | 'flushIntervalMillis'
  | 'maxRetries'
  | 'initialBackoffMillis'
  | 'maxBackoffMillis'
  | 'requestTimeoutMillis'
  | 'closeTimeoutMillis'
  | 'maxEventBytes'
  | 'inspectMaxValueChars'
  | 'inspectMaxRequestChars'
  | 'inspectMaxFields';

/** Smallest valid value of each numeric option. */
const MINIMUM: Record<NumberKey, number> = {
  maxQueueSize: 1,
  maxQueueBytes: 1024,
  maxBatchSize: 1,
  flushIntervalMillis: 1,
  maxRetries: 0,
  initialBackoffMillis: 0,
  maxBackoffMillis: 0,
  requestTimeoutMillis: 1,
  closeTimeoutMillis: 0,
  maxEventBytes: 256,
  inspectMaxValueChars: 1,
  inspectMaxRequestChars: 1,
  inspectMaxFields: 1,
};

export interface ResolvedOptions extends Required<Pick<VigilOptions, NumberKey>> {
  /** `memory` only for the test kit's client (test-kit.ts); options never resolve to it. */
  readonly mode: 'http' | 'stdout' | 'disabled' | 'memory';
  readonly endpoint: string | undefined;
  readonly token: string | undefined;
  readonly service: string;
  readonly serviceVersion: string | undefined;
  readonly environment: string | undefined;
  readonly gzip: boolean;
  /** The certificates of `ca`, each one PEM block; undefined when none were given (or none was valid). */
  readonly ca: readonly string[] | undefined;
  /** The proxy to the collector (the option or the environment); undefined when there is none. */
  readonly proxy: OutboundProxy | undefined;
  readonly flushOnExit: boolean;
  readonly trustedProxies: readonly string[];
  readonly forwardedHeader: ForwardedHeader;
  readonly redact: readonly string[];
  readonly sessionCookies: readonly string[];
  readonly loginRoutes: readonly string[];
  readonly hashObjectIds: boolean;
  /** `hashKey`, else `VIGIL_HASH_KEY`, else the token; undefined only in stdout mode without either. */
  readonly hashKey: string | undefined;
  readonly accessParams: AccessParams;
  /** `automaticEvents` checked: known keys, each an event type of the catalogue (or `x_`) or `null`. */
  readonly automaticEvents: Partial<AutomaticEvents>;
  readonly recordRequests: boolean;
  readonly skipPaths: readonly string[];
  readonly graphqlPaths: readonly string[];
  readonly inspect: InspectMode;
  readonly inspectHeaders: readonly string[];
}

/**
 * Report an invalid value of `option`: once per option, so that a second bad option is not hidden behind the first
 * (a fallback nobody was told of, such as trustedProxies ignored, would be a silent misconfiguration).
 */
export function reportInvalid(reporter: Reporter, option: string, message: string): void {
  reporter.warnOnce('config_invalid', message, undefined, `config_invalid ${option}`);
}

function stringList(value: unknown, key: string, fallback: readonly string[], reporter: Reporter): readonly string[] {
  if (value === undefined) return fallback;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  reportInvalid(reporter, key, `option ${key} must be an array of strings; using its default`);
  return fallback;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim().length > 0 ? value.trim() : undefined;
}

/** The longest delay a Node.js timer takes (2³¹ − 1 ms, ~24.8 days); a longer one fires after 1 ms. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/** What an HTTP header value may carry of a token: visible ASCII. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export function resolveOptions(options: VigilOptions, reporter: Reporter, env = process.env): ResolvedOptions {
  const o = (typeof options === 'object' && options !== null ? options : {}) as VigilOptions;
  const number = (key: NumberKey): number => {
    const value = o[key];
    if (value === undefined) return DEFAULTS[key];
    if (key.endsWith('Millis') && typeof value === 'number' && value > MAX_TIMER_MILLIS) {
      reportInvalid(
        reporter,
        key,
        `option ${key} is longer than a Node.js timer can wait (${MAX_TIMER_MILLIS} ms); using ${MAX_TIMER_MILLIS}`,
      );
      return MAX_TIMER_MILLIS;
    }
    if (typeof value === 'number' && Number.isFinite(value) && value >= MINIMUM[key]) return value;
    reportInvalid(
      reporter,
      key,
      `option ${key} must be a number >= ${MINIMUM[key]}, got ${String(value)}; using ${DEFAULTS[key]}`,
    );
    return DEFAULTS[key];
  };
  const bool = (key: 'gzip' | 'flushOnExit' | 'hashObjectIds' | 'recordRequests'): boolean => {
    const value = o[key];
    if (value === undefined) return DEFAULTS[key];
    if (typeof value === 'boolean') return value;
    reportInvalid(reporter, key, `option ${key} must be true or false; using ${DEFAULTS[key]}`);
    return DEFAULTS[key];
  };

  let mode: ResolvedOptions['mode'] = DEFAULTS.mode;
  if (o.mode === 'stdout' || o.mode === 'http') mode = o.mode;
  else if (o.mode !== undefined) {
    reportInvalid(reporter, 'mode', `option mode must be 'http' or 'stdout', got ${String(o.mode)}; using http`);
  }
  const endpoint = nonEmpty(o.endpoint) ?? nonEmpty(env.VIGIL_ENDPOINT);
  const token = nonEmpty(o.token) ?? nonEmpty(env.VIGIL_INGEST_TOKEN);
  let proxy: OutboundProxy | undefined;
  if (mode === 'http') {
    const missing = [endpoint ? '' : 'endpoint (or VIGIL_ENDPOINT)', token ? '' : 'token (or VIGIL_INGEST_TOKEN)']
      .filter(Boolean)
      .join(' and ');
    let url: URL | undefined;
    try {
      url = endpoint ? new URL(endpoint) : undefined;
    } catch {
      url = undefined;
    }
    if (missing) {
      reporter.warnOnce(
        'config_missing',
        `Vigil is disabled: no ${missing} was given. Set it, or use mode: 'stdout' to write events to standard output`,
      );
      mode = 'disabled';
    } else if (token !== undefined && !TOKEN_CHARS.test(token)) {
      // Every request would fail: an HTTP header cannot carry it. The token itself is never shown.
      reportInvalid(
        reporter,
        'token',
        'Vigil is disabled: the token holds characters an HTTP header cannot carry (a space inside it, or an ' +
          'invisible or non-ASCII character pasted with it); set the token exactly as the collector generated it',
      );
      mode = 'disabled';
    } else if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      reportInvalid(reporter, 'endpoint', `Vigil is disabled: endpoint ${String(endpoint)} is not an http(s) URL`);
      mode = 'disabled';
    } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      reporter.warnOnce(
        'insecure_endpoint',
        `the ingest token is sent in clear text to ${url.host}: use an https:// endpoint outside loopback`,
      );
    }
    if (mode === 'http' && url) proxy = outboundProxy(o.proxy, url, env, reporter);
  }
  const forwardedHeader: ForwardedHeader = o.forwardedHeader === 'forwarded' ? 'forwarded' : DEFAULTS.forwardedHeader;
  if (o.forwardedHeader !== undefined && o.forwardedHeader !== 'forwarded' && o.forwardedHeader !== 'x-forwarded-for') {
    reportInvalid(reporter, 'forwardedHeader', `option forwardedHeader must be 'x-forwarded-for' or 'forwarded'`);
  }
  let inspect: InspectMode = DEFAULTS.inspect;
  if (INSPECT_MODES.includes(o.inspect as InspectMode)) inspect = o.inspect as InspectMode;
  else if (o.inspect !== undefined) {
    reportInvalid(reporter, 'inspect', `option inspect must be 'off', 'url' or 'params'; using ${DEFAULTS.inspect}`);
  }
  const maxBackoffMillis = number('maxBackoffMillis');
  return {
    mode,
    endpoint,
    token,
    service:
      nonEmpty(o.service) ??
      nonEmpty(env.OTEL_SERVICE_NAME) ??
      nonEmpty(env.npm_package_name) ??
      'unknown_service:node',
    serviceVersion: nonEmpty(o.serviceVersion),
    environment: nonEmpty(o.environment),
    maxQueueSize: Math.floor(number('maxQueueSize')),
    maxQueueBytes: Math.floor(number('maxQueueBytes')),
    maxBatchSize: Math.floor(number('maxBatchSize')),
    flushIntervalMillis: number('flushIntervalMillis'),
    gzip: bool('gzip'),
    ca: certificates(o.ca, reporter),
    proxy,
    maxRetries: Math.floor(number('maxRetries')),
    initialBackoffMillis: Math.min(number('initialBackoffMillis'), maxBackoffMillis),
    maxBackoffMillis,
    requestTimeoutMillis: number('requestTimeoutMillis'),
    closeTimeoutMillis: number('closeTimeoutMillis'),
    maxEventBytes: Math.floor(number('maxEventBytes')),
    flushOnExit: bool('flushOnExit'),
    trustedProxies: stringList(o.trustedProxies, 'trustedProxies', DEFAULTS.trustedProxies, reporter),
    forwardedHeader,
    redact: stringList(o.redact, 'redact', DEFAULTS.redact, reporter),
    sessionCookies: stringList(o.sessionCookies, 'sessionCookies', DEFAULTS.sessionCookies, reporter),
    loginRoutes: stringList(o.loginRoutes, 'loginRoutes', DEFAULTS.loginRoutes, reporter),
    hashObjectIds: bool('hashObjectIds'),
    hashKey: nonEmpty(o.hashKey) ?? nonEmpty(env.VIGIL_HASH_KEY) ?? token,
    accessParams: accessParams(o.accessParams, reporter),
    automaticEvents: automaticEvents(o.automaticEvents, reporter),
    recordRequests: bool('recordRequests'),
    skipPaths: validEntries(
      stringList(o.skipPaths, 'skipPaths', DEFAULTS.skipPaths, reporter),
      'skipPaths',
      (p) => p.startsWith('/') && !p.includes('?'),
      'option skipPaths takes paths such as "/healthz" (no query)',
      reporter,
    ),
    graphqlPaths: validEntries(
      stringList(o.graphqlPaths, 'graphqlPaths', DEFAULTS.graphqlPaths, reporter),
      'graphqlPaths',
      (p) => /^(\*.|\/)/.test(p.trim()),
      'option graphqlPaths takes paths ("/api/graphql") or "*" and a suffix ("*/graphql")',
      reporter,
    ),
    inspect,
    inspectHeaders: stringList(o.inspectHeaders, 'inspectHeaders', DEFAULTS.inspectHeaders, reporter).map((h) =>
      h.toLowerCase(),
    ),
    inspectMaxValueChars: Math.floor(number('inspectMaxValueChars')),
    inspectMaxRequestChars: Math.floor(number('inspectMaxRequestChars')),
    inspectMaxFields: Math.floor(number('inspectMaxFields')),
  };
}

/** The proxy to `endpoint`, from the `proxy` option or the environment; an unusable one is reported and not used. */
function outboundProxy(value: unknown, endpoint: URL, env: NodeJS.ProcessEnv, reporter: Reporter) {
  if (value !== undefined && value !== false && typeof value !== 'string') {
    reportInvalid(reporter, 'proxy', 'option proxy must be a proxy URL or false; no proxy is used');
    return undefined;
  }
  const { proxy, invalid } = proxyFor(endpoint, value, env);
  if (invalid !== undefined) {
    reportInvalid(reporter, 'proxy', `cannot use the proxy of ${invalid}; the collector is reached without one`);
  }
  return proxy;
}

/** The entries of a list option that `valid` accepts; if any is not, `rule` is reported and those are left out. */
function validEntries(
  entries: readonly string[],
  option: string,
  valid: (entry: string) => boolean,
  rule: string,
  reporter: Reporter,
): readonly string[] {
  const kept = entries.filter(valid);
  if (kept.length < entries.length) reportInvalid(reporter, option, `${rule}; others are ignored`);
  return kept;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The PEM certificates of a `ca` option, one block each (a bundle of several in one string is split), with those of
 * NODE_EXTRA_CA_CERTS; `problem` says what was wrong with the option, when something was.
 */
export function caCertificates(value: unknown): { certificates: readonly string[] | undefined; problem?: string } {
  if (value === undefined) return { certificates: undefined };
  const texts: readonly unknown[] = Array.isArray(value) ? value : [value];
  const blocks: string[] = [];
  let invalid = false;
  for (const text of texts) {
    const found = typeof text === 'string' ? text.match(PEM_CERTIFICATE) : null;
    if (found) blocks.push(...found);
    else invalid = true;
  }
  const certificates = blocks.length > 0 ? [...blocks, ...extraCaCertificates()] : undefined;
  if (!invalid) return { certificates };
  return {
    certificates,
    problem:
      'option ca must be PEM certificate text ("-----BEGIN CERTIFICATE-----"...) or an array of them; ' +
      (blocks.length === 0 ? 'it is ignored' : 'the entries that are not are ignored'),
  };
}

function certificates(value: unknown, reporter: Reporter): readonly string[] | undefined {
  const { certificates, problem } = caCertificates(value);
  if (problem !== undefined) reportInvalid(reporter, 'ca', problem);
  return certificates;
}

/**
 * The certificates of the file NODE_EXTRA_CA_CERTS names. Node.js adds them to the roots it trusts by default, and a
 * `ca` option replaces those roots (the transport puts the bundled ones back): without these, giving `ca` would
 * stop trusting a CA the environment had added, such as a company's TLS-inspecting proxy's.
 */
function extraCaCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8').match(PEM_CERTIFICATE) ?? [];
  } catch {
    return []; // Node.js itself warned about the file when it started
  }
}

/**
 * `automaticEvents`: each key one of the defaults', each value an event type (a typo would make every such response
 * record an event the collector refuses) or `null` to switch it off. `undefined` keeps the default. Bad entries are
 * reported and their default kept.
 */
function automaticEvents(value: unknown, reporter: Reporter): Partial<AutomaticEvents> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reportInvalid(reporter, 'automaticEvents', 'option automaticEvents must be an object such as { forbidden: null }');
    return {};
  }
  const out: Record<string, string | null> = {};
  const bad: string[] = [];
  for (const [key, type] of Object.entries(value)) {
    if (!Object.hasOwn(DEFAULT_AUTOMATIC_EVENTS, key)) bad.push(`${key} (not one of them)`);
    else if (type === null || (typeof type === 'string' && isKnownEventType(type))) out[key] = type;
    else if (type !== undefined) bad.push(`${key}: ${JSON.stringify(String(type)).slice(0, 64)} (not an event type)`);
  }
  if (bad.length > 0) {
    reportInvalid(
      reporter,
      'automaticEvents',
      `option automaticEvents: ${bad.join(', ')}; their defaults are used (keys: ` +
        `${Object.keys(DEFAULT_AUTOMATIC_EVENTS).join(', ')}; values: an event type, or null for none)`,
    );
  }
  return out as Partial<AutomaticEvents>;
}

/** `true`, `false`, or an object of parameter name → object type (entries that are not strings are left out). */
function accessParams(value: unknown, reporter: Reporter): AccessParams {
  if (value === undefined) return DEFAULTS.accessParams;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const entries = Object.entries(value).filter(([, type]) => typeof type === 'string' && type.length > 0);
    if (entries.length === Object.keys(value).length) return Object.fromEntries(entries) as Record<string, string>;
    reportInvalid(
      reporter,
      'accessParams',
      'option accessParams: object types must be non-empty strings; others ignored',
    );
    return Object.fromEntries(entries) as Record<string, string>;
  }
  reportInvalid(
    reporter,
    'accessParams',
    `option accessParams must be true, false or { parameter: objectType }; using ${DEFAULTS.accessParams}`,
  );
  return DEFAULTS.accessParams;
}
