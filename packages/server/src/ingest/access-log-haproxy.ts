/**
 * HAProxy's HTTP log (`option httplog`), whose log-format is
 *
 *     %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
 *
 * (HAProxy 1.x logs `Tq/Tw/Tc/Tr/Tt` in the timers' place: the same shape). `option httpslog` appends TLS fields after
 * the request line; whatever follows the request is allowed and ignored. The captured headers `{...}` appear only
 * when captures are configured, and the log does not say which header each value is, so they are skipped.
 *
 * Lines usually come through syslog, with a header before HAProxy's text: RFC 3164 (`Feb  6 12:14:14 host
 * haproxy[14389]: `), RFC 5424 (`<134>1 2026-02-06T12:14:14.655+01:00 host haproxy 14389 - - `), an ISO time, or
 * just `<PRI>`. HAProxy logging to stdout (containers) writes none. The syslog header's time is not used: it is the
 * time the line was logged, and the RFC 3164 one has no year.
 *
 * The accept date has no offset: it is the local time of HAProxy's host, read in the zone the parser is given
 * (UTC by default).
 */
import { Field } from '@vigil/schema';
import {
  addClientAndPort,
  addMalformedRequest,
  addRequestLine,
  byteCount,
  clfWallClock,
  digits,
  failure,
  HTTP_REQUEST,
  invalidStatus,
  type LineResult,
  readStatusDigits,
  type WireEvent,
} from './access-log-shared.js';
import { parseTimeZone, type TimeZone } from './time-zone.js';

export const HAPROXY_SOURCE = 'haproxy';

const SYSLOG_PRI = '(?:<\\d{1,3}>)?';
// VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA, then the message, maybe after a byte order mark.
const RFC5424_HEADER = '1 \\S+ \\S+ \\S+ \\S+ \\S+ (?:-|(?:\\[(?:[^\\]\\\\]|\\\\.)*\\])+) \\uFEFF?';
// `Feb  6 12:14:14` or an ISO time (rsyslog's RFC 3339 files, journalctl -o short-iso, HAProxy's `format iso`), then
// the host and tag (`host haproxy[14389]:`); HAProxy sends no host unless `log-send-hostname` is set.
const RFC3164_HEADER =
  '(?:[A-Z][a-z]{2} [ \\d]\\d \\d{2}:\\d{2}:\\d{2}|\\d{4}-\\d{2}-\\d{2}T\\S+) (?:(?:\\S+ )?\\S+: )?';
const SYSLOG_HEADER = `${SYSLOG_PRI}(?:${RFC5424_HEADER}|${RFC3164_HEADER})?`;

const ACCEPT_DATE = '\\[(\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2}\\.\\d{3})\\]';
// TR/Tw/Tc/Tr are read past; only Ta is kept.
const TIMER = '(?:-1|\\d+)';
// The request line is HAProxy-encoded (`"` as `#22`), so it holds no raw quote. A line longer than HAProxy's log
// length (1024 bytes by default) is cut, closing quote and all: the request then runs to the end of the line.
const HTTP_LOG = new RegExp(
  `^${SYSLOG_HEADER}(\\S+) ${ACCEPT_DATE} (\\S+) \\S+/\\S+ ${TIMER}/${TIMER}/${TIMER}/${TIMER}/(\\+?)(-1|\\d+) ` +
    `(-1|\\d+) \\+?(\\d+) \\S+ \\S+ ([A-Za-z-]{4}) \\+?\\d+/\\+?\\d+/\\+?\\d+/\\+?\\d+/\\+?\\d+ \\d+/\\d+` +
    `(?: \\{[^"]*\\})? "([^"]*)(")?(?: .*)?$`,
);

const FORMAT_HINT =
  'CLIENT:PORT [dd/Mon/yyyy:HH:MM:SS.mmm] FRONTEND BACKEND/SERVER TR/Tw/Tc/Tr/Ta STATUS BYTES COOKIE COOKIE ' +
  'TERMINATION_STATE CONNECTIONS QUEUES [{HEADERS}] "REQUEST"';

/** HAProxy's placeholder for a request it could not parse. */
const BAD_REQUEST = '<BADREQ>';

/** Options of the HAProxy parser. */
export interface HaproxyOptions {
  /** Zone of the accept dates: the HAProxy host's time zone. Default UTC. */
  readonly timeZone?: TimeZone;
}

const UTC = parseTimeZone('UTC')!;

/**
 * Parse one line of HAProxy's HTTP log, with or without a syslog header.
 *
 * @example
 * parseHaproxyLine('Feb  6 12:14:14 lb1 haproxy[14389]: 10.0.1.2:33317 [06/Feb/2026:12:14:14.655] api~ api/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /v1/orders?page=2 HTTP/1.1"');
 * // { ok: true, event: { time: 1770380054655, type: 'http_request', 'http.request.method': 'GET', 'url.path': '/v1/orders', ... } }
 */
