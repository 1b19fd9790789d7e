/**
 * Pieces shared by the access-log parsers: the result type, request lines and targets, times, durations, and the
 * escapes web servers put in their logs.
 */
import { Field, parseTime } from '@vigil/schema';
import { splitHostPort } from '../enrich/client-address.js';

/** A Vigil event as it goes on the wire: flat dotted keys, `time` in epoch milliseconds. `parseEvent` validates it. */
export type WireEvent = Record<string, unknown>;

/**
 * What a parser makes of one line: an event, the reason it could not make one (no line content in it), or, for a
 * line that is no request but says how the lines after it read (a W3C `#Fields:` directive), `directive: true`.
 * A container log's reader (container-log.ts) answers `directive: true` too for the lines that are neither events
 * nor bad lines: the pieces of a line before its last one, and the runtime's `stderr` lines.
 */
export type LineResult =
  | { readonly ok: true; readonly event: WireEvent; readonly directive?: undefined }
  | { readonly ok: true; readonly directive: true }
  | { readonly ok: false; readonly reason: string; readonly directive?: undefined };

export const HTTP_REQUEST = 'http_request';

export function failure(reason: string): LineResult {
  return { ok: false, reason };
}

/**
 * What a logged status code says. Servers log three digits: RFC 9110 defines 100-599, and private codes up to 999 are
 * in use (a handler may set any, and nginx passes an upstream's on). `0` (nginx `000`, Envoy's `response_code` 0)
 * means that no response was sent, which is no status rather than a status below 100: a rule that counts answers
 * under 400 as successes must not count it. Anything else is not a status, and the line is refused rather than
 * read with a status that would put the request among the wrong answers.
 */
export function readStatus(code: number): number | 'none' | 'invalid' {
  if (code === 0) return 'none';
  return Number.isInteger(code) && code >= 100 && code <= 999 ? code : 'invalid';
}

/** `readStatus` of a status a text format logged as digits: more than three of them are no status either. */
export function readStatusDigits(digits: string): number | 'none' | 'invalid' {
  return digits.length > 3 ? 'invalid' : readStatus(Number(digits));
}

export function invalidStatus(shown: string): LineResult {
  return failure(`status ${shown.slice(0, 20)} is not an HTTP status code (100-999, or 0 when no response was sent)`);
}

/**
 * A logged byte count, when it can be stored exactly. A count beyond 2^53 cannot, and is no real response size: the
 * event is kept without it, since the request itself is the evidence.
 */
