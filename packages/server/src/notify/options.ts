/**
 * Validation of receiver options, shared by every receiver's `parseXxxOptions`. A bad value throws a
 * ConfigError naming the exact key (`notify.receivers[2].routingKey`) and never echoing a secret back.
 *
 * Secrets (tokens, routing keys, passwords, webhook URLs that embed a token) are read into a `Secret`, which
 * prints as `[redacted]` in logs, JSON and `util.inspect`, so a configuration object can be logged safely.
 * A secret may be written inline or, better, as a reference to an environment variable: `{ env: NAME }`.
 */
import { inspect } from 'node:util';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';

export const REDACTED = '[redacted]';

/**
 * What a secret reference (`{ env: NAME }`) whose variable is not set, or empty, becomes. `refuse`: a ConfigError
 * naming the key and the variable (`vigil start`, and anything else that may send). `unresolved`: a Secret that
 * holds no value and cannot be revealed, for the commands that read the configuration but send nothing (`vigil
 * analyze`, `vigil verify`, `vigil rules backtest`), so that they run without the receivers' secrets.
 */
export type UnsetSecrets = 'refuse' | 'unresolved';

/** A secret value that does not leak through `String()`, `JSON.stringify` or `console.log`. */
export class Secret {
  readonly #value: string;
  /** Set for an unresolved secret: the key it was read from and the variable it names, for `reveal()`'s error. */
  #unresolved: { readonly key: string; readonly variable: string } | undefined;

  constructor(value: string) {
    this.#value = value;
  }

  /**
   * A secret whose environment variable was not set when the configuration was read for a command that sends
   * nothing. Its value is unknown, so nothing can check or use it: `reveal()` throws.
   */
  static unresolved(key: string, variable: string): Secret {
    const secret = new Secret('');
    secret.#unresolved = { key, variable };
    return secret;
  }

  /** False for a secret read with `unsetSecrets: 'unresolved'` whose variable was not set: it has no value. */
  get resolved(): boolean {
    return this.#unresolved === undefined;
  }

  /** The secret itself: call only where it goes on the wire. An unresolved secret throws: using one is a bug. */
  reveal(): string {
    this.assertResolved();
    return this.#value;
  }