export function parseHaproxyLine(line: string, options: HaproxyOptions = {}): LineResult {
  const m = HTTP_LOG.exec(line);
  if (m === null) return failure(diagnose(line));
  const [, client, acceptDate, frontend, logasap, activeMillis, status, bytesRead, termination, request, closingQuote] =
    m;
  const wall = wallClockMillis(acceptDate!);
  if (wall === undefined) return failure(`accept date [${acceptDate}] is not a possible date and time`);
  const out: WireEvent = { time: (options.timeZone ?? UTC).toEpochMillis(wall), type: HTTP_REQUEST };
  if (request === BAD_REQUEST) addMalformedRequest(out, '');
  else addRequestLine(out, request!, decodeHaproxyEscapes(request!));
  if (status !== '-1') {
    const code = readStatusDigits(status!);
    if (code === 'invalid') return invalidStatus(status!);
    if (code !== 'none') out[Field.httpResponseStatusCode] = code;
  }
  // Bytes read: what HAProxy read from the server, so what the client was sent (headers included).
  const size = byteCount(bytesRead!);
  if (size !== undefined) out[Field.httpResponseBodySize] = size;
  addClientAndPort(out, client!);
  // Ta (HAProxy 1.x: Tt) in milliseconds. With `option logasap` it is marked `+` and counts only up to the log, not
  // the whole request; -1 means the request was aborted before it could be measured.
  if (logasap === '' && activeMillis !== '-1') out[Field.httpServerRequestDuration] = Number(activeMillis) / 1000;
  // A frontend name ends with `~` when the connection came over TLS.
  if (frontend!.endsWith('~') && out[Field.urlScheme] === undefined) out[Field.urlScheme] = 'https';
  // The first two letters say who ended the session and at which step; `--` is a normal end (the last two are about
  // persistence cookies).
  if (!termination!.startsWith('--')) out[Field.terminationState] = termination;
  if (closingQuote === undefined) out[Field.truncated] = true;
  out[Field.sourceName] = HAPROXY_SOURCE;
  return { ok: true, event: out };
}

/** `06/Feb/2026:12:14:14.655` as if it were UTC, in epoch milliseconds; undefined for an impossible date. */
function wallClockMillis(t: string): number | undefined {
  const wall = clfWallClock(t);
  return wall === undefined ? undefined : wall + digits(t, 21, 3);
}

const HASH_ESCAPE = /(?:#[0-9A-Fa-f]{2})+/g;

/**
 * HAProxy writes `"`, `#`, control characters and bytes outside ASCII in a logged request line as `#XX`. A `#`
 * cannot otherwise appear there (it is escaped itself), so every `#XX` is an escape; runs of them are decoded
 * together as UTF-8.
 */
function decodeHaproxyEscapes(text: string): string {
  if (text.indexOf('#') === -1) return text;
  return text.replace(HASH_ESCAPE, (run) => {
    const bytes = Buffer.alloc(run.length / 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
    return bytes.toString('utf8');
  });
}

const CLIENT_AND_DATE = new RegExp(`(?:^|\\s)\\S+ ${ACCEPT_DATE} `);
const NUMBER = /^(-1|\+?\d+)$/;

/** Say which part of the line is wrong, without quoting it (its URL may hold tokens). */
function diagnose(line: string): string {
  if (line.trim() === '') return 'empty line';
  const found = CLIENT_AND_DATE.exec(line);
  if (found === null) {
    return `no CLIENT:PORT [accept date] with milliseconds (expected HAProxy's HTTP log: ${FORMAT_HINT})`;
  }
  const start = /^\s/.test(found[0]) ? found.index + 1 : found.index;
  const fields = line.slice(start).split(' ');
  const [, , frontend, backendServer, timers, status, bytes] = fields;
  if (frontend?.endsWith(':') || backendServer === undefined || !backendServer.includes('/')) {
    return 'an HAProxy message about a connection (an SSL handshake failure, a connection error...), not a request log';
  }
  const timerCount = timers?.split('/').length;
  if (timerCount === 3) {
    return 'a TCP log line (option tcplog, or a tcp-mode proxy): it has no HTTP request; only the HTTP log (option httplog) is read';
  }
  if (timerCount !== 5 || !timers!.split('/').every((timer) => NUMBER.test(timer))) {
    return `the timers must be five numbers TR/Tw/Tc/Tr/Ta, -1 when not reached (expected ${FORMAT_HINT})`;
  }
  if (status === undefined || !NUMBER.test(status) || bytes === undefined || !NUMBER.test(bytes)) {
    return `the timers must be followed by a status (or -1) and a byte count (expected ${FORMAT_HINT})`;
  }
  if (line.indexOf(' "', start) === -1) return `no quoted request line (expected ${FORMAT_HINT})`;
  if (HTTP_LOG.test(line.slice(start))) {
    return 'the text before the client address is not a syslog header (RFC 3164 or RFC 5424)';
  }
  return `does not match HAProxy's HTTP log format ${FORMAT_HINT}`;
}
