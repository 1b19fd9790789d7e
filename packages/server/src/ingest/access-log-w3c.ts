/**
 * W3C extended log files (https://www.w3.org/TR/WD-logfile.html), as two writers produce them:
 *
 * - `cloudfront`: Amazon CloudFront standard logs (S3 delivery, gzipped files). Tab-separated; CloudFront
 *   percent-encodes what would break a field (`%20` for a space), and the user agent a second time on some
 *   deliveries (`%2520`); `time-taken` is in seconds.
 * - `iis`: Microsoft IIS (and what writes its format: Azure App Service, Exchange). Space-separated; a space inside a
 *   value is written `+`; `time-taken` is in milliseconds.
 *
 * A file says which columns its lines have in a `#Fields:` directive, and may say it again mid-file (IIS writes a
 * new header after a restart or a configuration change), so the parser of a stream keeps the last one it read:
 * unlike the other formats, a W3C parser has state, and one parser reads one stream. Other directives (`#Version`,
 * `#Date`, `#Software`, `#Remark`) are no requests. Before any `#Fields:` line, `cloudfront` reads CloudFront's
 * fixed standard order; `iis` has no such default (sites choose their fields) and refuses the line.
 */
import { Field } from '@vigil/schema';
import {
  addRequestTarget,
  addServer,
  byteCount,
  failure,
  HTTP_REQUEST,
  invalidStatus,
  type LineResult,
  protocolVersion,
  readStatusDigits,
  type WireEvent,
} from './access-log-shared.js';

export type W3cFlavour = 'cloudfront' | 'iis';

/** CloudFront's standard-log columns, in the order its `#Fields:` line gives them (33 since 2019). */
export const CLOUDFRONT_FIELDS: readonly string[] = [
  'date',
  'time',
  'x-edge-location',
  'sc-bytes',
  'c-ip',
  'cs-method',
  'cs(Host)',
  'cs-uri-stem',
  'sc-status',
  'cs(Referer)',
  'cs(User-Agent)',
  'cs-uri-query',
  'cs(Cookie)',
  'x-edge-result-type',
  'x-edge-request-id',
  'x-host-header',
  'cs-protocol',
  'cs-bytes',
  'time-taken',
  'x-forwarded-for',
  'ssl-protocol',
  'ssl-cipher',
  'x-edge-response-result-type',
  'cs-protocol-version',
  'fle-status',
  'fle-encrypted-fields',
  'c-port',
  'time-to-first-byte',
  'x-edge-detailed-result-type',
  'sc-content-type',
  'sc-content-len',
  'sc-range-start',
  'sc-range-end',
];

/** Where each read column is in a line; -1 when the `#Fields:` line does not name it. */
interface Columns {
  readonly count: number;
  readonly date: number;
  readonly time: number;
  readonly clientIp: number;
  readonly clientPort: number;
  readonly method: number;
  readonly stem: number;
  readonly query: number;
  readonly host: number;
  readonly hostHeader: number;
  readonly status: number;
  readonly received: number;
  readonly sent: number;
  readonly timeTaken: number;
  readonly userAgent: number;
  readonly referrer: number;
  readonly username: number;
  readonly protocolVersion: number;
  readonly scheme: number;
  readonly requestId: number;
}

/** Field names are case-insensitive in practice (IIS writes `cs(User-Agent)`, other tools `cs(user-agent)`). */
function columnsOf(names: readonly string[]): Columns {
  const lower = names.map((name) => name.toLowerCase());
  const at = (...candidates: string[]) => {
    for (const candidate of candidates) {
      const index = lower.indexOf(candidate);
      if (index !== -1) return index;
    }
    return -1;
  };
  return {
    count: names.length,
    date: at('date'),
    time: at('time'),
    clientIp: at('c-ip'),
    clientPort: at('c-port'),
    method: at('cs-method'),
    stem: at('cs-uri-stem'),
    query: at('cs-uri-query'),
    host: at('cs(host)', 'cs-host'),
    hostHeader: at('x-host-header'),
    status: at('sc-status'),
    received: at('cs-bytes'),
    sent: at('sc-bytes'),
    timeTaken: at('time-taken'),
    userAgent: at('cs(user-agent)'),
    referrer: at('cs(referer)', 'cs(referrer)'),
    username: at('cs-username'),
    protocolVersion: at('cs-protocol-version', 'cs-version'),
    scheme: at('cs-protocol'),
    requestId: at('x-edge-request-id'),
  };
}

