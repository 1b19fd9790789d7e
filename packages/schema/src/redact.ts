/**
 * Redaction: secrets never leave the app. Safe by default (a built-in list of sensitive key names and patterns for
 * card numbers, bearer tokens and JWTs in free text), extended by configuration, compiled once.
 *
 * It lives in the schema package so that the SDK (before events leave the app) and the collector (again, at
 * ingest) run the very same code.
 */
import { neutralise, PARSE_DEFAULTS } from './event.js';
import type { FieldValue } from './fields.js';

/** Limits of the redaction walk: deeper or wider input is cut, never walked without end. */
export const REDACTION_LIMITS = {
  maxDepth: 8,
  maxKeys: 200,
  maxArrayLength: 64,
} as const;

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Sensitive key names, normalised (lower case, separators `-`, `_`, `.` and spaces removed). A key matches when its
 * last segment, normalised, is one of these: `X-Api-Key`, `api_key` and `apiKey` all become `apikey`.
 */
const SENSITIVE_NAMES: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'xauthtoken',
  'bearer',
  'jwt',
  'apikey',
  'xapikey',
  'apisecret',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'session',
  'sessionid',
  'sessiontoken',
  'sid',
  'connectsid',
  'csrf',
  'csrftoken',
  'xcsrftoken',
  'xsrf',
  'xsrftoken',
  'xxsrftoken',
  'privatekey',
  'clientsecret',
  'credential',
  'credentials',
  'card',
  'cardnumber',
  'creditcard',
  'cc',
  'ccnumber',
  'pan',
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'securitycode',
  'ssn',
  'socialsecuritynumber',
  'otp',
  'totp',
  'mfacode',
  'pin',
];

/**
 * Fragments that make any key sensitive wherever they appear in it (`resetPasswordToken`, `github_secret`). Short
 * names like `pin` or `pan` are deliberately not here: as fragments they would hit `shipping` and `company`.
 */
const SENSITIVE_FRAGMENTS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'authorization',
  'cookie',
  'credential',
  'creditcard',
  'cardnumber',
];

const SEPARATORS = /[-_.\s]/g;
/** Splits a key into path segments: dots, and brackets as in `user[password]`. */
const SEGMENT_SPLIT = /[.[\]]+/;

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(SEPARATORS, '');
}

function lastSegment(key: string): string {
  const parts = key.split(SEGMENT_SPLIT).filter((p) => p.length > 0);
  return parts[parts.length - 1] ?? key;
}

/** Digits a card number has at least (the card pattern's own lower bound). */
const MIN_CARD_DIGITS = 13;

/**
 * One character further along a run the card pattern could match — digits, each followed by at most one space or
 * dash. The run is encoded as digits × 2, plus 1 right after a separator; 0 when `c` ends it.
 */
function cardRun(run: number, c: number): number {
  if (c >= 48 && c <= 57) return (run >> 1) * 2 + 2;
  if ((c === 32 || c === 45) && run >= 2 && (run & 1) === 0) return run + 1;
  return 0;
}

/** True when the string holds such a run of 13 digits: ids in paths (`/orders/4711`) are not worth the pattern. */
function mayHoldCard(value: string): boolean {
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    run = cardRun(run, value.charCodeAt(i));
    if (run >= MIN_CARD_DIGITS * 2) return true;
  }
  return false;
}

/**
 * True unless the string holds none of what the patterns' `applies` tests look for (`=`, `:`, `"`, a run of 13
 * digits as `mayHoldCard` counts them, `eyJ`, `bearer` / `basic` in any case): then no pattern can match. One pass,
 * no allocation. Keep it in step with the patterns in createRedactor.
 */