export function byteCount(digits: string): number | undefined {
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** RFC 9110 `token`: what a request method is made of. */
const METHOD_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Read a request line (`GET /path?q HTTP/1.1`) into the event. A line that is not `METHOD target [PROTOCOL]` (nginx
 * logs `-` or the raw bytes of a TLS handshake for requests it could not parse) still makes an event: scanners
 * and protocol confusion are what a security monitor wants to see. Such an event has method and path `-`,
 * `vigil.request.malformed: true` and the line as logged in `vigil.request.line`.
 *
 * `logged` is the line with the server's escapes still in it, `decoded` with them resolved.
 */
export function addRequestLine(out: WireEvent, logged: string, decoded: string): void {
  const firstSpace = decoded.indexOf(' ');
  const method = firstSpace > 0 ? decoded.slice(0, firstSpace) : '';
  if (method === '' || !METHOD_TOKEN.test(method)) {
    addMalformedRequest(out, logged);
    return;
  }
  // nginx takes any run of spaces between the parts (`GET  /admin HTTP/1.1` serves /admin), so the target is read
  // without them: kept, they would hide the path from every rule that matches its start.
  let targetStart = firstSpace + 1;
  while (decoded.charCodeAt(targetStart) === 0x20) targetStart++;
  let targetEnd = decoded.length;
  while (targetEnd > targetStart && decoded.charCodeAt(targetEnd - 1) === 0x20) targetEnd--;
  const lastSpace = decoded.lastIndexOf(' ', targetEnd - 1);
  const protocol = lastSpace >= targetStart ? protocolVersion(decoded.slice(lastSpace + 1, targetEnd)) : undefined;
  if (protocol !== undefined) {
    targetEnd = lastSpace;
    while (targetEnd > targetStart && decoded.charCodeAt(targetEnd - 1) === 0x20) targetEnd--;
  }
  // HTTP/0.9 (`GET /`) has no protocol; anything after the method is the target, spaces inside it included. A
  // protocol where the target should be (`GET HTTP/1.1`) is a request without a target.
  const target = decoded.slice(targetStart, targetEnd);
  if (target === '' || (protocol === undefined && protocolVersion(target) !== undefined)) {
    addMalformedRequest(out, logged);
    return;
  }
  if (protocol !== undefined) out[Field.networkProtocolVersion] = protocol;
  out[Field.httpRequestMethod] = method;
  addRequestTarget(out, target, method);
}

export function addMalformedRequest(out: WireEvent, logged: string): void {
  out[Field.httpRequestMethod] = '-';
  out[Field.urlPath] = '-';
  out[Field.requestMalformed] = true;
  if (logged !== '' && logged !== '-') out[Field.requestLine] = logged;
}

const ABSOLUTE_URL = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/;

/**
 * Read a request target into `url.path` / `url.query`. Percent-encoding is kept as sent: decoding is detection's
 * job, and the raw form is the evidence. The target's forms (RFC 9112 section 3.2):
 * - origin-form `/path?query`: path and query;
 * - absolute-form `http://host/path` (proxy requests, open-proxy probes): also `url.full` (without any user:password),
 *   `url.scheme`, `server.address`, `server.port`;
 * - authority-form `host:443` (CONNECT) and asterisk-form `*`: `url.path` is the target as it is.
 */
export function addRequestTarget(out: WireEvent, target: string, method?: string): void {
  if (target.charCodeAt(0) === 0x2f) {
    addPathAndQuery(out, target);
    return;
  }
  const absolute = target.indexOf('://') > 0 ? ABSOLUTE_URL.exec(target) : null;
  if (absolute !== null) {
    const scheme = absolute[1]!.toLowerCase();
    let authority = absolute[2]!;
    const at = authority.lastIndexOf('@');
    if (at !== -1) authority = authority.slice(at + 1); // never keep credentials from a URL
    const rest = absolute[3]!;
    out[Field.urlScheme] = scheme;
    out[Field.urlFull] = `${scheme}://${authority}${rest}`;
    addServer(out, authority);
    addPathAndQuery(out, rest === '' || rest.charCodeAt(0) !== 0x2f ? `/${rest}` : rest);
    return;
  }
  if (method === 'CONNECT') addServer(out, target);
  out[Field.urlPath] = target;
}

function addPathAndQuery(out: WireEvent, target: string): void {
  const question = target.indexOf('?');
  if (question === -1) {
    out[Field.urlPath] = target;
    return;
  }
  out[Field.urlPath] = target.slice(0, question);
  if (question < target.length - 1) out[Field.urlQuery] = target.slice(question + 1);
}

/** `server.address` and `server.port` from a `host[:port]` authority. */
export function addServer(out: WireEvent, authority: string): void {
  if (authority === '' || authority === '-') return;
  const { host, port } = splitHostPort(authority);
  if (host !== '') out[Field.serverAddress] = host.toLowerCase();
  if (port !== undefined) out[Field.serverPort] = port;
}

const PORT = /^\d{1,5}$/;

/**
 * `client.address` and `client.port` from `address:port`, as load balancers and proxies log their peer. IPv6
 * addresses come without brackets (`2001:db8::7:41322`) as often as with them, so the port is what follows the last
 * colon; without a port that can be one, the whole is the address.
 */
export function addClientAndPort(out: WireEvent, client: string): void {
  if (client === '-') return;
  const colon = client.lastIndexOf(':');
  const port = colon > 0 && PORT.test(client.slice(colon + 1)) ? Number(client.slice(colon + 1)) : undefined;
  if (port === undefined || port > 65535) {
    out[Field.clientAddress] = client;
    return;
  }
  const host = client.slice(0, colon);
  out[Field.clientAddress] =
    host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d ? host.slice(1, -1) : host;
  out[Field.clientPort] = port;
}

/** `HTTP/1.1` → `1.1`, `HTTP/2.0` → `2`: the OpenTelemetry spelling of `network.protocol.version`. */
export function protocolVersion(protocol: string): string | undefined {
  if (protocol.length < 6 || protocol.length > 8 || !protocol.startsWith('HTTP/')) return undefined;
  const version = protocol.slice(5);
  switch (version) {
    case '0.9':
    case '1.0':
    case '1.1':
      return version;
    case '2':
    case '2.0':
      return '2';
    case '3':
    case '3.0':
      return '3';
    default:
      return undefined;
  }
}

/** Month abbreviations of CLF-style dates (`10/Oct/2000`), as month indexes of `Date.UTC`. */
const MONTHS: Readonly<Record<string, number>> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// Consecutive lines of a log mostly share their second: remember the last one parsed.
let lastClfText = '';
let lastClfMillis: number | undefined;

/**
 * Parse the common log format time `10/Oct/2000:13:55:36 -0700` (brackets optional) into epoch milliseconds.
 * Undefined for anything else, including impossible dates (`31/Feb`).
 */
export function parseClfTime(input: string): number | undefined {
  const text = input.charCodeAt(0) === 0x5b && input.charCodeAt(input.length - 1) === 0x5d ? input.slice(1, -1) : input;
  if (text === lastClfText) return lastClfMillis;
  const millis = computeClfTime(text);
  lastClfText = text;
  lastClfMillis = millis;
  return millis;
}

function computeClfTime(t: string): number | undefined {
  if (t.length !== 26 || t[20] !== ' ') return undefined;
  const wall = clfWallClock(t);
  const sign = t[21] === '+' ? 1 : t[21] === '-' ? -1 : 0;
  const offsetHours = digits(t, 22, 2);
  const offsetMinutes = digits(t, 24, 2);
  if (wall === undefined || sign === 0 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = wall - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  return Number.isNaN(millis) ? undefined : millis;
}

/**
 * `dd/Mon/yyyy:hh:mm:ss` at the start of `t` (the common log format's time without its offset, HAProxy's accept date
 * without its milliseconds) read as if it were UTC, in epoch milliseconds; undefined when it is no possible date and
 * time. A leap second (:60), which some systems log, is the same instant as :59 plus one second.
 */
export function clfWallClock(t: string): number | undefined {
  if (t[2] !== '/' || t[6] !== '/' || t[11] !== ':' || t[14] !== ':' || t[17] !== ':') return undefined;
  const day = digits(t, 0, 2);
  const month = MONTHS[t.slice(3, 6)];
  const year = digits(t, 7, 4);
  const hour = digits(t, 12, 2);
  const minute = digits(t, 15, 2);
  const second = digits(t, 18, 2);
  if (month === undefined || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return undefined;
  const millis = Date.UTC(year, month, day, hour, minute, second);
  return Number.isNaN(millis) ? undefined : millis;
}

/** Decimal value of `count` digits at `start`; NaN when one is not a digit (the result then comes out NaN too). */
export function digits(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return Number.NaN;
    value = value * 10 + c;
  }
  return value;
}

/**
 * How a source writes its event time: RFC 3339 (`iso`), the common log format (`clf`), epoch seconds (fractions
 * allowed), milliseconds or nanoseconds, or `auto`: RFC 3339 and CLF strings are recognised by their shape and an
 * epoch number by its magnitude (seconds, milliseconds, microseconds or nanoseconds since 1970 fall into
 * ranges that do not overlap for any date between 1973 and 5138).
 */
export type TimeFormat = 'auto' | 'iso' | 'clf' | 'epoch_s' | 'epoch_ms' | 'epoch_ns';

export const TIME_FORMATS: readonly TimeFormat[] = ['auto', 'iso', 'clf', 'epoch_s', 'epoch_ms', 'epoch_ns'];

const NUMERIC = /^\d+(\.\d+)?$/;

/**
 * Event time in epoch milliseconds from a JSON value, or undefined. Whatever the format, an RFC 3339 string is
 * accepted too: sources such as Caddy switch between epoch and ISO times with one setting.
 */
export function parseTimeValue(value: unknown, format: TimeFormat): number | undefined {
  let number: number | undefined;
  if (typeof value === 'number') {
    number = Number.isFinite(value) && value >= 0 ? value : undefined;
  } else if (typeof value === 'string') {
    if (NUMERIC.test(value)) {
      if (format === 'epoch_ns' && value.length > 6 && value.indexOf('.') === -1) {
        // Nanoseconds overflow a double's integer range: drop the sub-millisecond digits as text.
        return Number(value.slice(0, -6));
      }
      number = Number(value);
    } else if (format === 'clf' || (format === 'auto' && value.charCodeAt(value.length - 1) !== 0x5a)) {
      const clf = parseClfTime(value);
      if (clf !== undefined) return clf;
    }
    if (number === undefined) return parseTime(value) ?? parseTime(withOffsetColon(value));
  }
  if (number === undefined) return undefined;
  switch (format) {
    case 'epoch_s':
      // Round, not floor: 1709630130.123 * 1000 is 1709630130122.9998 in binary floating point.
      return Math.round(number * 1000);
    case 'epoch_ms':
      return Math.floor(number);
    case 'epoch_ns':
      return Math.floor(number / 1e6);
    case 'auto':
      if (number < 1e11) return Math.round(number * 1000);
      if (number < 1e14) return Math.floor(number);
      if (number < 1e17) return Math.floor(number / 1e3);
      return Math.floor(number / 1e6);
    default:
      return undefined; // iso and clf take strings only
  }
}

// An ISO 8601 time whose offset has no colon (`+0100`): what strftime's %z writes, as in Apache's
// `%{%Y-%m-%dT%H:%M:%S%z}t`. RFC 3339 wants `+01:00`; the instant is the same.
const BASIC_OFFSET = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?[+-]\d{2})(\d{2})$/;

function withOffsetColon(value: string): string {
  const m = BASIC_OFFSET.exec(value);
  return m === null ? value : `${m[1]}:${m[2]}`;
}

/** Unit of a numeric duration. Go duration strings (`1.5ms`, `2m3s`) carry their own unit and are read as such. */
export type DurationUnit = 's' | 'ms' | 'us' | 'ns';

export const DURATION_UNITS: readonly DurationUnit[] = ['s', 'ms', 'us', 'ns'];

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/y;

/** A duration in seconds (the unit of `http.server.request.duration`), or undefined. */
export function parseDurationSeconds(value: unknown, unit: DurationUnit): number | undefined {
  let number: number | undefined;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string') {
    if (NUMERIC.test(value)) number = Number(value);
    else return parseGoDuration(value);
  }
  if (number === undefined || !Number.isFinite(number) || number < 0) return undefined;
  return number * UNIT_SECONDS[unit]!;
}