const CLOUDFRONT_COLUMNS = columnsOf(CLOUDFRONT_FIELDS);

const FLAVOURS: Readonly<
  Record<W3cFlavour, { separator: string; durationScale: number; initial?: Columns; name: string }>
> = {
  cloudfront: { separator: '\t', durationScale: 1, initial: CLOUDFRONT_COLUMNS, name: 'CloudFront' },
  iis: { separator: ' ', durationScale: 1e-3, name: 'IIS' },
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?$/;
const DIGITS = /^\d+$/;
const DURATION = /^\d+(\.\d+)?$/;
const PORT = /^\d{1,5}$/;

/**
 * A parser for one W3C extended log stream. Directive lines give `{ ok: true, directive: true }`; a `#Fields:` line
 * sets the columns of the lines after it.
 *
 * @example
 * const parse = createW3cParser('iis');
 * parse('#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status time-taken');
 * parse('2026-11-28 10:00:00 198.51.100.7 GET /api/orders id=7 200 15');
 * // { ok: true, event: { time: 1795860000000, 'http.request.method': 'GET', 'url.path': '/api/orders', ... } }
 */
export function createW3cParser(flavour: W3cFlavour): (line: string) => LineResult {
  const { separator, durationScale, initial, name } = FLAVOURS[flavour];
  let columns = initial;
  let fieldsSeen = false;
  // The date of the last `#Date:` directive: the date of lines in a log that has no `date` column.
  let directiveDate: string | undefined;
  return (line) => {
    if (line.charCodeAt(0) === 0x23) {
      const colon = line.indexOf(':');
      const directive = colon === -1 ? line.slice(1) : line.slice(1, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).trim();
      if (directive === 'Fields') {
        const names = value.split(/\s+/).filter((n) => n !== '');
        if (names.length === 0) return failure('#Fields: directive names no fields');
        columns = columnsOf(names);
        fieldsSeen = true;
      } else if (directive === 'Date') {
        directiveDate = value.split(/\s+/)[0];
      }
      return { ok: true, directive: true };
    }
    if (line.trim() === '') return failure('empty line');
    if (columns === undefined) {
      return failure(
        `no #Fields: directive before this line, so its columns are unknown (an ${name} log names them first)`,
      );
    }
    const values = line.split(separator);
    if (values.length !== columns.count) {
      const named = fieldsSeen ? 'the #Fields: directive names' : `${name}'s standard log has`;
      const hint = separator === '\t' && values.length === 1 ? '; fields are separated by tabs' : '';
      return failure(`has ${values.length} fields where ${named} ${columns.count}${hint}`);
    }
    return readEntry(values, columns, flavour, durationScale, directiveDate);
  };
}

function readEntry(
  values: readonly string[],
  c: Columns,
  flavour: W3cFlavour,
  durationScale: number,
  directiveDate: string | undefined,
): LineResult {
  const value = (index: number): string | undefined => {
    if (index === -1) return undefined;
    const v = values[index]!;
    return v === '-' || v === '' ? undefined : v;
  };
  const date = value(c.date) ?? directiveDate;
  const clock = value(c.time);
  if (date === undefined || clock === undefined) {
    return failure(
      c.time === -1 ? 'the #Fields: directive names no time field' : 'no date and time (a date field or #Date: line)',
    );
  }
  const time = utcMillis(date, clock);
  if (time === undefined)
    return failure(`date and time ${`${date} ${clock}`.slice(0, 40)} are not yyyy-mm-dd hh:mm:ss`);
  const out: WireEvent = { time, type: HTTP_REQUEST };

  const method = value(c.method);
  const stem = value(c.stem);
  out[Field.httpRequestMethod] = method ?? '-';
  if (stem === undefined) out[Field.urlPath] = '-';
  else addRequestTarget(out, stem, method);
  const query = value(c.query);
  if (query !== undefined) out[Field.urlQuery] = query;

  const status = value(c.status);
  if (status !== undefined) {
    const code = DIGITS.test(status) ? readStatusDigits(status) : 'invalid';
    if (code === 'invalid') return invalidStatus(status);
    if (code !== 'none') out[Field.httpResponseStatusCode] = code;
  }
  const received = value(c.received);
  const requestSize = received !== undefined && DIGITS.test(received) ? byteCount(received) : undefined;
  if (requestSize !== undefined) out[Field.httpRequestBodySize] = requestSize;
  const sent = value(c.sent);
  const responseSize = sent !== undefined && DIGITS.test(sent) ? byteCount(sent) : undefined;
  if (responseSize !== undefined) out[Field.httpResponseBodySize] = responseSize;
  const taken = value(c.timeTaken);
  if (taken !== undefined && DURATION.test(taken)) {
    // Rounded to the microsecond: the logged values have at most millisecond precision, their scaled binary may not.
    out[Field.httpServerRequestDuration] = Math.round(Number(taken) * durationScale * 1e6) / 1e6;
  }

  const client = value(c.clientIp);
  if (client !== undefined) out[Field.clientAddress] = client;
  const port = value(c.clientPort);
  if (port !== undefined && PORT.test(port) && Number(port) <= 65535) out[Field.clientPort] = Number(port);
  // CloudFront's cs(Host) is the distribution's own domain; x-host-header is the Host the viewer asked for.
  const host = value(c.hostHeader) ?? value(c.host);
  if (host !== undefined) addServer(out, host);

  const version = value(c.protocolVersion);
  const protocol = version === undefined ? undefined : protocolVersion(version);
  if (protocol !== undefined) out[Field.networkProtocolVersion] = protocol;
  const scheme = value(c.scheme);
  if (scheme !== undefined) out[Field.urlScheme] = scheme.toLowerCase();

  const userAgent = value(c.userAgent);
  if (userAgent !== undefined) {
    out[Field.userAgentOriginal] = flavour === 'cloudfront' ? cloudFrontUserAgent(userAgent) : plusToSpace(userAgent);
  }
  const referrer = value(c.referrer);
  if (referrer !== undefined) out[Field.httpRequestReferrer] = referrer;
  const username = value(c.username);
  if (username !== undefined) out[Field.userId] = flavour === 'iis' ? plusToSpace(username) : username;
  // x-edge-request-id is CloudFront's own id of the request (base64), no W3C trace id: it is the request id.
  const requestId = value(c.requestId);
  if (requestId !== undefined) out[Field.httpRequestId] = requestId;

  out[Field.sourceName] = flavour;
  return { ok: true, event: out };
}

/** `yyyy-mm-dd` and `hh:mm:ss[.fff]`, UTC as W3C logs write them; undefined for impossible dates. */
function utcMillis(date: string, clock: string): number | undefined {
  const d = DATE.exec(date);
  const t = TIME.exec(clock);
  if (d === null || t === null) return undefined;
  const [year, month, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const [hour, minute, second] = [Number(t[1]), Number(t[2]), Number(t[3])];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const fraction = t[4] === undefined ? 0 : Math.floor(Number(t[4]) * 1000);
  return Date.UTC(year, month - 1, day, hour, minute, second) + fraction;
}

/** IIS writes a space inside a value as `+`. */
function plusToSpace(value: string): string {
  return value.indexOf('+') === -1 ? value : value.replaceAll('+', ' ');
}

/**
 * CloudFront percent-encodes the user agent, and on some deliveries encodes it twice (a space as `%2520`). Decoded
 * once; decoded again when that left no space but an encoded one, which only a second encoding explains: a user agent
 * sent with a literal `%20` and no space in it reads with a space.
 */
function cloudFrontUserAgent(value: string): string {
  const once = percentDecode(value);
  return once.indexOf(' ') === -1 && once.indexOf('%20') !== -1 ? percentDecode(once) : once;
}

const ENCODED_RUN = /(?:%[0-9A-Fa-f]{2})+/g;

/** `%XX` sequences decoded as UTF-8 (invalid sequences become U+FFFD); a `%` not followed by two hex digits is kept. */
function percentDecode(value: string): string {
  if (value.indexOf('%') === -1) return value;
  return value.replace(ENCODED_RUN, (run) => Buffer.from(run.replaceAll('%', ''), 'hex').toString('utf8'));
}
