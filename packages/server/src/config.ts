/**
 * Configuration: `vigil.config.yaml` (or the file named by VIGIL_CONFIG), overridden by environment variables,
 * validated once at start-up. A bad value stops start-up with a ConfigError naming the key.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isTimeZone } from '@vigil/engine';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { type Matcher, parseMatcher } from './alerts/matchers.js';
import type { InhibitRule, RouteConfig } from './alerts/routing.js';
import { parseResponseConfig, type ResponseConfig } from './decisions/config.js';
import { DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';
import { parseCidr } from './net/ip.js';
import type { UnsetSecrets } from './notify/options.js';
import { parseReceiverConfig, type ReceiverConfig } from './notify/receivers.js';

export interface VigilConfig {
  readonly configFile?: string;
  readonly server: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly auth: { readonly ingestTokens: readonly string[]; readonly apiTokens: readonly string[] };
  readonly ingest: {
    readonly maxBodyBytes: number;
    readonly maxEventsPerRequest: number;
    readonly maxFutureSkewMillis: number;
    readonly maxStringLength: number;
  };
  readonly storage: {
    readonly synchronous: 'FULL' | 'NORMAL';
    /** Events stamped more than this many days ago are deleted; undefined keeps every event. */
    readonly retentionDays?: number;
    /**
     * Resolved alerts (with their history and notifications), decisions and silences that ended more than this many
     * days ago are deleted; undefined keeps them. Defaults to `retentionDays`.
     */
    readonly alertRetentionDays?: number;
  };
  readonly enrich: {
    readonly openapi?: string;
    readonly redactKeys: readonly string[];
    /** Addresses and CIDR ranges of proxies whose forwarded headers are believed. */
    readonly trustedProxies: readonly string[];
    readonly geo: { readonly enabled: boolean; readonly mmdb: readonly string[] };
  };
  readonly detection: {
    readonly bruteForce: { readonly threshold: number; readonly windowMillis: number };
    readonly maxKeysPerRule: number;
    readonly latenessMillis: number;
    readonly maxBufferedEvents: number;
    readonly maxBufferedBytes: number;
    readonly rules: { readonly builtin: boolean; readonly dirs: readonly string[] };
    readonly snapshotIntervalMillis: number;
    readonly watchRules: boolean;
    readonly baselines: {
      readonly enabled: boolean;
      readonly learningMillis: number;
      readonly peerGroupFields: readonly string[];
      /** IANA time zone of the seasonality (hour of day, weekday); undefined: UTC. */
      readonly timeZone: string | undefined;
    };
  };
  readonly alerting: {
    readonly resolveAfterMillis: number;
    readonly maxEvidence: number;
    readonly maxOpenAlerts: number;
    /** The routing tree; without one, every receiver hears of every alert. */
    readonly route: RouteConfig;
    readonly inhibitRules: readonly InhibitRule[];
    /** The routing as written (route and inhibitRules), for the API that shows and versions it. */
    readonly routingSource: RoutingSource;
  };
  readonly notify: {
    readonly receivers: readonly ReceiverConfig[];
    readonly retryBaseMillis: number;
    readonly retryMaxMillis: number;
  };
  /** Decisions (flag, throttle, block) the SDKs enforce; opt-in (docs/response.md). */
  readonly response: ResponseConfig;
  /** Dashboard sessions (docs/dashboard.md). */
  readonly dashboard: {
    readonly sessionIdleMillis: number;
    readonly sessionLifetimeMillis: number;
    readonly maxSessions: number;
  };
}

/** The smallest token length accepted from configuration: shorter ones are guessable. */
export const MIN_TOKEN_LENGTH = 16;
/**
 * A hundred years: beyond it, `storage.retentionDays` or `storage.alertRetentionDays` is surely a typo (and the cutoff
 * date stays valid).
 */
const MAX_RETENTION_DAYS = 36_500;

type Raw = Record<string, unknown>;

class Reader {
  constructor(
    private readonly raw_: Raw,
    private readonly path: string,
  ) {
    const unknown = Object.keys(raw_).filter((k) => !this.known.has(k));
    // Checked lazily in done(): the caller declares the keys it reads first.
    this.pendingUnknown = unknown;
  }
  private readonly known = new Set<string>();
  private pendingUnknown: string[];

  private key(name: string) {
    this.known.add(name);
    return this.path ? `${this.path}.${name}` : name;
  }