function parseGoDuration(text: string): number | undefined {
  if (text === '' || text.length > 64) return undefined;
  let total = 0;
  GO_DURATION_PART.lastIndex = 0;
  while (GO_DURATION_PART.lastIndex < text.length) {
    const start = GO_DURATION_PART.lastIndex;
    const part = GO_DURATION_PART.exec(text);
    if (part === null || part.index !== start) return undefined;
    total += Number(part[1]) * UNIT_SECONDS[part[2]!]!;
  }
  return total;
}

const C_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  f: '\f',
  b: '\b',
};

/**
 * Undo the escaping web servers apply inside quoted log fields. nginx writes `"`, `\` and bytes outside printable
 * ASCII as `\xHH`; Apache writes `\"`, `\\`, whitespace as `\n` / `\t`..., other bytes as `\xhh`. Consecutive `\x`
 * bytes are decoded together as UTF-8 (invalid sequences become U+FFFD). Control characters that come out are
 * neutralised later, when the event is validated.
 */
export function unescapeLogString(text: string): string {
  let backslash = text.indexOf('\\');
  if (backslash === -1) return text;
  let out = '';
  let from = 0;
  let bytes: number[] | undefined;
  while (backslash !== -1) {
    const next = text[backslash + 1];
    const hex = next === 'x' ? hexByte(text, backslash + 2) : -1;
    if (hex >= 0) {
      if (bytes === undefined || backslash !== from) {
        if (bytes !== undefined) out += Buffer.from(bytes).toString('utf8');
        out += text.slice(from, backslash);
        bytes = [];
      }
      bytes.push(hex);
      from = backslash + 4;
    } else {
      if (bytes !== undefined) {
        out += Buffer.from(bytes).toString('utf8');
        bytes = undefined;
      }
      const simple = next === undefined ? undefined : C_ESCAPES[next];
      out += text.slice(from, backslash) + (simple ?? `\\${next ?? ''}`);
      from = Math.min(backslash + 2, text.length);
    }
    backslash = text.indexOf('\\', from);
  }
  if (bytes !== undefined) out += Buffer.from(bytes).toString('utf8');
  return out + text.slice(from);
}

function hexByte(text: string, at: number): number {
  const high = hexValue(text.charCodeAt(at));
  const low = hexValue(text.charCodeAt(at + 1));
  return high < 0 || low < 0 ? -1 : (high << 4) | low;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
