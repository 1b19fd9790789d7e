/**
 * The `response:` section of vigil.config.yaml: which alerts lead to decisions, on which scope, with which ladder,
 * and who is never decided against. Validated at start-up; a bad value stops it, naming the key.
 */
import { type Matcher, parseMatcher } from '../alerts/matchers.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import { type Cidr, parseCidr, unmapIpv4 } from '../net/ip.js';
import { DECISION_ACTIONS, DECISION_SCOPES, type DecisionAction, type DecisionScope } from './decision.js';

export interface LadderStep {
  readonly action: DecisionAction;
  readonly durationMillis: number;
  /** For `throttle`: requests per minute let through (default `response.throttleRatePerMinute`). */
  readonly ratePerMinute?: number;
}

export interface ResponseRule {
  readonly matchers: readonly Matcher[];
  readonly scope: DecisionScope;
  readonly ladder: readonly LadderStep[];
}

export interface ResponseConfig {
  readonly enabled: boolean;
  readonly rules: readonly ResponseRule[];
  /** Addresses and ranges never decided against (ip and prefix scopes). */
  readonly allowCidrs: readonly Cidr[];
  /** User ids and API key ids never decided against (user and api_key scopes). */
  readonly allowIds: ReadonlySet<string>;
  /** Prior decisions on the same scope and value within this window raise the ladder step. */
  readonly repeatWindowMillis: number;
  readonly throttleRatePerMinute: number;
  readonly stream: { readonly maxWaitMillis: number; readonly maxWaiters: number };
}

type Raw = Record<string, unknown>;

function mapping(value: unknown, key: string, allowed: readonly string[]): Raw {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(key, 'must be a mapping');
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`${key}.${k}`, `unknown key; the keys here are ${allowed.join(', ')} (docs/response.md)`);
    }
  }
  return value as Raw;
}

function list(value: unknown, key: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(key, 'must be a list');
  return value;
}

function integer(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `30s`, `15m`, `4h`, `1d`, or whole milliseconds; as everywhere else in the configuration. */
export function parseDuration(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  const m = typeof value === 'string' ? /^(\d+)(ms|s|m|h|d)$/.exec(value.trim()) : null;
  const millis = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's'] : 0;
  if (!m || millis <= 0) {
    throw new ConfigError(
      key,
      `must be a duration such as "30s", "15m", "4h" (or milliseconds), got ${JSON.stringify(value)}`,
    );
  }
  return millis;
}

function ladder(value: unknown, key: string): LadderStep[] {
  const steps = list(value, key);
  if (steps.length === 0) throw new ConfigError(key, 'needs at least one step such as {action: block, duration: 15m}');
  if (steps.length > 20) throw new ConfigError(key, 'has more than 20 steps');
  return steps.map((s, i) => {
    const k = `${key}[${i}]`;
    const step = mapping(s, k, ['action', 'duration', 'ratePerMinute']);
    if (!DECISION_ACTIONS.includes(step.action as DecisionAction)) {
      throw new ConfigError(
        `${k}.action`,
        `must be one of ${DECISION_ACTIONS.join(', ')}, got ${JSON.stringify(step.action)}`,
      );
    }
    const durationMillis = parseDuration(step.duration, `${k}.duration`);
    if (durationMillis > 365 * 86_400_000) throw new ConfigError(`${k}.duration`, 'must be at most a year');
    const action = step.action as DecisionAction;
    if (step.ratePerMinute !== undefined && action !== 'throttle') {
      throw new ConfigError(`${k}.ratePerMinute`, 'only a throttle step has a rate');
    }
    const rate =
      step.ratePerMinute === undefined ? undefined : integer(step.ratePerMinute, `${k}.ratePerMinute`, 0, 1, 1_000_000);
    return { action, durationMillis, ...(rate !== undefined ? { ratePerMinute: rate } : {}) };
  });
}

function matchers(value: unknown, key: string): Matcher[] {
  const items = list(value, key);
  return items.map((m, i) => {
    if (typeof m !== 'string')
      throw new ConfigError(`${key}[${i}]`, 'must be a matcher such as severity=~"high|critical"');
    try {
      return parseMatcher(m);
    } catch (error) {
      throw new ConfigError(`${key}[${i}]`, (error as Error).message);
    }
  });
}