function maySecret(value: string): boolean {
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    run = cardRun(run, c);
    if (run >= MIN_CARD_DIGITS * 2) return true;
    if (run !== 0) continue;
    if (c === 61 || c === 58 || c === 34) return true; // = : "
    if (c === 101 && value.charCodeAt(i + 1) === 121 && value.charCodeAt(i + 2) === 74) return true; // eyJ
    if ((c | 32) === 98) {
      // b / B: bearer or basic, in any case
      const rest = value.slice(i + 1, i + 6).toLowerCase();
      if (rest.startsWith('earer') || rest.startsWith('asic')) return true;
    }
  }
  return false;
}

/** Bounds of the memo of key verdicts (see createRedactor). */
const MAX_MEMOISED_KEYS = 4096;
const MAX_MEMOISED_KEY_LENGTH = 256;

/** True when a string holds a character `neutralise` would escape (the same set as the schema's CONTROL_CHARS). */
function hasControlChars(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

/** Luhn checksum (ISO/IEC 7812-1), over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export interface RedactionOptions {
  /**
   * Extra key names (`ssn_last4`) or dotted paths (`customer.email`) to redact, on top of the built-in list. A path
   * matches the field with that dotted name, or ending in it.
   */
  readonly keys?: readonly string[];
  /** Strings longer than this are cut. Default 8192 (the collector's own limit). */
  readonly maxStringLength?: number;
}

export interface Redactor {
  /** True when a key (its last segment) names a secret. */
  isSensitiveKey(key: string): boolean;
  /** True when a dotted path is sensitive: by its last segment, or because it was configured. */
  isSensitivePath(path: string): boolean;
  /** Free text: card numbers (pattern + Luhn), bearer tokens, JWTs, `key=value` and `"key":"value"` secrets. */
  text(value: string): string;
  /** A query string (`a=1&token=x` → `a=1&token=[REDACTED]`), without the leading `?`. */
  query(query: string): string;
  /** A string field's value as `fields` leaves it: `text`, then control characters neutralised, then cut. */
  string(value: string): string;
  /** Any value: objects and arrays walked (bounded), strings redacted, neutralised and cut. Errors become their class name. */
  value(input: unknown): unknown;
  /** Event fields: nested objects flattened to dotted names, every value redacted, only wire-valid values kept. */
  fields(input: Readonly<Record<string, unknown>>): Record<string, FieldValue>;
}

interface Pattern {
  /** Cheap test that must pass before the regular expression runs (most strings contain no secret at all). */
  readonly applies: (value: string) => boolean;
  readonly regex: RegExp;
  readonly replace: (match: string, ...groups: string[]) => string;
}

/**
 * Build a redactor. Everything is compiled here, once: no `eval`, no regular expressions built from configuration
 * (configured keys are compared as normalised strings, not patterns).
 *
 * @example
 * const r = createRedactor({ keys: ['customer.email'] });
 * r.query('page=2&access_token=abc'); // 'page=2&access_token=[REDACTED]'
 * r.fields({ customer: { email: 'a@b.c', plan: 'pro' } }); // { 'customer.email': '[REDACTED]', 'customer.plan': 'pro' }
 */
