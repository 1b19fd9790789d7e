/**
 * AWS Application Load Balancer access logs, as the balancer delivers them to S3 (one entry a line, gzipped files):
 *
 *     type time elb client:port target:port request_processing_time target_processing_time response_processing_time
 *     elb_status_code target_status_code received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol
 *     target_group_arn "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority request_creation_time ...
 *
 * Fields are separated by single spaces; the quoted ones may hold spaces. Only the fields up to the user agent are
 * read: AWS appends fields over time (target lists, classification, connection trace id...), so whatever follows
 * the user agent is allowed and ignored. The request line holds an absolute URL
 * (`GET https://api.example.com:443/v1/orders?page=2 HTTP/1.1`), read by the shared request-line helpers.
 */
import { Field, parseTime } from '@vigil/schema';
import {
  addClientAndPort,
  addMalformedRequest,
  addRequestLine,
  byteCount,
  failure,
  HTTP_REQUEST,
  invalidStatus,
  type LineResult,
  readStatusDigits,
  unescapeLogString,
  type WireEvent,
} from './access-log-shared.js';

const QUOTED = '"([^"\\\\]*(?:\\\\.[^"\\\\]*)*)"';
// A processing time: seconds with a fraction, or -1 when the step did not happen (no target was reached, or the
// client closed the connection first).
const SECONDS = '(-1|\\d+(?:\\.\\d+)?)';
const ALB_LINE = new RegExp(
  `^\\S+ (\\S+) \\S+ (\\S+) \\S+ ${SECONDS} ${SECONDS} ${SECONDS} (\\d+|-) \\S+ (\\d+|-) (\\d+|-) ${QUOTED} ${QUOTED}(?: .*)?$`,
);

const SECONDS_VALUE = /^(-1|\d+(\.\d+)?)$/;
const COUNT_VALUE = /^(\d+|-)$/;

const FORMAT_HINT =
  'TYPE TIME ELB CLIENT:PORT TARGET:PORT SECONDS SECONDS SECONDS ELB_STATUS TARGET_STATUS RECEIVED SENT "REQUEST" "USER-AGENT" ...';

export const ALB_SOURCE = 'alb';

/**
 * Parse one Application Load Balancer access-log entry.
 *
 * @example
 * parseAlbLine('https 2026-11-02T10:00:00.123456Z app/api/50dc6c495c0c9188 198.51.100.7:41322 10.0.1.5:8080 0.001 0.020 0.000 200 200 312 1045 "GET https://api.example.com:443/v1/orders?page=2 HTTP/1.1" "curl/8.5.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - "Root=1-6722f5a0-0123456789abcdef01234567" "api.example.com" "-" 1 2026-11-02T10:00:00.102000Z "forward" "-" "-"');
 * // { ok: true, event: { time: 1793613600123, type: 'http_request', 'http.request.method': 'GET', 'url.path': '/v1/orders', ... } }
 */
export function parseAlbLine(line: string): LineResult {
  const m = ALB_LINE.exec(line);
  if (m === null) return failure(diagnose(line));
  const [
    ,
    loggedTime,
    client,
    requestSeconds,
    targetSeconds,
    responseSeconds,
    status,
    received,
    sent,
    request,
    userAgent,
  ] = m;
  const time = parseTime(loggedTime);
  if (time === undefined) {
    return failure(`time ${loggedTime!.slice(0, 40)} is not an ISO 8601 time (yyyy-mm-ddThh:mm:ss.ssssssZ)`);
  }
  const out: WireEvent = { time, type: HTTP_REQUEST };
  const decoded = unescapeLogString(request!);
  // A request the balancer could not read is logged with `-` for its method (`- http://api.example.com:80- -`):
  // `-` is a valid token, and would otherwise pass for a method and its URL for the target.
  if (decoded === '-' || decoded.startsWith('- ')) addMalformedRequest(out, request!);
  else addRequestLine(out, request!, decoded);
  if (status !== '-') {
    const code = readStatusDigits(status!);
    if (code === 'invalid') return invalidStatus(status!);
    if (code !== 'none') out[Field.httpResponseStatusCode] = code;
  }
  const requestSize = received === '-' ? undefined : byteCount(received!);
  if (requestSize !== undefined) out[Field.httpRequestBodySize] = requestSize;
  const responseSize = sent === '-' ? undefined : byteCount(sent!);
  if (responseSize !== undefined) out[Field.httpResponseBodySize] = responseSize;
  addClientAndPort(out, client!);
  // The three steps end to end: balancer in, target, balancer out. A -1 means a step did not happen (the
  // balancer answered itself, or the client left), and then the whole is unknown rather than the sum of the rest.
  if (requestSeconds !== '-1' && targetSeconds !== '-1' && responseSeconds !== '-1') {
    const total = Number(requestSeconds) + Number(targetSeconds) + Number(responseSeconds);
    // Rounded to the microsecond: the logged values have at most that precision, their binary sum may not.
    out[Field.httpServerRequestDuration] = Math.round(total * 1e6) / 1e6;
  }
  if (userAgent !== '-' && userAgent !== '') out[Field.userAgentOriginal] = unescapeLogString(userAgent!);
  out[Field.sourceName] = ALB_SOURCE;
  return { ok: true, event: out };
}

/** Say which part of the entry is wrong, without quoting the line (its URL may hold tokens). */
function diagnose(line: string): string {
  if (line.trim() === '') return 'empty line';
  if (/^\d{4}-\d{2}-\d{2}T/.test(line)) {
    return 'starts with a time, not a type: a Classic Load Balancer entry, which is not read (expected an Application Load Balancer entry)';
  }
  const quote = line.indexOf(' "');
  const head = (quote === -1 ? line : line.slice(0, quote)).split(' ');
  if (head.length < 12) {
    return `only ${head.length} fields before the request (expected ${FORMAT_HINT})`;
  }
  if (!head.slice(5, 8).every((value) => SECONDS_VALUE.test(value))) {
    return `the three processing times must be seconds or -1 (expected ${FORMAT_HINT})`;
  }
  if (![head[8]!, head[10]!, head[11]!].every((value) => COUNT_VALUE.test(value))) {
    return `the status and byte counts must be numbers or - (expected ${FORMAT_HINT})`;
  }
  return `does not match the Application Load Balancer format ${FORMAT_HINT} (a missing quoted request or user agent?)`;
}