/** The default ladder of DEFAULTS.responseLadder, parsed once. */
function defaultLadder(): LadderStep[] {
  return ladder(DEFAULTS.responseLadder, 'response.ladder');
}

/**
 * Parse `response:`. Absent or `enabled: false`, the section is still validated, so a typo does not wait for the
 * day someone turns it on.
 *
 * @example
 * parseResponseConfig({ enabled: true, rules: [{ matchers: ['rule="vigil-authn-brute-force"'], scope: 'ip' }] });
 */
export function parseResponseConfig(raw: unknown, key = 'response'): ResponseConfig {
  const r = mapping(raw, key, [
    'enabled',
    'rules',
    'ladder',
    'allowList',
    'repeatWindow',
    'throttleRatePerMinute',
    'stream',
  ]);
  if (r.enabled !== undefined && r.enabled !== null && typeof r.enabled !== 'boolean') {
    throw new ConfigError(`${key}.enabled`, `must be true or false, got ${JSON.stringify(r.enabled)}`);
  }
  const sharedLadder =
    r.ladder === undefined || r.ladder === null ? defaultLadder() : ladder(r.ladder, `${key}.ladder`);
  const rawRules =
    r.rules === undefined || r.rules === null
      ? DEFAULTS.responseRules.map((rule) => ({ ...rule }))
      : list(r.rules, `${key}.rules`);
  const rules = rawRules.map((entry, i) => {
    const k = `${key}.rules[${i}]`;
    const rule = mapping(entry, k, ['matchers', 'scope', 'ladder']);
    const ms = matchers(rule.matchers, `${k}.matchers`);
    // A rule with no matchers would answer every alert, info ones included: say which alerts, on purpose.
    if (ms.length === 0)
      throw new ConfigError(`${k}.matchers`, 'needs at least one matcher, e.g. severity=~"high|critical"');
    if (!DECISION_SCOPES.includes(rule.scope as DecisionScope)) {
      throw new ConfigError(
        `${k}.scope`,
        `must be one of ${DECISION_SCOPES.join(', ')}, got ${JSON.stringify(rule.scope)}`,
      );
    }
    return {
      matchers: ms,
      scope: rule.scope as DecisionScope,
      ladder: rule.ladder === undefined ? sharedLadder : ladder(rule.ladder, `${k}.ladder`),
    };
  });
  const allowCidrs: Cidr[] = [];
  const allowIds = new Set<string>();
  for (const [i, entry] of list(r.allowList, `${key}.allowList`).entries()) {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw new ConfigError(`${key}.allowList[${i}]`, 'must be an address, a CIDR range, a user id or an API key id');
    }
    const cidr = parseCidr(entry.trim());
    // Decision values name an IPv4 client in IPv4, so an entry written IPv4-mapped is kept as IPv4.
    if (cidr) allowCidrs.push(unmapIpv4(cidr));
    else if (entry.includes('/') && /^[0-9a-f:.]+\/\d+$/i.test(entry.trim())) {
      throw new ConfigError(`${key}.allowList[${i}]`, `is not a valid CIDR range: ${JSON.stringify(entry)}`);
    } else allowIds.add(entry.trim());
  }
  const stream = mapping(r.stream, `${key}.stream`, ['maxWaitMillis', 'maxWaiters']);
  return {
    enabled: r.enabled === true,
    rules,
    allowCidrs,
    allowIds,
    repeatWindowMillis:
      r.repeatWindow === undefined || r.repeatWindow === null
        ? DEFAULTS.responseRepeatWindowMillis
        : parseDuration(r.repeatWindow, `${key}.repeatWindow`),
    throttleRatePerMinute: integer(
      r.throttleRatePerMinute,
      `${key}.throttleRatePerMinute`,
      DEFAULTS.responseThrottleRatePerMinute,
      1,
      1_000_000,
    ),
    stream: {
      maxWaitMillis: integer(
        stream.maxWaitMillis,
        `${key}.stream.maxWaitMillis`,
        DEFAULTS.decisionStreamMaxWaitMillis,
        0,
        60_000,
      ),
      maxWaiters: integer(stream.maxWaiters, `${key}.stream.maxWaiters`, DEFAULTS.decisionStreamMaxWaiters, 0, 100_000),
    },
  };
}
