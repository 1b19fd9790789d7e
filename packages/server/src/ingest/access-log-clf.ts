/**
 * The NCSA common and combined log formats, as nginx and Apache write them by default:
 *
 *     common:       %h %l %u %t "%r" %>s %b
 *     combined:     %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
 *     combined-xff: %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" "%{X-Forwarded-For}i"  (nginx's `main`)
 *
 * One regular expression execution per line; the request line, the time and the escapes are then read by hand.
 * Fields after the user agent (nginx `$request_time`, Traefik's router name...) are allowed and ignored, but for the
 * forwarded-for column of `combined-xff`.
 */
import { Field } from '@vigil/schema';
import { FORWARDED_FOR_FIELD } from '../enrich/client-address.js';
import {
  addRequestLine,
  byteCount,
  failure,
  HTTP_REQUEST,
  invalidStatus,
  type LineResult,
  parseClfTime,
  readStatusDigits,
  unescapeLogString,
  type WireEvent,
} from './access-log-shared.js';

// A quoted field: anything but `"` and `\`, or a backslash escape (nginx `\x22`, Apache `\"`), unrolled so that a
// long field costs one linear scan and no backtracking.
const QUOTED = '"([^"\\\\]*(?:\\\\.[^"\\\\]*)*)"';
// The user (%u, $remote_user) is the name a client sent in its Basic credentials, as it sent it: nginx and Apache
// escape its quotes but not its spaces, and Apache writes `""` for an empty name. So it is whatever comes before the
// first ` [time] "` (a name cannot hold a raw `"`); the time is bounded so that a name full of ` [` costs little.
const CLF_LINE = new RegExp(
  `^(\\S+) (\\S+) (""|[^"]*?) \\[([^\\][]{0,64})\\] ${QUOTED} (\\d+|-) (\\d+|-)(?: ${QUOTED} ${QUOTED}(?: ${QUOTED})?)?(?: .*)?$`,
);

const CONTAINER_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;
const CONTAINER_STREAM = /^std(?:out|err)$/;

const FORMAT_HINT = 'HOST IDENT USER [TIME] "REQUEST" STATUS BYTES ["REFERER" "USER-AGENT"]';

/** Read a quoted field after the user agent as the request's `X-Forwarded-For` (nginx's stock `main` format). */
export interface ClfOptions {
  readonly forwardedFor?: boolean;
}

/**
 * Parse one common or combined line. `source` goes into `vigil.source.name`. The referer and user agent are read
 * whenever the line has them, whatever `source` says.
 *
 * @example
 * parseClfLine('203.0.113.7 - alice [10/Oct/2000:13:55:36 -0700] "GET /a?b=1 HTTP/1.1" 200 2326 "-" "curl/8.5.0"', 'combined');
 * // { ok: true, event: { time: 971211336000, type: 'http_request', 'http.request.method': 'GET', 'url.path': '/a', ... } }
 */
export function parseClfLine(line: string, source: string, options: ClfOptions = {}): LineResult {
  const m = CLF_LINE.exec(line);
  if (m === null) return failure(diagnose(line));
  // A container runtime's line (`TIME stdout F 203.0.113.7 - - [...]`) matches too, with the runtime's time as the
  // host and the real host inside the user: refused, saying how to read it, rather than stored with those fields.
  if (CONTAINER_STREAM.test(m[2]!) && CONTAINER_TIME.test(m[1]!)) {
    return failure('this is a container log line (TIME STREAM TAG ...): read the file with --container cri');
  }
  const time = parseClfTime(m[4]!);
  if (time === undefined) {
    return failure(`time [${m[4]!.slice(0, 40)}] is not dd/Mon/yyyy:HH:MM:SS ±hhmm`);
  }
  const out: WireEvent = { time, type: HTTP_REQUEST };
  const request = m[5]!;
  addRequestLine(out, request, unescapeLogString(request));
  const status = m[6]!;
  if (status !== '-') {
    const code = readStatusDigits(status);
    if (code === 'invalid') return invalidStatus(status);
    if (code !== 'none') out[Field.httpResponseStatusCode] = code;
  }
  // Apache's %b writes `-` for "no body": that is a size of 0, not an unknown size.
  const bytes = m[7]!;
  const size = bytes === '-' ? 0 : byteCount(bytes);
  if (size !== undefined) out[Field.httpResponseBodySize] = size;
  const host = m[1]!;
  if (host !== '-') out[Field.clientAddress] = host;
  const user = m[3]!;
  if (user !== '-' && user !== '' && user !== '""') out[Field.userId] = unescapeLogString(user);
  const referrer = m[8];
  if (referrer !== undefined && referrer !== '-' && referrer !== '')
    out[Field.httpRequestReferrer] = unescapeLogString(referrer);
  const userAgent = m[9];
  if (userAgent !== undefined && userAgent !== '-' && userAgent !== '') {
    out[Field.userAgentOriginal] = unescapeLogString(userAgent);
  }
  if (options.forwardedFor) {
    // The hops are only believed by the client-address stage, and only from the server's trusted proxies.
    const hops = m[10];
    if (hops !== undefined && hops !== '-' && hops !== '') out[FORWARDED_FOR_FIELD] = unescapeLogString(hops);
  }
  out[Field.sourceName] = source;
  return { ok: true, event: out };
}

/** Say which part of the format a non-matching line gets wrong, without quoting the line (it may hold secrets). */
function diagnose(line: string): string {
  if (line.trim() === '') return 'empty line';
  const open = line.indexOf(' [');
  if (open === -1 || line.split(' ', 3).length < 3) {
    return `no [time] after the host, ident and user fields (expected ${FORMAT_HINT})`;
  }
  if (line.indexOf('] "', open) === -1) return `no quoted request line after the [time] (expected ${FORMAT_HINT})`;
  if (!/" (\d+|-) (\d+|-)/.test(line)) {
    return `the request line must be followed by a numeric status and byte count (expected ${FORMAT_HINT})`;
  }
  return `does not match the common/combined format ${FORMAT_HINT} (an unescaped quote inside a field?)`;
}