  /** Throw, naming the key and the variable, if this secret is unresolved; for code about to send with it. */
  assertResolved(): void {
    if (this.#unresolved === undefined) return;
    const { key, variable } = this.#unresolved;
    throw new Error(
      `${key}: the secret in environment variable ${variable} was not resolved (the configuration was read for ` +
        'a command that sends nothing) and cannot be used to send',
    );
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Remove every occurrence of the given secrets from a message (defence in depth for error texts). */
export function redactSecrets(message: string, secrets: readonly (Secret | string | undefined)[]): string {
  let out = message;
  for (const s of secrets) {
    // An unresolved secret has no value to find in a message.
    const value = s instanceof Secret ? (s.resolved ? s.reveal() : undefined) : s;
    // Short values would redact innocent text; real secrets are long.
    if (value && value.length >= 6) out = out.split(value).join(REDACTED);
  }
  return out;
}

/** Options every receiver has, whatever its type. */
export interface CommonReceiverOptions {
  /** Unique receiver name: appears in the notification log, metrics and the API. */
  readonly name: string;
  /** Allow a target on a private, loopback or link-local address (refused by default: SSRF). */
  readonly allowPrivateNetwork: boolean;
  /** Per-attempt timeout, connection included. */
  readonly timeoutMillis: number;
  /** Attempts before a notification becomes a dead letter (the dispatcher's business). */
  readonly maxAttempts: number;
}

/** Keys read by `parseCommonOptions`, so that a receiver's own parser does not call them unknown. */
export const COMMON_KEYS: readonly string[] = ['type', 'name', 'allowPrivateNetwork', 'timeoutMillis', 'maxAttempts'];

type Raw = Record<string, unknown>;

/** Reads one mapping of options, remembering which keys were read so that `done()` can reject typos. */
export class OptionReader {
  private readonly raw: Raw;
  private readonly read: Set<string>;

  constructor(
    raw: unknown,
    readonly key: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    alsoKnown: readonly string[] = COMMON_KEYS,
    private readonly unsetSecrets: UnsetSecrets = 'refuse',
  ) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(key, 'must be a mapping');
    this.raw = raw as Raw;
    this.read = new Set(alsoKnown);
  }

  keyOf(name: string): string {
    return `${this.key}.${name}`;
  }

  private value(name: string): unknown {
    this.read.add(name);
    const v = this.raw[name];
    return v === null ? undefined : v;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  optionalString(name: string, maxLength = 1024): string | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') throw new ConfigError(this.keyOf(name), 'must be a non-empty string');
    if (v.length > maxLength) throw new ConfigError(this.keyOf(name), `must be at most ${maxLength} characters`);
    return v;
  }

  string(name: string, fallback: string, maxLength?: number): string {
    return this.optionalString(name, maxLength) ?? fallback;
  }

  requiredString(name: string, maxLength?: number): string {
    const v = this.optionalString(name, maxLength);
    if (v === undefined) throw new ConfigError(this.keyOf(name), 'is required');
    return v;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(this.keyOf(name), `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean')
      throw new ConfigError(this.keyOf(name), `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !choices.includes(v as T)) {
      throw new ConfigError(this.keyOf(name), `must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }

  /** A list of non-empty strings; `required` demands at least one. */
  stringList(name: string, required: boolean): string[] {
    const v = this.value(name);
    if (v === undefined) {
      if (required) throw new ConfigError(this.keyOf(name), 'is required (a list with at least one entry)');
      return [];
    }
    const items = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(items)) throw new ConfigError(this.keyOf(name), 'must be a list of strings');
    if (required && items.length === 0) throw new ConfigError(this.keyOf(name), 'must list at least one entry');
    return items.map((item, i) => {
      if (typeof item !== 'string' || item === '') {
        throw new ConfigError(`${this.keyOf(name)}[${i}]`, 'must be a non-empty string');
      }
      return item;
    });
  }

  /** A mapping of string → string (e.g. extra labels or headers). */
  stringMap(name: string): Record<string, string> {
    const v = this.value(name);
    if (v === undefined) return {};
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new ConfigError(this.keyOf(name), 'must be a mapping');
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v)) {
      if (typeof item !== 'string') throw new ConfigError(`${this.keyOf(name)}.${k}`, 'must be a string');
      out[k] = item;
    }
    return out;
  }

  /** A nested mapping, or undefined when absent. */
  section(name: string): OptionReader | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    return new OptionReader(v, this.keyOf(name), this.env, [], this.unsetSecrets);
  }

  /**
   * A secret, inline (`token: abc…`) or from the environment (`token: { env: SPLUNK_HEC_TOKEN }`). Error
   * messages name the key and the variable, never the value. A variable that is not set is refused, or, read with
   * `unsetSecrets: 'unresolved'`, gives an unresolved Secret: check a secret's value only when it is `resolved`.
   */
  optionalSecret(name: string): Secret | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    const key = this.keyOf(name);
    if (typeof v === 'string') {
      if (v === '') throw new ConfigError(key, 'must be a non-empty string or { env: VARIABLE }');
      return new Secret(v);
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const ref = v as Raw;
      const extra = Object.keys(ref).find((k) => k !== 'env');
      if (extra !== undefined)
        throw new ConfigError(`${key}.${extra}`, 'unknown key (a secret reference has only "env")');
      const variable = ref.env;
      if (typeof variable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
        throw new ConfigError(`${key}.env`, 'must name an environment variable');
      }
      const value = this.env[variable];
      if (value === undefined || value === '') {
        if (this.unsetSecrets === 'unresolved') return Secret.unresolved(key, variable);
        throw new ConfigError(key, `environment variable ${variable} is not set (or empty)`);
      }
      return new Secret(value);
    }
    throw new ConfigError(key, 'must be a non-empty string or { env: VARIABLE }');
  }

  requiredSecret(name: string): Secret {
    const v = this.optionalSecret(name);
    if (v === undefined) throw new ConfigError(this.keyOf(name), 'is required');
    return v;
  }

  /** An http(s) URL. */
  optionalUrl(name: string): URL | undefined {
    const v = this.optionalString(name, 4096);
    return v === undefined ? undefined : parseHttpUrl(v, this.keyOf(name));
  }

  requiredUrl(name: string): URL {
    const v = this.optionalUrl(name);
    if (v === undefined) throw new ConfigError(this.keyOf(name), 'is required');
    return v;
  }

  /** A URL that carries its own credential: stored as a Secret, never echoed in an error. */
  requiredSecretUrl(name: string): Secret {
    const secret = this.requiredSecret(name);
    if (secret.resolved) parseHttpUrl(secret.reveal(), this.keyOf(name));
    return secret;
  }

  /** Reject keys nobody read: a typo must not be silently ignored. */
  done(): void {
    const unknown = Object.keys(this.raw).find((k) => !this.read.has(k));
    if (unknown !== undefined) {
      throw new ConfigError(
        this.keyOf(unknown),
        'unknown key (see docs/receivers.md for the options of this receiver)',
      );
    }
  }
}

export function parseHttpUrl(text: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(key, 'is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(key, 'must be an http or https URL');
  // No request can be made from such a URL, and its password would be in every error about it.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      key,
      "must not hold a user name or password (user:password@): give credentials in the receiver's own options " +
        '(bearerToken, secret, token), which are kept out of logs',
    );
  }
  return url;
}

/** The options every receiver shares; `defaultName` is used when `name` is absent. */
export function parseCommonOptions(raw: unknown, key: string, defaultName: string): CommonReceiverOptions {
  const r = new OptionReader(raw, key, process.env, []);
  return {
    name: r.string('name', defaultName, 100),
    allowPrivateNetwork: r.boolean('allowPrivateNetwork', false),
    timeoutMillis: r.integer('timeoutMillis', DEFAULTS.webhookTimeoutMillis, 100, 120_000),
    maxAttempts: r.integer('maxAttempts', DEFAULTS.webhookMaxAttempts, 1, 100),
  };
}

/** Options of a receiver that posts to a secret incoming-webhook URL (Slack, Teams). */
export interface IncomingWebhookOptions {
  /** The webhook URL: a secret (whoever has it can post). */
  readonly url: Secret;
  /** Base URL of the Vigil dashboard, for a "View alert" link. */
  readonly dashboardUrl?: URL;
}

/** Validate `url` (a secret URL, literal or `{env: NAME}`) and `dashboardUrl`, naming the exact key on error. */
export function parseIncomingWebhookOptions(
  raw: unknown,
  key: string,
  env: NodeJS.ProcessEnv = process.env,
  unsetSecrets: UnsetSecrets = 'refuse',
): IncomingWebhookOptions {
  const r = new OptionReader(raw, key, env, COMMON_KEYS, unsetSecrets);
  const url = r.requiredSecretUrl('url');
  const dashboardUrl = r.optionalUrl('dashboardUrl');
  r.done();
  return { url, ...(dashboardUrl ? { dashboardUrl } : {}) };
}
