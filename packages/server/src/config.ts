/**
 * Configuration: `vigil.config.yaml` (or the file named by VIGIL_CONFIG), overridden by environment variables,
 * validated once at start-up. A bad value stops start-up with a ConfigError naming the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { DEFAULTS } from './defaults.js';
import { ConfigError } from './errors.js';

export interface WebhookConfig {
  readonly name: string;
  readonly url: string;
  /** Standard Webhooks signing secret (`whsec_` + base64). Without it, deliveries are unsigned. */
  readonly secret?: string;
  /** Allow a target on a private, loopback or link-local address (refused by default: SSRF). */
  readonly allowPrivateNetwork: boolean;
  readonly timeoutMillis: number;
  readonly maxAttempts: number;
}

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
  readonly storage: { readonly synchronous: 'FULL' | 'NORMAL' };
  readonly enrich: { readonly openapi?: string; readonly redactKeys: readonly string[] };
  readonly detection: {
    readonly bruteForce: { readonly threshold: number; readonly windowMillis: number };
    readonly maxKeysPerRule: number;
    readonly latenessMillis: number;
    readonly maxBufferedEvents: number;
  };
  readonly alerting: { readonly resolveAfterMillis: number; readonly maxEvidence: number };
  readonly notify: {
    readonly webhooks: readonly WebhookConfig[];
    readonly retryBaseMillis: number;
    readonly retryMaxMillis: number;
  };
}

/** The smallest token length accepted from configuration: shorter ones are guessable. */
export const MIN_TOKEN_LENGTH = 16;

type Raw = Record<string, unknown>;