export function createRedactor(options: RedactionOptions = {}): Redactor {
  const maxStringLength = options.maxStringLength ?? PARSE_DEFAULTS.maxStringLength;
  const names = new Set(SENSITIVE_NAMES);
  const paths: string[] = [];
  for (const raw of options.keys ?? []) {
    if (typeof raw !== 'string' || raw.length === 0) continue;
    if (raw.includes('.')) paths.push(raw.split('.').map(normaliseKey).join('.'));
    else names.add(normaliseKey(raw));
  }

  const judgeKey = (key: string): boolean => {
    const name = normaliseKey(lastSegment(key));
    if (names.has(name)) return true;
    for (const fragment of SENSITIVE_FRAGMENTS) if (name.includes(fragment)) return true;
    return false;
  };

  const judgePath = (path: string): boolean => {
    if (isSensitiveKey(path)) return true;
    if (paths.length === 0) return false;
    const normal = path.split(SEGMENT_SPLIT).map(normaliseKey).join('.');
    return paths.some((p) => normal === p || normal.endsWith(`.${p}`));
  };

  // Events reuse a small set of field names, so each verdict is computed once. Only key names are kept (never
  // values), and the memo stops growing at its bound: keys past it are judged each time.
  const keyVerdicts = new Map<string, boolean>();
  const pathVerdicts = new Map<string, boolean>();
  const memo = (verdicts: Map<string, boolean>, judge: (key: string) => boolean) => (key: string) => {
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = judge(key);
      if (verdicts.size < MAX_MEMOISED_KEYS && key.length <= MAX_MEMOISED_KEY_LENGTH) verdicts.set(key, verdict);
    }
    return verdict;
  };
  const isSensitiveKey = memo(keyVerdicts, judgeKey);
  const isSensitivePath = memo(pathVerdicts, judgePath);

  const patterns: Pattern[] = [
    // Authorization schemes followed by a credential.
    {
      applies: (v) => /bearer|basic/i.test(v),
      regex: /\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi,
      replace: (_m, scheme) => `${scheme} ${REDACTED}`,
    },
    // JWT / JWS compact form: base64url(JSON header) always starts with "eyJ" ('{"'); three dot-separated segments.
    {
      applies: (v) => v.includes('eyJ'),
      regex: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
      replace: () => REDACTED,
    },
    // "key": "value" as in JSON embedded in a message.
    {
      applies: (v) => v.includes('"'),
      regex: /"([^"\\]{1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g,
      replace: (m, key, sep) => (isSensitiveKey(key) ? `"${key}"${sep}"${REDACTED}"` : m),
    },
    // key=value and key: value, as in query strings, form bodies, config dumps and log messages.
    {
      applies: (v) => v.includes('=') || v.includes(':'),
      regex: /([A-Za-z0-9_\-.[\]]{1,64})(=|:[ \t]*)([^&\s;,"']+)/g,
      replace: (m, key, sep) => (isSensitiveKey(key) ? `${key}${sep}${REDACTED}` : m),
    },
    // Payment card numbers: 13 to 19 digits, optionally grouped by spaces or dashes, issuer prefix 2-6, Luhn-valid.
    {
      applies: mayHoldCard,
      regex: /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g,
      replace: (m) => {
        const digits = m.replace(/[ -]/g, '');
        if (digits.length < 13 || digits.length > 19) return m;
        const first = digits.charCodeAt(0) - 48;
        return first >= 2 && first <= 6 && luhnValid(digits) ? REDACTED : m;
      },
    },
  ];

  const text = (value: string): string => {
    // Most strings (paths, addresses, user agents) hold none of what the patterns look for: one scan clears them.
    if (!maySecret(value)) return value.length > maxStringLength * 4 ? value.slice(0, maxStringLength * 4) : value;
    // Cut very long input before the regular expressions run; the final cut happens in `finish`.
    let out = value.length > maxStringLength * 4 ? value.slice(0, maxStringLength * 4) : value;
    for (const p of patterns)
      if (p.applies(out)) out = out.replace(p.regex, p.replace as (substring: string, ...args: unknown[]) => string);
    return out;
  };

  const finish = (value: string): string => {
    const redacted = text(value);
    const safe = hasControlChars(redacted) ? neutralise(redacted) : redacted;
    return safe.length > maxStringLength ? safe.slice(0, maxStringLength) : safe;
  };

  const query = (input: string): string => {
    if (input.length === 0) return input;
    const parts = input.split('&').map((part) => {
      const eq = part.indexOf('=');
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      let key = rawKey;
      try {
        key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      } catch {
        // a malformed escape: judge the key as it is
      }
      if (eq !== -1 && isSensitiveKey(key)) return `${rawKey}=${REDACTED}`;
      return part;
    });
    return finish(parts.join('&'));
  };

  const scalar = (input: unknown): FieldValue | undefined => {
    switch (typeof input) {
      case 'string':
        return finish(input);
      case 'number':
        return Number.isFinite(input) ? input : undefined;
      case 'boolean':
        return input;
      case 'bigint':
        return input.toString();
      default:
        if (input instanceof Date) return Number.isNaN(input.getTime()) ? undefined : input.toISOString();
        // An error's message and stack may hold anything the code put there: only its class name is kept.
        if (input instanceof Error) return errorClassName(input);
        return undefined;
    }
  };

  const walk = (input: unknown, depth: number, seen: WeakSet<object>): unknown => {
    const s = scalar(input);
    if (s !== undefined || input === null || typeof input !== 'object') return s ?? (input === null ? null : undefined);
    if (depth >= REDACTION_LIMITS.maxDepth || seen.has(input)) return undefined;
    if (ArrayBuffer.isView(input) || input instanceof ArrayBuffer) return '[binary]';
    seen.add(input);
    if (Array.isArray(input)) {
      return input.slice(0, REDACTION_LIMITS.maxArrayLength).map((x) => walk(x, depth + 1, seen));
    }
    const out: Record<string, unknown> = {};
    let count = 0;
    for (const key of Object.keys(input)) {
      if (++count > REDACTION_LIMITS.maxKeys) break;
      const v = (input as Record<string, unknown>)[key];
      out[key] = isSensitiveKey(key) ? REDACTED : walk(v, depth + 1, seen);
    }
    return out;
  };

  const fields = (input: Readonly<Record<string, unknown>>): Record<string, FieldValue> => {
    const out: Record<string, FieldValue> = {};
    let count = 0;
    let seen: WeakSet<object> | undefined;
    const visit = (obj: Readonly<Record<string, unknown>>, prefix: string, depth: number) => {
      for (const key of Object.keys(obj)) {
        if (++count > REDACTION_LIMITS.maxKeys) return;
        const name = prefix ? `${prefix}.${key}` : key;
        const raw = obj[key];
        if (raw === undefined || raw === null) continue;
        if (isSensitivePath(name)) {
          out[name] = REDACTED;
          continue;
        }
        const s = scalar(raw);
        if (s !== undefined) {
          out[name] = s;
        } else if (Array.isArray(raw)) {
          const items: string[] = [];
          for (const item of raw.slice(0, REDACTION_LIMITS.maxArrayLength)) {
            const v = scalar(item);
            if (v !== undefined && !Array.isArray(v)) items.push(typeof v === 'string' ? v : String(v));
          }
          out[name] = items;
        } else if (typeof raw === 'object' && !seen?.has(raw) && depth < REDACTION_LIMITS.maxDepth) {
          if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) continue;
          seen ??= new WeakSet<object>();
          seen.add(raw);
          visit(raw as Record<string, unknown>, name, depth + 1);
        }
      }
    };
    visit(input, '', 0);
    return out;
  };

  return {
    isSensitiveKey,
    isSensitivePath,
    text: (value) => text(value),
    query,
    string: finish,
    value: (input) => walk(input, 0, new WeakSet()),
    fields,
  };
}

/** The class name of an error, never its message: `TypeError`, `ValidationError`, or `Error`. */
export function errorClassName(error: unknown): string {
  if (error instanceof Error) {
    const ctor = error.constructor?.name;
    const name = ctor && ctor !== 'Error' ? ctor : error.name;
    return neutralise(typeof name === 'string' && name.length > 0 ? name.slice(0, 128) : 'Error');
  }
  return typeof error === 'object' && error !== null ? 'Object' : typeof error;
}

let defaultRedactor: Redactor | undefined;

/**
 * Redact a value with the built-in rules only (no configured keys).
 *
 * @example
 * redact({ user: 'ann', password: 'hunter2' }); // { user: 'ann', password: '[REDACTED]' }
 */
export function redact(input: unknown): unknown {
  defaultRedactor ??= createRedactor();
  return defaultRedactor.value(input);
}