  section(name: string): Reader {
    const key = this.key(name);
    const value = this.raw_[name];
    if (value === undefined || value === null) return new Reader({}, key);
    if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(key, 'must be a mapping');
    return new Reader(value as Raw, key);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const key = this.key(name);
    const value = this.raw_[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  string(name: string, fallback: string): string;
  string(name: string, fallback?: undefined): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    const key = this.key(name);
    const value = this.raw_[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || value === '') throw new ConfigError(key, 'must be a non-empty string');
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const key = this.key(name);
    const value = this.raw_[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.string(name, fallback);
    if (!choices.includes(value as T)) {
      throw new ConfigError(this.key(name), `must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  }

  /** A value read as it is, validated by the caller. */
  raw(name: string): unknown {
    this.key(name);
    const value = this.raw_[name];
    return value === null ? undefined : value;
  }

  list(name: string): { key: string; items: unknown[] } {
    const key = this.key(name);
    const value = this.raw_[name];
    if (value === undefined || value === null) return { key, items: [] };
    if (!Array.isArray(value)) throw new ConfigError(key, 'must be a list');
    return { key, items: value };
  }

  /** Reject keys nobody read: a typo in a key must not be silently ignored. */
  done(): void {
    const unknown = this.pendingUnknown.filter((k) => !this.known.has(k));
    if (unknown.length > 0) {
      const key = this.path ? `${this.path}.${unknown[0]}` : String(unknown[0]);
      throw new ConfigError(key, 'unknown key (see docs/configuration.md for the keys there are)');
    }
  }
}

/** The characters a bearer token can carry (RFC 6750 b64token): a space or `ö` would make it never match. */
const TOKEN_CHARACTERS = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A token as the configuration takes it (length and characters); `key` names where it came from. */
export function checkedToken(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(key, `must be a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (!TOKEN_CHARACTERS.test(value)) {
    throw new ConfigError(
      key,
      'may hold only letters, digits and - . _ ~ + / (then =): a bearer token of other characters never matches',
    );
  }
  return value;
}

function tokens(key: string, items: unknown[]): string[] {
  return items.map((t, i) => checkedToken(`${key}[${i}]`, t));
}

/** Durations: whole milliseconds, or a string such as "30s", "15m", "4h", "1d". */
function duration(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  const m = typeof value === 'string' ? /^(\d+)(ms|s|m|h|d)$/.exec(value.trim()) : null;
  if (!m)
    throw new ConfigError(
      key,
      `must be a duration such as "30s", "15m", "4h" (or milliseconds), got ${JSON.stringify(value)}`,
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function matchers(raw: unknown, key: string): Matcher[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(key, 'must be a list of matchers such as severity=~"high|critical"');
  return raw.map((m, i) => {
    try {
      return parseMatcher(String(m));
    } catch (error) {
      throw new ConfigError(`${key}[${i}]`, (error as Error).message);
    }
  });
}

function receiverNames(raw: unknown, key: string, known: ReadonlySet<string>): string[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((name, i) => {
    const k = Array.isArray(raw) ? `${key}[${i}]` : key;
    if (typeof name !== 'string' || !known.has(name)) {
      throw new ConfigError(
        k,
        `names no receiver: ${JSON.stringify(name)}; configured: ${[...known].join(', ') || 'none'}`,
      );
    }
    return name;
  });
}

function routeConfig(raw: unknown, key: string, known: ReadonlySet<string>): RouteConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(key, 'must be a mapping');
  const r = raw as Record<string, unknown>;
  onlyKeys(r, ROUTE_KEYS, key);
  if (r.continue !== undefined && typeof r.continue !== 'boolean')
    throw new ConfigError(`${key}.continue`, 'must be true or false');
  let escalation: RouteConfig['escalation'];
  if (r.escalate !== undefined) {
    const e = r.escalate as Record<string, unknown>;
    if (typeof e !== 'object' || e === null)
      throw new ConfigError(`${key}.escalate`, 'must be a mapping with after and receiver');
    onlyKeys(e, ['after', 'receiver', 'receivers'], `${key}.escalate`);
    const receivers = receiverNames(e.receiver ?? e.receivers, `${key}.escalate.receiver`, known);
    if (receivers.length === 0) throw new ConfigError(`${key}.escalate.receiver`, 'is required');
    escalation = { afterMillis: duration(e.after, `${key}.escalate.after`), receivers };
  }
  if (r.routes !== undefined && !Array.isArray(r.routes))
    throw new ConfigError(`${key}.routes`, 'must be a list of routes');
  return {
    matchers: matchers(r.matchers, `${key}.matchers`),
    receivers: receiverNames(
      r.receiver ?? r.receivers,
      `${key}.${r.receiver !== undefined ? 'receiver' : 'receivers'}`,
      known,
    ),
    continue: r.continue === true,
    ...(r.repeatInterval !== undefined
      ? { repeatIntervalMillis: duration(r.repeatInterval, `${key}.repeatInterval`) }
      : {}),
    ...(r.groupBy !== undefined ? { groupBy: labelList(r.groupBy, `${key}.groupBy`) } : {}),
    ...(r.groupWait !== undefined ? { groupWaitMillis: duration(r.groupWait, `${key}.groupWait`) } : {}),
    ...(r.groupInterval !== undefined
      ? { groupIntervalMillis: duration(r.groupInterval, `${key}.groupInterval`) }
      : {}),
    ...(escalation ? { escalation } : {}),
    routes: ((r.routes as unknown[] | undefined) ?? []).map((c, i) => routeConfig(c, `${key}.routes[${i}]`, known)),
  };
}

const ROUTE_KEYS = [
  'matchers',
  'receiver',
  'receivers',
  'continue',
  'repeatInterval',
  'groupBy',
  'groupWait',
  'groupInterval',
  'escalate',
  'routes',
] as const;

/** Refuse a key of `r` outside `allowed`, naming it: a typo must not pass for a setting left out. */
function onlyKeys(r: Record<string, unknown>, allowed: readonly string[], key: string): void {
  for (const k of Object.keys(r)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${key}.${k}`, `unknown key (there are: ${allowed.join(', ')}; see docs/alerting.md)`);
    }
  }
}

function labelList(raw: unknown, key: string): string[] {
  if (!Array.isArray(raw) || !raw.every((l) => typeof l === 'string' && l !== '')) {
    throw new ConfigError(key, 'must be a list of label names, e.g. [rule, client.address]');
  }
  return raw as string[];
}

function inhibitRule(raw: unknown, key: string): InhibitRule {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(key, 'must be a mapping');
  const r = raw as Record<string, unknown>;
  // A misspelt `equal` would read as none, and one open source alert would then mute every target alert.
  onlyKeys(r, ['sourceMatchers', 'targetMatchers', 'equal'], key);
  const equal = r.equal ?? [];
  if (!Array.isArray(equal) || !equal.every((e) => typeof e === 'string')) {
    throw new ConfigError(`${key}.equal`, 'must be a list of label names');
  }
  const rule = {
    sourceMatchers: matchers(r.sourceMatchers, `${key}.sourceMatchers`),
    targetMatchers: matchers(r.targetMatchers, `${key}.targetMatchers`),
    equal: equal as string[],
  };
  if (rule.sourceMatchers.length === 0 || rule.targetMatchers.length === 0) {
    throw new ConfigError(key, 'needs sourceMatchers and targetMatchers');
  }
  return rule;
}

/** The routing as written: `alerting.route` and `alerting.inhibitRules`. */
export interface RoutingSource {
  readonly route?: unknown;
  readonly inhibitRules?: readonly unknown[];
}

/**
 * Validate routing (from the file, or from the API at run time) against the configured receiver names. Without a
 * route, or a root route naming no receiver, every receiver hears of every alert.
 */
export function parseRouting(
  source: RoutingSource,
  receivers: ReadonlySet<string>,
  prefix: string,
): { route: RouteConfig; inhibitRules: InhibitRule[] } {
  const configured = source.route === undefined ? undefined : routeConfig(source.route, `${prefix}.route`, receivers);
  if (source.inhibitRules !== undefined && !Array.isArray(source.inhibitRules)) {
    throw new ConfigError(`${prefix}.inhibitRules`, 'must be a list');
  }
  return {
    route:
      configured && configured.receivers.length > 0
        ? configured
        : { matchers: [], continue: false, routes: [], ...configured, receivers: [...receivers] },
    inhibitRules: (source.inhibitRules ?? []).map((r, i) => inhibitRule(r, `${prefix}.inhibitRules[${i}]`)),
  };
}

/**
 * Build the configuration from a parsed YAML document and the environment. Pure: no file access. `unsetSecrets`
 * says what a receiver's secret whose environment variable is not set becomes (see `loadOfflineConfig`).
 */
export function buildConfig(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  configFile?: string,
  unsetSecrets: UnsetSecrets = 'refuse',
): VigilConfig {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError('(file)', 'the configuration file must hold a YAML mapping');
  }
  const root = new Reader((raw ?? {}) as Raw, '');

  const serverSection = root.section('server');
  // The file's value is read (and checked) even when the environment overrides it: a key left unread is unknown.
  const fileHost = serverSection.string('host', DEFAULTS.host);
  const host = env.VIGIL_HOST || fileHost;
  let port = serverSection.integer('port', DEFAULTS.port, 0, 65535);
  if (env.VIGIL_PORT !== undefined && env.VIGIL_PORT !== '') {
    port = Number(env.VIGIL_PORT);
    if (!/^\d{1,5}$/.test(env.VIGIL_PORT) || port > 65535) {
      throw new ConfigError('VIGIL_PORT', `must be a port number from 0 to 65535, got "${env.VIGIL_PORT}"`);
    }
  }
  serverSection.done();

  const fileDataDir = root.string('dataDir', DEFAULTS.dataDir);
  const dataDir = resolve(env.VIGIL_DATA_DIR || fileDataDir);
  // Created at start when missing; something else in its place is a mistake to name here, not an EEXIST later.
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new ConfigError(env.VIGIL_DATA_DIR ? 'VIGIL_DATA_DIR' : 'dataDir', `not a directory: ${dataDir}`);
  }

  const authSection = root.section('auth');
  const ingestList = authSection.list('ingestTokens');
  const apiList = authSection.list('apiTokens');
  authSection.done();
  const ingestTokens = tokens(ingestList.key, ingestList.items);
  const apiTokens = tokens(apiList.key, apiList.items);
  if (env.VIGIL_INGEST_TOKEN) ingestTokens.unshift(checkedToken('VIGIL_INGEST_TOKEN', env.VIGIL_INGEST_TOKEN));
  if (env.VIGIL_API_TOKEN) apiTokens.unshift(checkedToken('VIGIL_API_TOKEN', env.VIGIL_API_TOKEN));
  for (const t of ingestTokens) {
    if (apiTokens.includes(t)) throw new ConfigError('auth', 'an ingest token must not also be an API token');
  }

  const ingestSection = root.section('ingest');
  const ingest = {
    maxBodyBytes: ingestSection.integer('maxBodyBytes', DEFAULTS.maxBodyBytes, 1024, 1024 * 1024 * 1024),
    maxEventsPerRequest: ingestSection.integer('maxEventsPerRequest', DEFAULTS.maxEventsPerRequest, 1, 1_000_000),
    maxFutureSkewMillis: ingestSection.integer('maxFutureSkewMillis', DEFAULTS.maxFutureSkewMillis, 0, 86_400_000),
    maxStringLength: ingestSection.integer('maxStringLength', DEFAULTS.maxStringLength, 64, 1024 * 1024),
  };
  ingestSection.done();

  const storageSection = root.section('storage');
  const retentionDays =
    storageSection.raw('retentionDays') == null
      ? DEFAULTS.retentionDays
      : storageSection.integer('retentionDays', 0, 1, MAX_RETENTION_DAYS);
  // Unset, alerts go with the events: a window set for events is meant for the personal data in alert labels too.
  const alertRetentionDays =
    storageSection.raw('alertRetentionDays') == null
      ? (DEFAULTS.alertRetentionDays ?? retentionDays)
      : storageSection.integer('alertRetentionDays', 0, 1, MAX_RETENTION_DAYS);
  const storage = {
    synchronous: storageSection.oneOf('synchronous', ['FULL', 'NORMAL'], DEFAULTS.sqliteSynchronous),
    ...(retentionDays !== undefined ? { retentionDays } : {}),
    ...(alertRetentionDays !== undefined ? { alertRetentionDays } : {}),
  };
  storageSection.done();

  const enrichSection = root.section('enrich');
  const openapi = enrichSection.string('openapi');
  const redactList = enrichSection.list('redactKeys');
  const redactKeys = redactList.items.map((k, i) => {
    if (typeof k !== 'string' || k === '')
      throw new ConfigError(`${redactList.key}[${i}]`, 'must be a non-empty string');
    return k;
  });
  const proxyList = enrichSection.list('trustedProxies');
  const trustedProxies = proxyList.items.map((p, i) => {
    if (typeof p !== 'string' || parseCidr(p.trim()) === undefined) {
      throw new ConfigError(
        `${proxyList.key}[${i}]`,
        `must be an IP address or CIDR range (203.0.113.7, 10.0.0.0/8, 2001:db8::/32), got ${JSON.stringify(p)}`,
      );
    }
    return p.trim();
  });
  const geoSection = enrichSection.section('geo');
  const geoEnabled = geoSection.boolean('enabled', DEFAULTS.geoEnabled);
  const mmdbList = geoSection.list('mmdb');
  const mmdb = mmdbList.items.map((f, i) => {
    if (typeof f !== 'string' || f === '') throw new ConfigError(`${mmdbList.key}[${i}]`, 'must be a file path');
    const file = resolve(f);
    if (!existsSync(file)) throw new ConfigError(`${mmdbList.key}[${i}]`, `file not found: ${file}`);
    return file;
  });
  geoSection.done();
  enrichSection.done();
  const enrich = {
    ...(openapi ? { openapi: resolve(openapi) } : {}),
    redactKeys,
    trustedProxies,
    geo: { enabled: geoEnabled, mmdb },
  };

  const detectionSection = root.section('detection');
  const bf = detectionSection.section('bruteForce');
  const rulesSection = detectionSection.section('rules');
  const ruleDirList = rulesSection.list('dirs');
  const rules = {
    builtin: rulesSection.boolean('builtin', DEFAULTS.builtinRules),
    dirs: ruleDirList.items.map((d, i) => {
      if (typeof d !== 'string' || d === '')
        throw new ConfigError(`${ruleDirList.key}[${i}]`, 'must be a directory path');
      const dir = resolve(d);
      // A directory, or a single rule file (rules/load.ts reads either).
      if (!existsSync(dir)) throw new ConfigError(`${ruleDirList.key}[${i}]`, `not found: ${dir}`);
      return dir;
    }),
  };
  rulesSection.done();
  const baselineSection = detectionSection.section('baselines');
  const peerList = baselineSection.list('peerGroupFields');
  const baselines = {
    enabled: baselineSection.boolean('enabled', DEFAULTS.baselines),
    learningMillis: baselineSection.integer('learningMillis', DEFAULTS.baselineLearningMillis, 0, 365 * 86_400_000),
    peerGroupFields: peerList.items.length
      ? peerList.items.map((f, i) => {
          if (typeof f !== 'string' || f === '') throw new ConfigError(`${peerList.key}[${i}]`, 'must be a field name');
          return f;
        })
      : ['user.roles'],
    timeZone: timeZoneOf(baselineSection.string('timeZone'), 'detection.baselines.timeZone'),
  };
  baselineSection.done();
  const detection = {
    bruteForce: {
      threshold: bf.integer('threshold', DEFAULTS.bruteForceThreshold, 1, 1_000_000),
      windowMillis: bf.integer('windowMillis', DEFAULTS.bruteForceWindowMillis, 1000, 86_400_000),
    },
    maxKeysPerRule: detectionSection.integer('maxKeysPerRule', DEFAULTS.maxKeysPerRule, 100, 100_000_000),
    latenessMillis: detectionSection.integer('latenessMillis', DEFAULTS.latenessMillis, 0, 3_600_000),
    maxBufferedEvents: detectionSection.integer('maxBufferedEvents', DEFAULTS.maxBufferedEvents, 100, 10_000_000),
    maxBufferedBytes: detectionSection.integer(
      'maxBufferedBytes',
      DEFAULTS.maxBufferedBytes,
      1024 * 1024,
      64 * 1024 * 1024 * 1024,
    ),
    rules,
    snapshotIntervalMillis: detectionSection.integer(
      'snapshotIntervalMillis',
      DEFAULTS.snapshotIntervalMillis,
      1000,
      86_400_000,
    ),
    watchRules: detectionSection.boolean('watchRules', DEFAULTS.watchRules),
    baselines,
  };
  bf.done();
  detectionSection.done();

  const notifySection = root.section('notify');
  const receiverList = notifySection.list('receivers');
  const receivers = receiverList.items.map((r, i) =>
    parseReceiverConfig(r, `${receiverList.key}[${i}]`, env, unsetSecrets),
  );
  const names = new Set<string>();
  for (const [i, r] of receivers.entries()) {
    if (names.has(r.name)) {
      throw new ConfigError(`${receiverList.key}[${i}].name`, `duplicate receiver name "${r.name}": give each a name`);
    }
    names.add(r.name);
  }

  const alertingSection = root.section('alerting');
  const routingSource: RoutingSource = {
    route: alertingSection.raw('route'),
    inhibitRules: alertingSection.list('inhibitRules').items,
  };
  const routing = parseRouting(routingSource, names, 'alerting');
  const alerting = {
    resolveAfterMillis: alertingSection.integer(
      'resolveAfterMillis',
      DEFAULTS.resolveAfterMillis,
      1000,
      30 * 86_400_000,
    ),
    maxEvidence: alertingSection.integer('maxEvidence', DEFAULTS.maxEvidence, 1, 10_000),
    maxOpenAlerts: alertingSection.integer('maxOpenAlerts', DEFAULTS.maxOpenAlerts, 10, 10_000_000),
    // Without a route, or a root route naming no receiver, every receiver hears of every alert.
    ...routing,
    routingSource,
  };
  alertingSection.done();

  const notify = {
    receivers,
    retryBaseMillis: notifySection.integer('retryBaseMillis', DEFAULTS.retryBaseMillis, 10, 3_600_000),
    retryMaxMillis: notifySection.integer('retryMaxMillis', DEFAULTS.retryMaxMillis, 10, 86_400_000),
  };
  notifySection.done();
  const response = parseResponseConfig(root.raw('response'), 'response');
  const dashboardSection = root.section('dashboard');
  const dashboard = {
    sessionIdleMillis: dashboardSection.integer(
      'sessionIdleMillis',
      DEFAULTS.sessionIdleMillis,
      60_000,
      7 * 86_400_000,
    ),
    sessionLifetimeMillis: dashboardSection.integer(
      'sessionLifetimeMillis',
      DEFAULTS.sessionLifetimeMillis,
      60_000,
      30 * 86_400_000,
    ),
    maxSessions: dashboardSection.integer('maxSessions', DEFAULTS.maxSessions, 1, 1_000_000),
  };
  dashboardSection.done();
  root.done();

  return {
    ...(configFile ? { configFile } : {}),
    server: { host, port },
    dataDir,
    auth: { ingestTokens, apiTokens },
    ingest,
    storage,
    enrich,
    detection,
    alerting,
    notify,
    response,
    dashboard,
  };
}

/**
 * Read the configuration file (VIGIL_CONFIG, else ./vigil.config.yaml when present) and the environment, for
 * `vigil start`: a receiver's secret whose environment variable is not set stops it, naming the key and the variable.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  unsetSecrets: UnsetSecrets = 'refuse',
): VigilConfig {
  const explicit = env.VIGIL_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, 'vigil.config.yaml');
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError('VIGIL_CONFIG', `file not found: ${file}`);
    return buildConfig(undefined, env, undefined, unsetSecrets);
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const where = error.linePos?.[0] ? ` at line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '';
      throw new ConfigError(file, `not valid YAML${where}: ${error.message.split('\n')[0]}`);
    }
    throw new ConfigError(file, `cannot be read: ${(error as Error).message}`);
  }
  return buildConfig(raw, env, file, unsetSecrets);
}

/**
 * The configuration for a command that reads it but sends no notification (`vigil analyze`, `vigil verify`, `vigil
 * rules backtest`): validated exactly as for `vigil start`, except that a receiver's secret whose environment variable
 * is not set is accepted, unresolved, and its value left unchecked. Nothing can send with it: revealing it throws.
 * So these commands run where the receivers' secrets are not (an analyst replaying logs with the production file).
 *
 * @example
 * const { dataDir } = loadOfflineConfig(); // VIGIL_WEBHOOK_SECRET may be unset
 */
export function loadOfflineConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): VigilConfig {
  return loadConfig(env, cwd, 'unresolved');
}

/** An IANA time zone name (`Europe/Berlin`), checked against the runtime's time zone data. */
function timeZoneOf(value: string | undefined, key: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isTimeZone(value)) {
    throw new ConfigError(key, `"${value}" is not an IANA time zone (such as Europe/Berlin or America/New_York)`);
  }
  return value;
}