class Reader {
  constructor(
    private readonly raw: Raw,
    private readonly path: string,
  ) {
    const unknown = Object.keys(raw).filter((k) => !this.known.has(k));
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
    const value = this.raw[name];
    if (value === undefined || value === null) return new Reader({}, key);
    if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(key, 'must be a mapping');
    return new Reader(value as Raw, key);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const key = this.key(name);
    const value = this.raw[name];
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
    const value = this.raw[name];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string' || value === '') throw new ConfigError(key, 'must be a non-empty string');
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const key = this.key(name);
    const value = this.raw[name];
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

  list(name: string): { key: string; items: unknown[] } {
    const key = this.key(name);
    const value = this.raw[name];
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

function token(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(key, `must be a string of at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return value;
}

function tokens(key: string, items: unknown[]): string[] {
  return items.map((t, i) => token(`${key}[${i}]`, t));
}

function webhook(raw: unknown, key: string): WebhookConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(key, 'must be a mapping');
  const r = new Reader(raw as Raw, key);
  const url = r.string('url');
  if (!url) throw new ConfigError(`${key}.url`, 'is required');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${key}.url`, 'is not a valid URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(`${key}.url`, 'must be an http or https URL');
  }
  const secret = r.string('secret');
  if (secret !== undefined && !/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/.test(secret)) {
    throw new ConfigError(
      `${key}.secret`,
      'must be a Standard Webhooks secret: "whsec_" followed by base64 (24+ bytes)',
    );
  }
  const config: WebhookConfig = {
    name: r.string('name', parsed.host),
    url,
    ...(secret ? { secret } : {}),
    allowPrivateNetwork: r.boolean('allowPrivateNetwork', false),
    timeoutMillis: r.integer('timeoutMillis', DEFAULTS.webhookTimeoutMillis, 100, 120_000),
    maxAttempts: r.integer('maxAttempts', DEFAULTS.webhookMaxAttempts, 1, 100),
  };
  r.done();
  return config;
}

/** Build the configuration from a parsed YAML document and the environment. Pure: no file access. */
export function buildConfig(raw: unknown, env: NodeJS.ProcessEnv, configFile?: string): VigilConfig {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError('(file)', 'the configuration file must hold a YAML mapping');
  }
  const root = new Reader((raw ?? {}) as Raw, '');

  const serverSection = root.section('server');
  const host = env.VIGIL_HOST || serverSection.string('host', DEFAULTS.host);
  let port = serverSection.integer('port', DEFAULTS.port, 0, 65535);
  if (env.VIGIL_PORT !== undefined && env.VIGIL_PORT !== '') {
    port = Number(env.VIGIL_PORT);
    if (!/^\d{1,5}$/.test(env.VIGIL_PORT) || port > 65535) {
      throw new ConfigError('VIGIL_PORT', `must be a port number from 0 to 65535, got "${env.VIGIL_PORT}"`);
    }
  }
  serverSection.done();

  const dataDir = resolve(env.VIGIL_DATA_DIR || root.string('dataDir', DEFAULTS.dataDir));

  const authSection = root.section('auth');
  const ingestList = authSection.list('ingestTokens');
  const apiList = authSection.list('apiTokens');
  authSection.done();
  const ingestTokens = tokens(ingestList.key, ingestList.items);
  const apiTokens = tokens(apiList.key, apiList.items);
  if (env.VIGIL_INGEST_TOKEN) ingestTokens.unshift(token('VIGIL_INGEST_TOKEN', env.VIGIL_INGEST_TOKEN));
  if (env.VIGIL_API_TOKEN) apiTokens.unshift(token('VIGIL_API_TOKEN', env.VIGIL_API_TOKEN));
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
  const storage = { synchronous: storageSection.oneOf('synchronous', ['FULL', 'NORMAL'], DEFAULTS.sqliteSynchronous) };
  storageSection.done();

  const enrichSection = root.section('enrich');
  const openapi = enrichSection.string('openapi');
  const redactList = enrichSection.list('redactKeys');
  const redactKeys = redactList.items.map((k, i) => {
    if (typeof k !== 'string' || k === '')
      throw new ConfigError(`${redactList.key}[${i}]`, 'must be a non-empty string');
    return k;
  });
  enrichSection.done();
  const enrich = { ...(openapi ? { openapi: resolve(openapi) } : {}), redactKeys };

  const detectionSection = root.section('detection');
  const bf = detectionSection.section('bruteForce');
  const detection = {
    bruteForce: {
      threshold: bf.integer('threshold', DEFAULTS.bruteForceThreshold, 1, 1_000_000),
      windowMillis: bf.integer('windowMillis', DEFAULTS.bruteForceWindowMillis, 1000, 86_400_000),
    },
    maxKeysPerRule: detectionSection.integer('maxKeysPerRule', DEFAULTS.maxKeysPerRule, 100, 100_000_000),
    latenessMillis: detectionSection.integer('latenessMillis', DEFAULTS.latenessMillis, 0, 3_600_000),
    maxBufferedEvents: detectionSection.integer('maxBufferedEvents', DEFAULTS.maxBufferedEvents, 100, 10_000_000),
  };
  bf.done();
  detectionSection.done();

  const alertingSection = root.section('alerting');
  const alerting = {
    resolveAfterMillis: alertingSection.integer(
      'resolveAfterMillis',
      DEFAULTS.resolveAfterMillis,
      1000,
      30 * 86_400_000,
    ),
    maxEvidence: alertingSection.integer('maxEvidence', DEFAULTS.maxEvidence, 1, 10_000),
  };
  alertingSection.done();

  const notifySection = root.section('notify');
  const hooks = notifySection.list('webhooks');
  const webhooks = hooks.items.map((h, i) => webhook(h, `${hooks.key}[${i}]`));
  const names = new Set<string>();
  for (const [i, h] of webhooks.entries()) {
    if (names.has(h.name)) throw new ConfigError(`${hooks.key}[${i}].name`, `duplicate receiver name "${h.name}"`);
    names.add(h.name);
  }
  const notify = {
    webhooks,
    retryBaseMillis: notifySection.integer('retryBaseMillis', DEFAULTS.retryBaseMillis, 10, 3_600_000),
    retryMaxMillis: notifySection.integer('retryMaxMillis', DEFAULTS.retryMaxMillis, 10, 86_400_000),
  };
  notifySection.done();
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
  };
}

/** Read the configuration file (VIGIL_CONFIG, else ./vigil.config.yaml when present) and the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): VigilConfig {
  const explicit = env.VIGIL_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, 'vigil.config.yaml');
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError('VIGIL_CONFIG', `file not found: ${file}`);
    return buildConfig(undefined, env);
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
  return buildConfig(raw, env, file);
}
