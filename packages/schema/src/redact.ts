/**
 * Redaction: secrets never leave the app. Safe by default (a built-in list of sensitive key names and patterns for
 * card numbers, bearer tokens and JWTs in free text), extended by configuration, compiled once.
 *
 * It lives in the schema package so that the SDK (before events leave the app) and the collector (again, at
 * ingest) run the very same code.
 */
import { unescape as unescapeQuery } from 'node:querystring';
import { Field, type FieldValue } from './fields.js';
import { hasControlChars, MAX_FIELD_NAME_LENGTH, neutralise, PARSE_DEFAULTS } from './wire.js';

/** Limits of the redaction walk: deeper or wider input is cut, never walked without end. */
export const REDACTION_LIMITS = {
  maxDepth: 8,
  maxKeys: 200,
  maxArrayLength: 64,
} as const;

/** What a redacted value is replaced with. */
export const REDACTED = '[REDACTED]';

/**
 * Sensitive key names, normalised (lower case, separators `-`, `_`, `.` and spaces removed): `X-Api-Key`, `api_key`
 * and `apiKey` all become `apikey`. A key of the app's data matches when any of its segments does (`password[new]`,
 * `otp[0]`, `user.password`: a secret's sub-keys are secret too); an event's field name when its last dotted segment
 * does (`vigil.session.hash` is not a session).
 */
const SENSITIVE_NAMES: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'passcode',
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
  'accesskey',
  // API-key headers of API gateways: Azure API Management's (also under the fragment below) and Azure Functions'.
  'xfunctionskey',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'session',
  'sessionid',
  'sessiontoken',
  'sid',
  'connectsid',
  // PHP's session cookie, which `session.use_trans_sid` also writes into URLs (`?PHPSESSID=...`).
  'phpsessid',
  'csrf',
  'csrftoken',
  'xcsrftoken',
  'xsrf',
  'xsrftoken',
  'xxsrftoken',
  'privatekey',
  'clientsecret',
  // OAuth PKCE: the verifier is what turns an intercepted authorization code into tokens.
  'codeverifier',
  // What a callback or a sign-in form carries: an OAuth 1.0a verifier, an authorization code under another name, a
  // SAML response (a signed assertion, good for signing in until it expires) or artifact.
  'oauthverifier',
  'authcode',
  'samlresponse',
  'samlart',
  'credential',
  'credentials',
  'auth',
  'signature',
  // Request-signing headers and query parameters of AWS and Google Cloud. Their `-credential` and `-security-token`
  // siblings already match the fragments below.
  'xamzsignature',
  'xgoogsignature',
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
  'subscriptionkey',
  // Session ids by the name of their platform: `JSESSIONID` (Java servlet containers, which also rewrite it into
  // URLs as `;jsessionid=...`), `ASP.NET_SessionId`, `X-Session-Id`.
  'sessionid',
];

/**
 * Compounds of a fragment that name no secret, left out of a key before its fragments are looked for: a session's
 * idle timeout (`sessionIdleTimeout`, which holds `sessionid`), and the token counts of language-model APIs
 * (`max_tokens`, `usage.prompt_tokens`, numbers that detection may want). Other fragments still count:
 * `session_idle_token` is sensitive by its `token`.
 */
const HARMLESS_COMPOUNDS: readonly string[] = [
  'sessionidle',
  'maxtokens',
  'prompttokens',
  'completiontokens',
  'totaltokens',
  'inputtokens',
  'outputtokens',
  'cachedtokens',
  'reasoningtokens',
];

/**
 * Names that are credentials as URL query parameters, compared with the whole parameter name normalised: an OAuth
 * authorization code (`code`), an API key (`key`, as Google APIs take it), a shared access signature (`sig`, Azure
 * SAS). They are not sensitive key names in general: `code` and `key` are common, harmless JSON fields (error codes,
 * settings keys) and `code=3` is an exit code in a log line. The trade-off: a `code` query parameter that is a promo
 * or country code is hidden too.
 */
const SENSITIVE_QUERY_NAMES: readonly string[] = ['code', 'key', 'sig'];

const SEPARATORS = /[-_.\s]/g;
/** Splits a key into path segments: dots, and brackets as in `user[password]`. */
const SEGMENT_SPLIT = /[.[\]]+/;
/** Splits one dotted segment into its bracket parts: `password[new]`, `otp[0]`. */
const BRACKETS = /[[\]]+/;

export function normaliseKey(key: string): string {
  return key.toLowerCase().replace(SEPARATORS, '');
}

/** The last dotted segment of a field name: `password[new]` of `body.password[new]`. */
function lastDotted(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot === -1 ? path : path.slice(dot + 1);
}

const INDEX = /^\d+$/;

/**
 * A dotted path as configured paths are compared: segments normalised, array indexes left out, so that
 * `customers.email` matches `customers.0.email` (the first customer of a list, as inspection names it).
 */
function configuredPath(path: string): string {
  return path
    .split(SEGMENT_SPLIT)
    .filter((segment) => segment.length > 0 && !INDEX.test(segment))
    .map(normaliseKey)
    .join('.');
}

/** The names of the event model's own fields: a top-level field of one of these names is judged as a field. */
const MODEL_FIELDS: ReadonlySet<string> = new Set(Object.values(Field));

/** What a field name may hold (schema/event.ts): dotted words of letters, digits, `_` and `-`. */
const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const INVALID_NAME_CHARS = /[^A-Za-z0-9_-]/g;

/**
 * A name the collector takes for a key of the app's data that is not one (`first name`, `città`, a key holding a
 * line separator): each dotted segment's other characters become `_`, so the event is not refused for one key.
 */
function validName(name: string): string {
  if (VALID_NAME.test(name)) return name;
  const safe = name
    .split('.')
    .map((segment) => segment.replace(INVALID_NAME_CHARS, '_') || '_')
    .join('.');
  return /^[0-9-]/.test(safe) ? `_${safe}` : safe;
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
 * True when the `_`, `-` or `A` at `value[i]` may belong to a credential of a known format, a command-line option or
 * a private key (see KNOWN_TOKEN, OPTION_VALUE, PRIVATE_KEY): `ghp_`, `npm_`, `sk_`, `rk_`, `github_pat_`, `xoxb-`,
 * `glpat-`, `--`, `-----BEGIN`, `AKIA`, `ASIA`, `AIza`. A cheap look at the characters around it.
 */
function mayOpenToken(value: string, i: number): boolean {
  switch (value.charCodeAt(i)) {
    case 65: // A: AKIA, ASIA, AIza
      return value.startsWith('KIA', i + 1) || value.startsWith('SIA', i + 1) || value.startsWith('Iza', i + 1);
    case 45: // -: --option, -----BEGIN, xoxb-, glpat-
      return (
        value.charCodeAt(i + 1) === 45 ||
        (i >= 4 && value.startsWith('xox', i - 4)) ||
        (i >= 5 && value.startsWith('glpat', i - 5))
      );
    default: {
      // _: ghp_, npm_, sk_, rk_, github_pat_
      if (i < 2) return false;
      const before = value.slice(i - 2, i);
      return (
        before === 'sk' || before === 'rk' || before === 'pm' || before === 'at' || value.charCodeAt(i - 3) === 103
      );
    }
  }
}

/**
 * True unless `value[start, end)` holds none of what the patterns' `applies` tests look for (`=`, `:`, `"`, `</`, a
 * run of 13 digits as `mayHoldCard` counts them, `eyJ`, `bearer` / `basic` in any case, what mayOpenToken looks for):
 * then no pattern can match. One pass, no allocation. Keep it in step with the patterns in createRedactor (an
 * `authorization` header needs `:` or `=`).
 */
function maySecret(value: string, start: number, end: number): boolean {
  let run = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    run = cardRun(run, c);
    if (run >= MIN_CARD_DIGITS * 2) return true;
    if (run !== 0) continue;
    if (c === 61 || c === 58 || c === 34) return true; // = : "
    if (c === 60 && value.charCodeAt(i + 1) === 47) return true; // </
    if ((c === 95 || c === 45 || c === 65) && mayOpenToken(value, i)) return true; // _ - A
    if (c === 101 && value.charCodeAt(i + 1) === 121 && value.charCodeAt(i + 2) === 74) return true; // eyJ
    if ((c | 32) === 98) {
      // b / B: bearer or basic, in any case
      const rest = value.slice(i + 1, i + 6).toLowerCase();
      if (rest.startsWith('earer') || rest.startsWith('asic')) return true;
    }
  }
  return false;
}

/** True when `value[start, end)` holds `%` or `+`: a query component that decodes to something else. */
function hasEscapes(value: string, start = 0, end = value.length): boolean {
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 37 || c === 43) return true;
  }
  return false;
}

const PLUS = /\+/g;

/**
 * A query component decoded as a form would be: `+` is a space, `%XX` escapes are UTF-8 bytes. `querystring.unescape`
 * is tolerant where `decodeURIComponent` throws: a malformed escape (`100%`, `%zz`) stays as it is, bytes that are
 * not UTF-8 become U+FFFD.
 */
function decodeQueryComponent(raw: string): string {
  return unescapeQuery(raw.includes('+') ? raw.replace(PLUS, ' ') : raw);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Escapes written back as their character: the `[REDACTED]` marker, and what makes paths and addresses readable. */
const READABLE_ESCAPES = /%(?:5B|5D|2F|3A|40|2C)/g;
/** The same in a path segment, but for `/`: decoded, it would split the segment in two. */
const READABLE_PATH_ESCAPES = /%(?:5B|5D|3A|40|2C)/g;

/**
 * A decoded query component (or path segment) written back once redaction changed it: percent-encoded as
 * `encodeURIComponent` does (so a decoded `&`, `=`, `#` or control character cannot change the query's shape or the
 * log line), except for the escapes `readable` matches, written as their character: `[`, `]`, `/`, `:`, `@` and `,`
 * in a query. `q=paid+with+4111+1111+1111+1111` → `q=paid%20with%20[REDACTED]`.
 */
function encodeComponent(value: string, readable: RegExp): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    encoded = encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD'));
  }
  return encoded.replace(readable, decodeURIComponent);
}

/** `input` cut at the last `separator` within `limit` characters, when it is longer than that. */
function cutAt(input: string, separator: string, limit: number): string {
  return input.length > limit ? input.slice(0, Math.max(0, input.lastIndexOf(separator, limit))) : input;
}

/**
 * `source` with each piece between two `separator`s that `rewrite(from, to)` changes replaced by what it returns
 * (undefined: left as it is); undefined when it changed none. With `maxOut`, the pieces after the first `maxOut`
 * characters written are left out, unread.
 */
function rewritePieces(
  source: string,
  separator: string,
  rewrite: (from: number, to: number) => string | undefined,
  maxOut = Number.POSITIVE_INFINITY,
): string | undefined {
  let out = '';
  let copied = 0;
  let changed = false;
  for (let from = 0; from <= source.length; ) {
    // What is written so far already fills `maxOut`: the rest would be cut, so it is not looked at (nor returned).
    if (out.length + (from - copied) >= maxOut)
      return changed ? out + source.slice(copied, from) : source.slice(0, from);
    const at = source.indexOf(separator, from);
    const to = at === -1 ? source.length : at;
    const replaced = rewrite(from, to);
    if (replaced !== undefined) {
      out += source.slice(copied, from) + replaced;
      copied = to;
      changed = true;
    }
    from = to + 1;
  }
  return changed ? out + source.slice(copied) : undefined;
}

/** What ends a URL's authority: the path, the query, the fragment, or the end of the URL in text. */
const AUTHORITY_END = /[\s/?#]/g;

function isSchemeChar(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 43 || c === 45 || c === 46; // + - .
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * True when a URL scheme (`https`, `svn+ssh`) ends right before `value[end]`: a letter starting a word, then scheme
 * characters (as `\b[A-Za-z][A-Za-z0-9+.-]*` would match it).
 */
function schemeEndsAt(value: string, end: number): boolean {
  let start = end;
  while (start > 0 && isSchemeChar(value.charCodeAt(start - 1))) start--;
  for (let i = start; i < end; i++) {
    const before = value.charCodeAt(i - 1);
    if (isLetter(value.charCodeAt(i)) && !(isLetter(before) || isDigit(before) || before === 95)) return true;
  }
  return false;
}

/**
 * The password of every URL's user information in `value` redacted. The user information runs from `scheme://` to
 * the last `@` before the authority ends, since a user name or a password may hold a raw `@` (as URL parsers and
 * database drivers take them: `postgres://app:P@ssw0rd@db`, `smtp://ann@example.com:pw@smtp.example.com`); the
 * password is what follows its first `:`. Each authority is scanned once, so the time is linear in the text; a
 * redacted password is redacted again as itself.
 */
export function redactUrlPasswords(value: string): string {
  let out = '';
  let copied = 0;
  for (let slashes = value.indexOf('://'); slashes !== -1; ) {
    const start = slashes + 3;
    AUTHORITY_END.lastIndex = start;
    const end = AUTHORITY_END.exec(value)?.index ?? value.length;
    let colon = -1;
    let at = -1;
    // The first `:` and the last `@` of the authority.
    for (let i = start; i < end; i++) {
      const c = value.charCodeAt(i);
      if (c === 64) at = i;
      else if (c === 58 && colon === -1) colon = i;
    }
    if (colon !== -1 && colon < at && schemeEndsAt(value, slashes)) {
      out += value.slice(copied, colon + 1) + REDACTED;
      copied = at;
    }
    // A `://` may start at the authority's last character (`a://x:/`): the search goes on from there.
    slashes = value.indexOf('://', Math.max(start, end - 1));
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** How a URL starts: a scheme and `//` (`https://`), or a path. */
const URL_START = /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|\/)/;

/** Bounds of a memo by key (see memoByKey): entries of one generation, and the longest key kept. */
export const MAX_MEMOISED_KEYS = 4096;
const MAX_MEMOISED_KEY_LENGTH = 256;

/**
 * `compute`, with its results remembered by key (a key's verdict, a field name's encoding). Some keys are chosen by
 * whoever sends requests (query parameter names, body keys under parameter inspection), so the memo must stay useful
 * when someone sends thousands of new keys on purpose: one that stops growing once full keeps those forever, and
 * every key the app itself uses from then on is computed again on every request (a verdict: about 1 µs each,
 * against 0.06 µs remembered). Instead it keeps two generations: when the current one is full it becomes the
 * previous one and the older is dropped, and a key found in the previous one moves to the current. A key in use at
 * least once per MAX_MEMOISED_KEYS new keys stays remembered, and at most twice that many are held. `compute` never
 * returns undefined.
 */
export function memoByKey<V>(compute: (key: string) => V): (key: string) => V {
  let current = new Map<string, V>();
  let previous = new Map<string, V>();
  return (key) => {
    let value = current.get(key);
    if (value !== undefined) return value;
    value = previous.get(key) ?? compute(key);
    if (key.length <= MAX_MEMOISED_KEY_LENGTH) {
      if (current.size >= MAX_MEMOISED_KEYS) {
        previous = current;
        current = new Map();
      }
      current.set(key, value);
    }
    return value;
  };
}

/** Luhn checksum (ISO/IEC 7812-1), over a string of digits. */
export function luhnValid(digits: string): boolean {
  return /^\d+$/.test(digits) && luhnChecks(digits, 0, digits.length);
}

/** True when the digits of `text[from, to)` pass the Luhn check; other characters (separators) are skipped. */
function luhnChecks(text: string, from: number, to: number): boolean {
  let sum = 0;
  let double = false;
  for (let i = to - 1; i >= from; i--) {
    let d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Digits a card number has at most. */
const MAX_CARD_DIGITS = 19;

/**
 * A JSON number past 2^53 has lost its last digits when it was parsed: its checksum cannot be checked, and what is
 * left of a 17- to 19-digit card number (UnionPay, Maestro and Visa issue them) is its first 15 or 16 digits. So such
 * a number of 17 to 19 digits with a card's issuer prefix (2-6) counts as a card. (Ids that large and that lossy are
 * broken as ids already; those starting with 1, as today's snowflake ids, are kept.)
 */
function mayBeRoundedCard(magnitude: number): boolean {
  if (magnitude < 1e16 || magnitude >= 1e19) return false;
  const first = String(magnitude).charCodeAt(0) - 48; // written in plain digits below 1e21
  return first >= 2 && first <= 6;
}

/** True when an integer's digits are a card number (a card sent as a JSON number). */
function numberIsCard(value: number): boolean {
  const magnitude = Math.abs(value);
  if (magnitude > Number.MAX_SAFE_INTEGER) return mayBeRoundedCard(magnitude);
  const digits = String(magnitude);
  return (
    digits.length >= MIN_CARD_DIGITS &&
    digits.length <= MAX_CARD_DIGITS &&
    /^\d+$/.test(digits) &&
    isCardNumber(digits, 0, digits.length)
  );
}

/**
 * `value` cut to at most `max` characters; a cut inside a run of digits (and the spaces or dashes between its
 * groups) leaves that run out: part of a card number no longer looks like one (see `text`). Bearer tokens and JWTs
 * need no such care: their patterns take any remnant long enough to be of use.
 */
function cutOutsideDigits(value: string, max: number): string {
  let end = max;
  if (!isDigit(value.charCodeAt(end)) && !isDigit(value.charCodeAt(end - 1))) return value.slice(0, end);
  const floor = Math.max(0, max - 2 * MAX_CARD_DIGITS);
  while (end > floor && isCardChar(value.charCodeAt(end - 1))) end--;
  return value.slice(0, end);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isCardChar(c: number): boolean {
  return isDigit(c) || c === 32 || c === 45;
}

/**
 * True when the digits of `run[from, to)` (separators skipped) are a card number: issuer prefix 2-6 and a valid Luhn
 * checksum. The caller has counted 13 to 19 digits.
 */
function isCardNumber(run: string, from: number, to: number): boolean {
  const first = run.charCodeAt(from) - 48;
  return first >= 2 && first <= 6 && luhnChecks(run, from, to);
}

/**
 * Card numbers in a run of digit groups (as the card pattern matches it: groups of digits, one space or dash
 * between them). A candidate is a span of whole groups holding 13 to 19 digits: from the first group, the longest
 * candidate that is a card is redacted; if none is, the next group is tried. So a card followed or preceded by more
 * digits (`4111 1111 1111 1111 123`, a CVV; `qty 2 4111111111111111`) is found, and the other digits are kept.
 *
 * A span never starts or ends inside a group: windows inside one contiguous run of digits are not tried, because
 * about one window in ten of any long numeric id passes Luhn, and ids would be redacted by chance. A card written
 * without a separator before more digits (`4111111111111111123`) is therefore kept.
 */
function redactCardsInRun(run: string): string {
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < run.length; i++) {
    starts.push(i);
    while (i < run.length && run.charCodeAt(i) >= 48 && run.charCodeAt(i) <= 57) i++;
    ends.push(i);
  }
  let out = '';
  let copied = 0;
  for (let first = 0; first < starts.length; first++) {
    let digits = 0;
    let last = first - 1;
    while (last + 1 < starts.length) {
      const next = (ends[last + 1] as number) - (starts[last + 1] as number);
      if (digits + next > MAX_CARD_DIGITS) break;
      digits += next;
      last++;
    }
    for (; last >= first && digits >= MIN_CARD_DIGITS; last--) {
      const from = starts[first] as number;
      const to = ends[last] as number;
      if (isCardNumber(run, from, to)) {
        out += run.slice(copied, from) + REDACTED;
        copied = to;
        first = last;
        break;
      }
      digits -= to - (starts[last] as number);
    }
  }
  return copied === 0 ? run : out + run.slice(copied);
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
  /** True when a key of the app's data names a secret: any of its segments (dots, brackets) does. */
  isSensitiveKey(key: string): boolean;
  /**
   * True when a field's dotted name is sensitive: by its last segment (any of that segment's bracket parts), or
   * because it was configured.
   */
  isSensitivePath(path: string): boolean;
  /**
   * True when a query parameter's name (decoded) names a secret: a sensitive key, or one of the names that are
   * credentials only in a URL (`code`, `key`, `sig`), compared whole, case and separators normalised.
   */
  isSensitiveQueryName(name: string): boolean;
  /**
   * Free text: `Authorization:` header values, card numbers (pattern + Luhn), bearer tokens, JWTs, URL passwords,
   * `key=value`, `key = 'value'`, `"key":"value"` and `"key"=>"value"` secrets (a list or an object as the value
   * hidden whole), XML elements and `--options` named like a secret, PEM private keys, and credentials of a known
   * format (GitHub, Slack, Stripe, AWS, Google, npm, GitLab).
   */
  text(value: string): string;
  /**
   * A query string (`a=1&token=x` → `a=1&token=[REDACTED]`), without the leading `?`. Parameter names and values
   * are judged decoded (`+` is a space); an escaped value in which free-text redaction finds a secret is written
   * back percent-encoded around the marker (`q=card+4111+1111+1111+1111` → `q=card%20[REDACTED]`); every other
   * parameter is kept as it came.
   */
  query(query: string): string;
  /**
   * A URL (`https://app.example/cb?code=x#top`) or a path (`/cards/4111%201111%201111%201111`): its query redacted
   * as `query` does; each path segment with an escape judged decoded too, and written back percent-encoded around
   * the marker when something in it is redacted (`/cards/[REDACTED]`); then the whole as free text. A value that does
   * not look like a URL or a path is free text (`string`).
   */
  url(value: string): string;
  /** A string field's value as `fields` leaves it: `text`, then control characters neutralised, then cut. */
  string(value: string): string;
  /**
   * The first `maxChars` characters of what `string` makes of `value`, read from at most `maxChars` +
   * PREFIX_MARGIN_CHARS of it, so that the work is bounded by `maxChars` however long `value` is (parameter
   * inspection keeps 256 characters of a value). A value that fits in that window gives exactly
   * `string(value).slice(0, maxChars)`. A longer one is judged on the window, and a secret the window's end may have
   * cut (a JWT, a URL's password, a sensitive XML element or JSON string, a quoted credential of an `Authorization`
   * value, still open there; a credential of a known format or a bearer credential cut short; a run of digit groups
   * that may hold a card) is hidden from where it starts, to the end: no part of one is ever sent. What
   * redaction hides in the window no longer pulls later text forward, so such a value may come out shorter.
   */
  prefix(value: string, maxChars: number): RedactedPrefix;
  /** Any value: objects and arrays walked (bounded), strings redacted, neutralised and cut. Errors become their class name. */
  value(input: unknown): unknown;
  /**
   * Event fields: nested objects flattened to dotted names, every value redacted, only wire-valid values kept (a
   * name longer than the collector takes is left out).
   */
  fields(input: Readonly<Record<string, unknown>>): Record<string, FieldValue>;
}

/** What `Redactor.prefix` gives. */
export interface RedactedPrefix {
  /** Redacted, neutralised, at most the `maxChars` asked for. */
  readonly text: string;
  /** True when something of the value was left out: past `maxChars` once redacted, or past the window read. */
  readonly cut: boolean;
}

/**
 * Characters `Redactor.prefix` reads past those it keeps, so that a secret of bounded length starting among the
 * characters kept is found: a card number (at most 37 characters with its separators, and the window's end moves back
 * by up to 38 to leave out a run of digits it cuts, see cutOutsideDigits: 75), the shortest match of a credential of
 * a known format (40, `npm_` and its 36 characters; what the window leaves of a longer one still matches) or of a
 * bearer credential (8). Secrets whose pattern needs their end are found by what opens them (see openSecretAt); the
 * others (`key=value` pairs, quoted values, private keys) take what is left of them.
 */
export const PREFIX_MARGIN_CHARS = 80;

/**
 * The names of the free-text patterns (createRedactor's `patterns`). A pattern takes its name from this list, so a
 * new one must be added here, and the tests then ask for its secret in the bounded-window tests of
 * `Redactor.prefix`: a pattern that needs its secret's end to find it also needs its case in `openSecretAt` (see
 * PREFIX_MARGIN_CHARS).
 */
export const FREE_TEXT_PATTERNS = [
  'private key',
  'known token',
  'option',
  'authorization',
  'URL password',
  'bearer',
  'JWT',
  'card number',
  'JSON string',
  'XML element',
  'key=value',
] as const;

interface Pattern {
  readonly name: (typeof FREE_TEXT_PATTERNS)[number];
  /** Cheap test that must pass before the regular expression runs (most strings contain no secret at all). */
  readonly applies: (value: string) => boolean;
  readonly redact: (value: string) => string;
}

/** The longest key of a `key=value` pair in free text; a longer run before the separator gives its last characters. */
const MAX_PAIR_KEY_CHARS = 64;

/**
 * Credentials whose format names them, wherever they are written: GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`,
 * `ghr_`, `github_pat_`), Slack tokens (`xoxb-` ...), Stripe secret and restricted keys (`sk_live_`, `rk_test_` ...),
 * AWS access key ids (`AKIA`, `ASIA`), Google API keys (`AIza`), npm tokens (`npm_`) and GitLab personal access tokens
 * (`glpat-`). Each is a whole word: not glued to letters, digits or `_` on either side.
 */
const KNOWN_TOKEN_FORMATS: readonly (readonly [opening: string, rest: string])[] = [
  ['gh[pousr]_', '[A-Za-z0-9]{36,251}'],
  ['github_pat_', '[A-Za-z0-9_]{22,244}'],
  ['xox[abposr]-', '[A-Za-z0-9-]{10,250}'],
  ['[sr]k_(?:live|test)_', '[A-Za-z0-9]{16,247}'],
  ['(?:AKIA|ASIA)', '[A-Z0-9]{16}'],
  ['AIza', '[A-Za-z0-9_-]{35}'],
  ['npm_', '[A-Za-z0-9]{36}'],
  ['glpat-', '[A-Za-z0-9_-]{20,249}'],
];
const KNOWN_TOKEN = new RegExp(
  `(?<![A-Za-z0-9_])(?:${KNOWN_TOKEN_FORMATS.map(([opening, rest]) => opening + rest).join('|')})(?![A-Za-z0-9_])`,
  'g',
);
/** The same, to test whether a text holds one (a global expression's `test` would go on from its last match). */
const HAS_KNOWN_TOKEN = new RegExp(KNOWN_TOKEN.source);

/** The characters of a `Bearer` / `Basic` credential (a token68, RFC 9110), before its `=` padding. */
const BEARER_CREDENTIAL_CHARS = 'A-Za-z0-9\\-._~+/';
/** An authorization scheme followed by its credential. Groups: the scheme. */
const BEARER_CREDENTIAL = new RegExp(`\\b(Bearer|Basic)\\s+[${BEARER_CREDENTIAL_CHARS}]{8,}=*`, 'gi');

/**
 * A long command-line option and the value after it, separated by spaces (`--password hunter2`, `--api-key "k y"`),
 * as a logged command line writes them; `--password=x` is a `key=value` pair. Groups: option name (without its
 * dashes), what is between, opening quote, closing quote. A value that is itself an option (`--token --verbose`)
 * is not one.
 */
const OPTION_VALUE =
  /(?<![A-Za-z0-9_-])--([A-Za-z][A-Za-z0-9_-]{0,63})([ \t]+)(?!-)(?:(["'])(?:(?!\3)[^\\\r\n]|\\.)*(\3?)|[^\s"']+)/g;

/** A PEM private key's first line (`-----BEGIN RSA PRIVATE KEY-----`). Group: the kind before `PRIVATE KEY`. */
const PRIVATE_KEY_BEGIN = /-----BEGIN ([A-Z0-9]{1,16} ){0,2}PRIVATE KEY-----/y;

/**
 * `value` with the body of every PEM private key hidden: from its first line to its last (`-----END ... PRIVATE
 * KEY-----`), or to the end of the text when the last is missing (a cut log line still holds part of the key). The
 * first and last lines are kept, so the event still says what was there. One pass.
 */
function redactPrivateKeys(value: string): string {
  let out = '';
  let copied = 0;
  for (let at = value.indexOf('-----BEGIN ', 0); at !== -1; at = value.indexOf('-----BEGIN ', at + 1)) {
    if (at < copied) continue;
    PRIVATE_KEY_BEGIN.lastIndex = at;
    const begin = PRIVATE_KEY_BEGIN.exec(value);
    if (begin === null) continue;
    const footer = `-----END ${begin[1] ?? ''}PRIVATE KEY-----`;
    const end = value.indexOf(footer, PRIVATE_KEY_BEGIN.lastIndex);
    out += value.slice(copied, PRIVATE_KEY_BEGIN.lastIndex) + REDACTED + (end === -1 ? '' : footer);
    copied = end === -1 ? value.length : end + footer.length;
    if (end === -1) break;
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** An XML start tag (groups: name, attributes), and an end tag (group: name). Each try stops at the next `<`. */
const XML_START_TAG = /<([A-Za-z_][A-Za-z0-9_.:-]{0,63})(\s[^<>]*)?>/g;
const XML_END_TAG = /<\/([A-Za-z_][A-Za-z0-9_.:-]{0,63})\s*>/g;

/**
 * The content of each XML element whose name `isSecret` judges a secret (`<password>hunter2</password>`,
 * `<ns:Token type="x"><v>...</v></ns:Token>`: text or other elements), as SOAP and XML APIs log their bodies; it ends
 * at the first end tag of its name, and an element that never ends is left alone. Linear: the end tags are found in
 * one pass, and each name's are taken in order.
 */
function hideSecretElements(value: string, isSecret: (name: string) => boolean): string {
  const ends = endTags(value);
  if (ends.size === 0) return value;
  let out = '';
  let copied = 0;
  XML_START_TAG.lastIndex = 0;
  for (let m = XML_START_TAG.exec(value); m; m = XML_START_TAG.exec(value)) {
    const [tag, name, attributes] = m as unknown as [string, string, string | undefined];
    const list = ends.get(name.toLowerCase());
    if (!list || attributes?.endsWith('/') || !isSecret(name)) continue;
    const contentStart = m.index + tag.length;
    while (list.next < list.at.length && list.at[list.next]! < contentStart) list.next += 2;
    if (list.next === list.at.length) continue;
    out += `${value.slice(copied, m.index)}<${name}${attributes ?? ''}>${REDACTED}</${name}>`;
    copied = list.at[list.next + 1]!;
    XML_START_TAG.lastIndex = copied;
  }
  return copied === 0 ? value : out + value.slice(copied);
}
/**
 * Where each name's end tags start and end (pairs of indexes), in order, with a cursor for taking them in order. Names
 * are in lower case: XML is case-sensitive, but what writes `<Password>x</password>` meant one element, and hiding
 * more than the element at worst is the safe side.
 */
function endTags(value: string): Map<string, { at: number[]; next: number }> {
  const ends = new Map<string, { at: number[]; next: number }>();
  XML_END_TAG.lastIndex = 0;
  for (let m = XML_END_TAG.exec(value); m; m = XML_END_TAG.exec(value)) {
    const name = m[1]!.toLowerCase();
    let list = ends.get(name);
    if (!list) {
      list = { at: [], next: 0 };
      ends.set(name, list);
    }
    list.at.push(m.index, m.index + m[0].length);
  }
  return ends;
}

/**
 * Where the content of the first XML element named like a secret that does not end in `value` starts (its end tag
 * missing, or cut), or -1: in a text cut from a longer one, hideSecretElements leaves that content, which may be part
 * of a secret.
 */
function openSecretElement(value: string, isSecret: (name: string) => boolean): number {
  if (!value.includes('<')) return -1;
  const ends = endTags(value);
  XML_START_TAG.lastIndex = 0;
  for (let m = XML_START_TAG.exec(value); m; m = XML_START_TAG.exec(value)) {
    const [tag, name, attributes] = m as unknown as [string, string, string | undefined];
    if (attributes?.endsWith('/') || !isSecret(name)) continue;
    const contentStart = m.index + tag.length;
    const list = ends.get(name.toLowerCase());
    if (list) while (list.next < list.at.length && list.at[list.next]! < contentStart) list.next += 2;
    if (!list || list.next === list.at.length) return contentStart;
    // Its content, up to its end tag, is hidden whole: what it holds opens nothing.
    XML_START_TAG.lastIndex = list.at[list.next + 1]!;
  }
  return -1;
}

/**
 * The value after a sensitive key's separator, matched where the separator ends: triple-quoted (a GraphQL block
 * string `password: """..."""`, a Python or TOML one), up to its closing three quotes across lines (or the end of
 * the text when there are none); quoted, up to its closing quote (or the end of the line when there is none);
 * unquoted, up to a space, `&`, `;`, `,` or quote. Groups: opening and closing triple quotes, opening and closing
 * quote. A value that opens a bracket is not matched here (see bracketEnd).
 */
const SECRET_VALUE = /("""|''')(?:\\[\s\S]|(?!\1)[^\\])*(\1?)|(["'])(?:(?!\3)[^\\\r\n]|\\.)*(\3?)|[^&\s;,"']+/y;

/** A character of a key in free text: `A-Z a-z 0-9 _ - . [ ]`. */
function isPairKeyChar(code: number): boolean {
  return isBase64Url(code) || code === 46 || code === 91 || code === 93;
}

function isSpaceOrTab(code: number): boolean {
  return code === 32 || code === 9;
}

/** Index of the first `=` or `:` in `value` from `from`, or -1. */
function nextSeparator(value: string, from: number): number {
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 61 || c === 58) return i;
  }
  return -1;
}

/**
 * Where a bracketed value that opens at `start` (`["hunter2", "x y"]`, `{"v": "abc"}`, as JSON or a config dump
 * writes a list or an object) ends: after the bracket that closes it, quoted strings skipped, or at the end of the
 * line when none does. One pass, whatever the input.
 */
function bracketEnd(value: string, start: number): number {
  let depth = 0;
  for (let i = start; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || c === 13) return i; // \n \r
    if (c === 34 || c === 39) {
      // a quoted string: its brackets do not count
      for (i++; i < value.length; i++) {
        const q = value.charCodeAt(i);
        if (q === c || q === 10 || q === 13) break;
        if (q === 92) i++; // \ escapes the next character
      }
      if (i >= value.length || value.charCodeAt(i) !== c) return i;
    } else if (c === 91 || c === 123)
      depth++; // [ {
    else if ((c === 93 || c === 125) && --depth === 0) return i + 1; // ] }
  }
  return value.length;
}

/**
 * `key=value` pairs in `value` whose key `isSensitive` says names a secret, with the value redacted. A pair is found
 * from its separator (`=`, `:` or Ruby's `=>`), looking back over spaces or tabs and an optional quote for its key (up
 * to 64 key characters): `password = `, `'api_key': `, `"password"=>`. A list or an object as the value is hidden
 * whole (see bracketEnd). Only a sensitive key's value is matched and skipped: after any other key the search goes
 * on right after its separator, so a pair inside that key's value is still found (`user: password=x`,
 * `next=/login?password=x`), and nothing is scanned twice. (A regular expression for the key, tried at every
 * character, went over up to 64 characters from each: 10 ms for 32 KiB of key characters.)
 */
export function redactPairs(value: string, isSensitive: (key: string, inQuery: boolean) => boolean): string {
  let out = '';
  let copied = 0;
  // No key starts before this: the end of the last separator, or of the last value redacted.
  let from = 0;
  for (let separator = nextSeparator(value, from); separator !== -1; separator = nextSeparator(value, from)) {
    let keyEnd = separator;
    while (keyEnd > from && isSpaceOrTab(value.charCodeAt(keyEnd - 1))) keyEnd--;
    const quote = keyEnd > from ? value.charCodeAt(keyEnd - 1) : 0;
    if (quote === 34 || quote === 39) keyEnd--;
    let keyStart = keyEnd;
    while (keyStart > from && keyEnd - keyStart < MAX_PAIR_KEY_CHARS && isPairKeyChar(value.charCodeAt(keyStart - 1))) {
      keyStart--;
    }
    // Ruby's `=>` is one separator.
    const arrow = value.charCodeAt(separator) === 61 && value.charCodeAt(separator + 1) === 62;
    let valueStart = separator + (arrow ? 2 : 1);
    while (valueStart < value.length && isSpaceOrTab(value.charCodeAt(valueStart))) valueStart++;
    from = valueStart;
    if (keyStart === keyEnd) continue;
    // `?key=` or `&key=`: a parameter of a URL written in the text.
    const before = keyStart > 0 ? value.charCodeAt(keyStart - 1) : 0;
    const inQuery =
      !arrow && valueStart === separator + 1 && value.charCodeAt(separator) === 61 && keyEnd === separator;
    if (!isSensitive(value.slice(keyStart, keyEnd), inQuery && (before === 63 || before === 38))) continue;
    let end: number;
    let hidden = REDACTED;
    const opener = value.charCodeAt(valueStart);
    if (opener === 91 || opener === 123) {
      // [ or {: a list or an object, hidden whole (an unquoted match would stop at its first quote or space)
      end = bracketEnd(value, valueStart);
    } else {
      SECRET_VALUE.lastIndex = valueStart;
      const secret = SECRET_VALUE.exec(value);
      if (secret === null) continue;
      const [, tripleOpen, tripleClose, quoteOpen, quoteClose] = secret;
      const [open, close] = tripleOpen === undefined ? [quoteOpen, quoteClose] : [tripleOpen, tripleClose];
      if (open !== undefined) hidden = `${open}${REDACTED}${close ?? ''}`;
      end = SECRET_VALUE.lastIndex;
    }
    out += value.slice(copied, valueStart) + hidden;
    copied = end;
    from = copied;
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** A JWT / JWS in compact form, matched where it starts: base64url(JSON header) starts with "eyJ" ('{"'). */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/y;

/** A character of a base64url run: `A-Z a-z 0-9 _ -`. */
function isBase64Url(code: number): boolean {
  return (code >= 48 && code <= 57) || ((code | 32) >= 97 && (code | 32) <= 122) || code === 95 || code === 45;
}

/**
 * Every JWT in `value` redacted, each starting at an `eyJ` at the start of a word. A `-` ends a word but not a
 * base64url run, so a run can hold many such starts (`eyJ-eyJ-eyJ-...`); a start that fails, fails for every later
 * one in its run too (the first segment must end at the `.` after the run), so the search goes on after the run.
 * Trying each of them, as a regular expression does, took time quadratic in the run: 0.7 s for 32 KiB of text.
 */
function redactJwts(value: string): string {
  let out = '';
  let copied = 0;
  let at = value.indexOf('eyJ');
  while (at !== -1) {
    const before = at > 0 ? value.charCodeAt(at - 1) : 0;
    if (isBase64Url(before) && before !== 45) {
      at = value.indexOf('eyJ', at + 3); // inside a word, as `\b` would have it
      continue;
    }
    JWT.lastIndex = at;
    if (JWT.exec(value) !== null) {
      out += value.slice(copied, at) + REDACTED;
      copied = JWT.lastIndex;
      at = value.indexOf('eyJ', copied);
      continue;
    }
    let end = at + 3;
    while (end < value.length && isBase64Url(value.charCodeAt(end))) end++;
    at = value.indexOf('eyJ', end);
  }
  return copied === 0 ? value : out + value.slice(copied);
}

/** Index of the character `code` in `value[from, to)`, or `to` when it is not there. */
function indexIn(value: string, code: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (value.charCodeAt(i) === code) return i;
  return to;
}

const AUTHORIZATION_WORD = /authorization/i;

/** Index of the last `"` in `value` before `end` that no backslash escapes, or -1. */
function lastQuote(value: string, end: number): number {
  // `lastIndexOf` takes a negative start as 0: a quote at 0 would be found before itself, again and again.
  for (
    let q = end > 0 ? value.lastIndexOf('"', end - 1) : -1;
    q !== -1;
    q = q > 0 ? value.lastIndexOf('"', q - 1) : -1
  ) {
    let backslashes = 0;
    while (value.charCodeAt(q - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return -1;
}

/**
 * Where a secret that `head`'s end may have cut opens, for a text cut from a longer one (see Redactor.prefix), or
 * `head.length` when none can be. The patterns whose match has no bound and needs what follows to be complete:
 * - a run of base64url characters and dots at the end holding `eyJ`: a JWT whose second `.` may be past the cut (the
 *   whole run);
 * - a URL authority at the end holding `:`: a password whose `@` may be past the cut (from after the `:`);
 * - the content of an XML element named like a secret, open at the end or closed by a cut end tag;
 * - a JSON string under a key named like a secret (`"password": "...`), still open at the end (from its quote);
 * - a double quote still open at the end of a text naming `authorization`: a quoted auth-param (`response="...`);
 * - a credential of a known format or a bearer credential at the end (see openCredentialAt): its pattern has a least
 *   length, and when redaction before it shortens the text, the window's end comes into the characters kept.
 * The others take what is left of their secret (`key=value` pairs, quoted values, private keys); card numbers are
 * left out by the cut (see cutOutsideDigits and digitRunStart). Each check looks back from the end once: time linear in `head`.
 */
function openSecretAt(head: string, isSensitivePath: (key: string) => boolean): number {
  const end = head.length;
  let open = end;
  // A JWT: the run of base64url characters and dots at the end.
  let run = end;
  while (run > 0 && (isBase64Url(head.charCodeAt(run - 1)) || head.charCodeAt(run - 1) === 46)) run--;
  if (run < end && head.slice(run).includes('eyJ')) open = run;
  // A URL's password: only the last `://` can have an authority that reaches the end.
  const slashes = head.lastIndexOf('://');
  if (slashes !== -1) {
    AUTHORITY_END.lastIndex = slashes + 3;
    const colon = head.indexOf(':', slashes + 3);
    if (AUTHORITY_END.exec(head) === null && colon !== -1) open = Math.min(open, colon + 1);
  }
  // XML: an element named like a secret whose end tag is not in the text (past the cut, or cut itself).
  const element = openSecretElement(head, isSensitivePath);
  if (element !== -1) open = Math.min(open, element);
  // A credential of a known format or a bearer credential, shorter than its pattern's least length because the end
  // cut it. Redaction earlier in the window (a long value hidden) pulls the window's last characters forward, into
  // those kept: no margin is enough for them.
  open = Math.min(open, openCredentialAt(head));
  const quote = lastQuote(head, end);
  if (quote !== -1) {
    // `"key": "`, as the JSON pattern opens a pair: a last quote there opens the value.
    let i = quote;
    while (i > 0 && isSpace(head.charCodeAt(i - 1))) i--;
    if (i > 0 && head.charCodeAt(i - 1) === 58) {
      i--;
      while (i > 0 && isSpace(head.charCodeAt(i - 1))) i--;
      const keyStart = i > 0 && head.charCodeAt(i - 1) === 34 ? lastQuote(head, i - 1) : -1;
      const key = keyStart === -1 ? '' : head.slice(keyStart + 1, i - 1);
      if (key.length >= 1 && key.length <= 64 && !key.includes('\\') && isSensitivePath(key)) {
        open = Math.min(open, quote);
      }
    }
    // A quoted auth-param (`response="...`) takes its closing quote to be found.
    if (AUTHORIZATION_WORD.test(head) && opensString(head, quote)) open = Math.min(open, quote);
  }
  return open;
}

/** What opens a credential of a known format (see KNOWN_TOKEN), matched where it starts. */
const KNOWN_TOKEN_START = new RegExp(KNOWN_TOKEN_FORMATS.map(([opening]) => opening).join('|'), 'y');
/** A character of a bearer or basic credential, its padding included (see BEARER_CREDENTIAL). */
const BEARER_CHAR = new RegExp(`[${BEARER_CREDENTIAL_CHARS}=]`);
const WHITESPACE = /\s/;

/**
 * Where a credential of a known format (`ghp_`, `AKIA`, ...) or a `Bearer` / `Basic` credential at the end of
 * `head[0, end)` starts, or `end`: cut there, it may be too short for its pattern. A known token starts a run of base64url
 * characters, or follows a `-` in one (as KNOWN_TOKEN's look-behind allows).
 */
function openCredentialAt(head: string, end = head.length): number {
  let run = end;
  while (run > 0 && isBase64Url(head.charCodeAt(run - 1))) run--;
  for (let i = run; i < end; i++) {
    if (i > run && head.charCodeAt(i - 1) !== 45) continue;
    KNOWN_TOKEN_START.lastIndex = i;
    if (KNOWN_TOKEN_START.test(head)) return i;
  }
  let credential = end;
  while (credential > 0 && BEARER_CHAR.test(head.charAt(credential - 1))) credential--;
  let scheme = credential;
  while (scheme > 0 && WHITESPACE.test(head.charAt(scheme - 1))) scheme--;
  if (credential === end || scheme === credential) return end;
  for (const word of ['bearer', 'basic']) {
    const start = scheme - word.length;
    if (start < 0 || head.slice(start, scheme).toLowerCase() !== word) continue;
    const before = start > 0 ? head.charCodeAt(start - 1) : 0;
    if (!isBase64Url(before) || before === 45) return credential;
  }
  return end;
}

/**
 * Where the run of digit groups (digits, each followed by at most one space or dash, as the card pattern takes them)
 * that `text[0, end)` ends in and `next` (the character at `end`) continues starts, or `end` when none crosses `end`,
 * or when its last group before `end` is longer than a card: no card can hold that group. A group glued to a word is
 * left out (no card starts there), so a credential before it keeps its characters.
 */
function digitRunStart(text: string, end: number, next: number): number {
  let start = end;
  while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
  if (end - start > MAX_CARD_DIGITS) return end;
  if (start === end) {
    const separator = text.charCodeAt(end - 1);
    if (!((separator === 32 || separator === 45) && isDigit(text.charCodeAt(end - 2)) && isDigit(next))) return end;
  } else if (!isCardChar(next)) return end;
  while (start > 0) {
    const c = text.charCodeAt(start - 1);
    if (isDigit(c) || ((c === 32 || c === 45) && isDigit(text.charCodeAt(start - 2)))) start--;
    else break;
  }
  if (start > 0 && isLetter(text.charCodeAt(start - 1))) {
    while (start < end && isDigit(text.charCodeAt(start))) start++;
    start++;
  }
  return Math.min(start, end);
}

/** True when the quote at `quote` opens a string: an odd number of unescaped quotes on its line up to it. */
function opensString(value: string, quote: number): boolean {
  const lineStart = Math.max(value.lastIndexOf('\n', quote), value.lastIndexOf('\r', quote)) + 1;
  let quotes = 0;
  for (let q = lastQuote(value, quote + 1); q >= lineStart; q = lastQuote(value, q)) quotes++;
  return quotes % 2 === 1;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 11;
}

// The parts of AUTHORIZATION_VALUE (constants: nothing here comes from configuration).
/** A token (RFC 9110, 5.6.2) without its quote characters: an auth scheme, an auth-param's name. */
const TOKEN = '[A-Za-z0-9!#$%&*+.^_|~-]+';
/** A quoted string on one line, with backslash escapes. */
const QUOTED = String.raw`"(?:[^"\\\r\n]|\\.)*"`;
/** `name=value`, `name="value"`; unquoted values may hold `;` and `/` (AWS: `SignedHeaders=host;x-amz-date`). */
const AUTH_PARAM = String.raw`${TOKEN}[ \t]*=[ \t]*(?:${QUOTED}|[^\s,"']*)`;
/** What may follow the scheme: a comma-separated list of auth-params, or one token68-like word. */
const CREDENTIALS = String.raw`${AUTH_PARAM}(?:[ \t]*,[ \t]*${AUTH_PARAM})*|[^\s,;"']+`;

/**
 * An `Authorization` header's name and value in free text (see the first pattern in createRedactor). Groups: name,
 * separator, opening quote, closing quote. The name is `authorization`, alone or after a prefix ending in `-`, `_` or
 * `.` (`Proxy-Authorization`, `HTTP_AUTHORIZATION`, `headers.authorization`). The value is a quoted string, or the
 * scheme and its credentials; an unquoted value already `[REDACTED]` is left alone, so that a second pass (the
 * collector's) does not take the word after it.
 */
const AUTHORIZATION_VALUE = new RegExp(
  String.raw`(?<![A-Za-z0-9_.-])((?:[A-Za-z0-9_.-]*[_.-])?authorization)(["']?[ \t]*[:=][ \t]*)` +
    String.raw`(?:(["'])(?:(?!\3)[^\\\r\n]|\\.)*(\3?)|(?!\[REDACTED\])[^\s,;"']+(?:[ \t]+(?:${CREDENTIALS}))?)`,
  'gi',
);

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
    if (!raw.includes('.')) {
      names.add(normaliseKey(raw));
      continue;
    }
    const path = configuredPath(raw);
    if (path.length > 0) paths.push(path);
  }

  const judgeSegment = (segment: string): boolean => {
    if (segment.length === 0) return false;
    const name = normaliseKey(segment);
    if (names.has(name)) return true;
    let probe = name;
    for (const compound of HARMLESS_COMPOUNDS) if (probe.includes(compound)) probe = probe.replaceAll(compound, ' ');
    for (const fragment of SENSITIVE_FRAGMENTS) if (probe.includes(fragment)) return true;
    return false;
  };

  const judgeKey = (key: string): boolean => key.split(SEGMENT_SPLIT).some(judgeSegment);

  const judgePath = (path: string): boolean => {
    if (lastDotted(path).split(BRACKETS).some(judgeSegment)) return true;
    if (paths.length === 0) return false;
    const normal = configuredPath(path);
    return paths.some((p) => normal === p || normal.endsWith(`.${p}`));
  };

  // Events reuse a small set of field names, so each verdict is computed once. Only key names are kept (never
  // values), in a bounded memo that keeps the keys in use however many others are sent (see memoByKey).
  const isSensitiveKey = memoByKey(judgeKey);
  const isSensitivePath = memoByKey(judgePath);

  const queryNames = new Set(SENSITIVE_QUERY_NAMES);
  // Judged up to a bracket, as PHP, Rails and `qs` read `code[]=x` and `key[0]=x`: parameters of the name `code`.
  const isQueryCredential = (name: string): boolean => {
    const bracket = name.indexOf('[');
    return queryNames.has(normaliseKey(bracket === -1 ? name : name.slice(0, bracket)));
  };
  const isSensitiveQueryName = memoByKey((name) => isSensitiveKey(name) || isQueryCredential(name));

  // Order matters: a pattern sees what the earlier ones left. Authorization values go first (whatever the scheme,
  // their credential goes whole), card numbers before `key: value` pairs (whose value ends at the first space: a
  // grouped card under `cardnumber:` would lose only its first group).
  const patterns: Pattern[] = [
    // PEM private keys, before anything else reads the base64 lines inside them.
    {
      name: 'private key',
      applies: (v) => v.includes('-----BEGIN '),
      redact: redactPrivateKeys,
    },
    // Credentials of a known format, wherever they are.
    {
      name: 'known token',
      applies: (v) => HAS_KNOWN_TOKEN.test(v),
      redact: (v) => v.replace(KNOWN_TOKEN, REDACTED),
    },
    // --option value, for an option named like a secret.
    {
      name: 'option',
      applies: (v) => v.includes('--'),
      redact: (v) =>
        v.replace(OPTION_VALUE, (m, name: string, gap: string, quote?: string, close?: string) => {
          if (!isSensitivePath(name)) return m;
          return quote === undefined
            ? `--${name}${gap}${REDACTED}`
            : `--${name}${gap}${quote}${REDACTED}${close ?? ''}`;
        }),
    },
    // The value of an `Authorization` or `Proxy-Authorization` header (also `HTTP_AUTHORIZATION=`, `"authorization":
    // "..."`), scheme and credentials (RFC 9110, 11.4): quoted, up to the closing quote; unquoted, the scheme, then a
    // token68 (`Token abc`, `Basic dXNl...`, `SharedKey acct:sig`) or a list of auth-params, which may hold commas
    // and quoted strings (`Digest username="u", response="..."`; AWS `Credential=.../aws4_request, Signature=...`).
    // What follows on the line is kept.
    {
      name: 'authorization',
      applies: (v) => AUTHORIZATION_WORD.test(v),
      redact: (v) =>
        v.replace(AUTHORIZATION_VALUE, (_m, name: string, sep: string, quote?: string, close?: string) =>
          quote === undefined ? `${name}${sep}${REDACTED}` : `${name}${sep}${quote}${REDACTED}${close ?? ''}`,
        ),
    },
    // The password of a URL's user information (`postgres://app:s3cret@db/prod`, a proxy URL, a Referer that
    // carried one): the user name is kept.
    {
      name: 'URL password',
      applies: (v) => v.includes('://') && v.includes('@'),
      redact: redactUrlPasswords,
    },
    // Authorization schemes followed by a credential.
    {
      name: 'bearer',
      applies: (v) => /bearer|basic/i.test(v),
      redact: (v) => v.replace(BEARER_CREDENTIAL, (_m, scheme) => `${scheme} ${REDACTED}`),
    },
    // JWT / JWS compact form: base64url(JSON header) always starts with "eyJ" ('{"'); three dot-separated segments.
    {
      name: 'JWT',
      applies: (v) => v.includes('eyJ'),
      redact: redactJwts,
    },
    // Payment card numbers: 13 to 19 digits, optionally grouped by spaces or dashes, issuer prefix 2-6, Luhn-valid.
    // The pattern takes a whole run of groups, however long; redactCardsInRun finds the cards in it. A run glued to
    // letters is part of a word, mostly a hexadecimal id (a trace id, a hash: 13 decimal digits in a row happen in
    // them, and one run in ten passes Luhn), so it is left alone; a card is written apart from letters.
    {
      name: 'card number',
      applies: mayHoldCard,
      redact: (v) => v.replace(/(?<![0-9A-Za-z])\d(?:[ -]?\d){12,}(?![0-9A-Za-z])/g, redactCardsInRun),
    },
    // "key": "value" as in JSON embedded in a message.
    {
      name: 'JSON string',
      applies: (v) => v.includes('"'),
      redact: (v) =>
        v.replace(/"([^"\\]{1,64})"(\s*:\s*)"(?:[^"\\]|\\.)*"/g, (m, key: string, sep: string) =>
          isSensitivePath(key) ? `"${key}"${sep}"${REDACTED}"` : m,
        ),
    },
    // <key>value</key>, as XML bodies are logged.
    { name: 'XML element', applies: (v) => v.includes('</'), redact: (v) => hideSecretElements(v, isSensitivePath) },
    // key=value and key: value, as in query strings, form bodies, config dumps and log messages; spaces around the
    // separator (`password = x`), a quoted key (`'password': x`) and a quoted value (`password="x y"`, up to its
    // closing quote, or the end of the line when there is none) too.
    // The names that are secrets only in a query (`code`, `key`, `sig`) count after `?` or `&`: the query of a URL
    // written in a message or held by a parameter (`redirect=https://app/cb?code=...`).
    {
      name: 'key=value',
      applies: (v) => v.includes('=') || v.includes(':'),
      redact: (v) => redactPairs(v, (key, inQuery) => isSensitivePath(key) || (inQuery && isQueryCredential(key))),
    },
  ];

  const text = (value: string): string => {
    // Very long input is cut before the regular expressions run (the final cut happens in `finish`), and a run of
    // digits the cut went through is left out too: what is left of a card number there no longer matches its
    // pattern, and later redactions can shorten the text enough for it to survive the final cut.
    const input = value.length > maxStringLength * 4 ? cutOutsideDigits(value, maxStringLength * 4) : value;
    // Most strings (paths, addresses, user agents) hold none of what the patterns look for: one scan clears them.
    if (!maySecret(input, 0, input.length)) return input;
    let out = input;
    for (const p of patterns) if (p.applies(out)) out = p.redact(out);
    return out;
  };

  const finish = (value: string): string => {
    const redacted = text(value);
    const safe = hasControlChars(redacted) ? neutralise(redacted) : redacted;
    return safe.length > maxStringLength ? safe.slice(0, maxStringLength) : safe;
  };

  const prefix = (value: string, maxChars: number): RedactedPrefix => {
    const keep = Math.min(maxChars, maxStringLength);
    const window = keep + PREFIX_MARGIN_CHARS;
    let redacted: string;
    let cut = value.length > window;
    if (cut) {
      // Cut outside a run of digits, as `text` cuts very long input; then anything still open at the cut is hidden
      // from where it opens.
      const head = cutOutsideDigits(value, window);
      // A run of digit groups longer than cutOutsideDigits leaves out goes on past the cut: so may a card in it.
      let open = Math.min(
        openSecretAt(head, isSensitivePath),
        digitRunStart(head, head.length, value.charCodeAt(head.length)),
      );
      // What is kept before the secret must not end inside a run of digit groups either (`4111 1111 1111 1111-eyJ...`:
      // left there, the card's first groups would no longer be a card), nor in a bearer credential that leaving out
      // such a run cut short (`Bearer abcd+4111 1111 ...`). Each step moves the end back: it settles.
      for (let end = open; end < head.length; ) {
        open = Math.min(openCredentialAt(head, end), digitRunStart(head, end, head.charCodeAt(end)));
        if (open === end) break;
        end = open;
      }
      redacted = open < head.length ? text(head.slice(0, open)) + REDACTED : text(head);
      if (hasControlChars(redacted)) redacted = neutralise(redacted);
    } else redacted = finish(value);
    if (redacted.length > keep) {
      redacted = redacted.slice(0, keep);
      cut = true;
    }
    return { text: redacted, cut };
  };

  /**
   * One query component, `source[from, to)`, redacted as free text in its decoded form. Undefined when that changes
   * nothing: the component is then kept as it came, escapes and all. Without `%` or `+` and with nothing the
   * patterns look for (most parameters), nothing is allocated.
   */
  const queryComponent = (source: string, from: number, to: number): string | undefined => {
    const escaped = hasEscapes(source, from, to);
    if (!escaped && !maySecret(source, from, to)) return undefined;
    const raw = source.slice(from, to);
    const decoded = escaped ? decodeQueryComponent(raw) : raw;
    const redacted = text(decoded);
    if (redacted === decoded) return undefined;
    return escaped ? encodeComponent(redacted, READABLE_ESCAPES) : redacted;
  };

  /** One parameter, `source[from, to)`, redacted; undefined when nothing in it changes. */
  const queryParameter = (source: string, from: number, to: number): string | undefined => {
    const eq = indexIn(source, 61, from, to); // =
    if (eq === to) return queryComponent(source, from, to);
    const rawName = source.slice(from, eq);
    const name = hasEscapes(rawName) ? decodeQueryComponent(rawName) : rawName;
    if (isSensitiveQueryName(name)) return `${rawName}=${REDACTED}`;
    const redactedName = queryComponent(source, from, eq);
    const redactedValue = queryComponent(source, eq + 1, to);
    if (redactedName === undefined && redactedValue === undefined) return undefined;
    return `${redactedName ?? rawName}=${redactedValue ?? source.slice(eq + 1, to)}`;
  };

  const query = (input: string): string => {
    if (input.length === 0) return input;
    // A cut query loses the parameter the cut went through: part of a value is judged as free text, where part of a
    // secret would not be found.
    const source = cutAt(input, '&', maxStringLength * 4);
    // The parameters past the first `maxStringLength` characters written would be cut: they are not redacted.
    const result =
      rewritePieces(source, '&', (from, to) => queryParameter(source, from, to), maxStringLength) ?? source;
    const safe = hasControlChars(result) ? neutralise(result) : result;
    return safe.length > maxStringLength ? safe.slice(0, maxStringLength) : safe;
  };

  /**
   * A path with each segment that holds an escape judged decoded, as the app reads it
   * (`/cards/4111%201111%201111%201111` holds a card number): a segment in which something is redacted is written
   * back percent-encoded around the marker, every other one exactly as it came. Segments without `%` are left to the
   * free-text pass over the whole.
   */
  const escapedSegments = (input: string): string => {
    // A cut path loses the segment the cut went through, as a cut query loses its parameter.
    const path = cutAt(input, '/', maxStringLength * 4);
    const rewritten = rewritePieces(path, '/', (from, to) => {
      if (indexIn(path, 37, from, to) === to) return undefined;
      // Tolerant, as for a query: a malformed escape (`%zz`) stays as it is. In a path, `+` is itself.
      const decoded = unescapeQuery(path.slice(from, to));
      const redacted = text(decoded);
      return redacted === decoded ? undefined : encodeComponent(redacted, READABLE_PATH_ESCAPES);
    });
    return rewritten ?? path;
  };

  const url = (value: string): string => {
    if (!URL_START.test(value)) return finish(value);
    const q = value.indexOf('?');
    const path = q === -1 ? value : value.slice(0, q);
    const judged = path.includes('%') ? escapedSegments(path) : path;
    if (q === -1) return finish(judged);
    const hash = value.indexOf('#', q);
    const end = hash === -1 ? value.length : hash;
    return finish(`${judged}?${query(value.slice(q + 1, end))}${value.slice(end)}`);
  };

  const scalar = (input: unknown): FieldValue | undefined => {
    switch (typeof input) {
      case 'string':
        return finish(input);
      case 'number':
        if (!Number.isFinite(input)) return undefined;
        // A card number sent as a JSON number: 13 to 19 digits are checked as a card would be in text.
        return Number.isInteger(input) && Math.abs(input) >= 1e12 && numberIsCard(input) ? REDACTED : input;
      case 'boolean':
        return input;
      case 'bigint':
        return finish(input.toString());
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
      // Set on an object literal, it would replace the result's prototype instead of adding a key.
      if (key === '__proto__') continue;
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
        if (key === '__proto__') continue; // it would replace the result's prototype
        const name = validName(prefix ? `${prefix}.${key}` : key);
        const raw = obj[key];
        if (raw === undefined || raw === null) continue;
        // The collector refuses a whole event for one name past its limit: such a key is left out, with whatever
        // is nested under it (cutting it could give two keys one name).
        if (name.length > MAX_FIELD_NAME_LENGTH) continue;
        // A key of the app's data (nested, or not a field of the model) is sensitive by any of its segments.
        const ownData = depth > 0 || !MODEL_FIELDS.has(name);
        if (isSensitivePath(name) || (ownData && isSensitiveKey(key))) {
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
    isSensitiveQueryName,
    text: (value) => text(value),
    query,
    url,
    string: finish,
    prefix,
    value: (input) => walk(input, 0, new WeakSet()),
    fields,
  };
}

/**
 * The parameters of a template segment: `:name` (Express, Fastify, Koa, Hono; a pattern or `?` may follow) or
 * `{name}` (OpenAPI), anywhere in it (`:uid-:token`, `{from}..{to}`). `::` is Fastify's literal colon, and so is a
 * colon after `}`: a custom method of an OpenAPI path (`/keys/{keyId}:rotateToken`).
 */
const ROUTE_PARAMETERS = /::|(?<!\}):([A-Za-z0-9_$]+)|\{([A-Za-z0-9_$.-]+)\}/g;

/**
 * The segments of a route template that hold a secret: `[segment count, index, index...]`, or `[]` when none does.
 * A segment with several parameters is redacted whole when any of them is a secret. A path is redacted only when it
 * has as many segments as the template: a wildcard or an optional part that took another number of segments would
 * put the parameter elsewhere.
 */
export function secretSegments(route: string, isSecret: (name: string) => boolean): readonly number[] {
  if (!route.includes(':') && !route.includes('{')) return [];
  const segments = route.split('/');
  const found: number[] = [];
  for (let i = 0; i < segments.length; i++) {
    for (const match of segments[i]!.matchAll(ROUTE_PARAMETERS)) {
      const name = match[1] ?? match[2];
      if (name !== undefined && isSecret(name)) {
        found.push(i);
        break;
      }
    }
  }
  return found.length === 0 ? [] : [segments.length, ...found];
}

/**
 * `path` with the segments `secretSegments` found replaced by `[REDACTED]` (`/reset/TOKEN` → `/reset/[REDACTED]`), or
 * undefined when there are none or the path does not have as many segments as the template. A trailing slash
 * (`/reset/TOKEN/`), an empty segment the template does not have, is forgiven.
 */
export function hideSecretSegments(path: string, secrets: readonly number[]): string | undefined {
  if (secrets.length === 0) return undefined;
  const segments = path.split('/');
  const trailing = segments.length === secrets[0]! + 1 && segments[segments.length - 1] === '';
  if (trailing) segments.pop();
  if (segments.length !== secrets[0]) return undefined;
  for (let i = 1; i < secrets.length; i++) segments[secrets[i]!] = REDACTED;
  return segments.join('/') + (trailing ? '/' : '');
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

/**
 * Keys that make an object an attack rather than data: query operators (`{"password": {"$ne": null}}` logs in as
 * anyone against MongoDB) and prototype keys (`{"__proto__": {"isAdmin": true}}`).
 */
const INJECTION_KEY = /^\$[A-Za-z]+$|^__proto__$|^constructor$|^prototype$/;

export function isInjectionKey(key: string): boolean {
  return INJECTION_KEY.test(key);
}

/** `value` as the JSON object it holds; undefined when it holds none (not JSON, cut, or nested past the stack). */
function jsonObject(value: string): Record<string, unknown> | undefined {
  if (!value.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An object that parameter inspection sends whole because its keys are the attack (compact JSON with an injection key
 * at its top level) under a sensitive key (`vigil.inspect.body.password` = `{"$ne":"[REDACTED]"}`), with every
 * string and number in it hidden again: the operators still show, no operand can, whoever wrote the value. Undefined
 * when `value` is not such an object: it is then hidden whole.
 *
 * @example
 * hideOperands('{"$ne":"hunter2","$gt":5,"$exists":true}'); // '{"$ne":"[REDACTED]","$gt":"[REDACTED]","$exists":true}'
 */
export function hideOperands(value: string): string | undefined {
  const operators = jsonObject(value);
  if (operators === undefined || !Object.keys(operators).some(isInjectionKey)) return undefined;
  return JSON.stringify(operators, (_key, v: unknown) =>
    typeof v === 'string' || typeof v === 'number' ? REDACTED : v,
  );
}

/**
 * A JSON object written as text (as inspection writes an operator object under a key that is not sensitive:
 * `vigil.inspect.body.filter` = `{"$or":[{"password":"hunter2"}]}`), with the value of each key in it that `secret`
 * names written `"[REDACTED]"` whole, however deep and whatever its type, as the SDK writes it. `secret` is given the
 * keys from the object down (`['$or', '0', 'password']`). Undefined when `value` holds no JSON object.
 *
 * @example
 * hideSecretKeys('{"$or":[{"password":["x"]}]}', (keys) => keys.at(-1) === 'password'); // '{"$or":[{"password":"[REDACTED]"}]}'
 */
export function hideSecretKeys(value: string, secret: (keys: readonly string[]) => boolean): string | undefined {
  const object = jsonObject(value);
  if (object === undefined) return undefined;
  const walk = (node: unknown, keys: readonly string[]): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...keys, String(i)]));
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const path = [...keys, key];
      // defineProperty: `__proto__` is a key like any other here, and must stay one.
      Object.defineProperty(out, key, {
        value: secret(path) ? REDACTED : walk(child, path),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return JSON.stringify(walk(object, []));
}

let builtIn: Redactor | undefined;

/** The redactor of the built-in rules only (no configured keys), compiled at its first use. */
export function defaultRedactor(): Redactor {
  builtIn ??= createRedactor();
  return builtIn;
}

/**
 * Redact a value with the built-in rules only (no configured keys).
 *
 * @example
 * redact({ user: 'ann', password: 'hunter2' }); // { user: 'ann', password: '[REDACTED]' }
 */
export function redact(input: unknown): unknown {
  return defaultRedactor().value(input);
}
