/**
 * CRLF / header injection and response splitting: a line break (after decoding: `%0d%0a`, `%0a`, `\r\n`, the
 * `%E5%98%8A`-style characters some stacks truncate to CR/LF) followed by something a client or server would read
 * as a header line (`Set-Cookie:`, `Location:`, any `Token:`) or as a new response (`HTTP/1.1`, `<html`).
 *
 * Where line breaks are ordinary (body fields: addresses, comments, notes), only a line that sets a cookie, redirects
 * to a URL or describes content (`Set-Cookie:`, `Location: http...`, `Content-Type:`) counts: prose and e-mail
 * templates are full of `Host: Ana`, `Link: https://...`, `Location: Room 4` and `X-Ref: 12` lines. In paths and
 * query values any `Name:` line counts, and in a header value any CR or LF at all, since no header legitimately
 * carries one.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/** A line that parses as a header: a field name made of RFC 9110 token characters, a colon, a value. */
const HEADER_LINE = /(?<![\r\n])[\r\n]+[\t ]*[!#$%&'*+.^_`|~0-9a-z-]{2,40}[\t \r]*:[\t ]*[^\s]/i;
const KNOWN_HEADER_LINE =
  /(?<![\r\n])[\r\n]+[\t ]*(?:set-cookie|location|content-(?:type|length|disposition|security-policy)|refresh|transfer-encoding|access-control-allow-[a-z-]+|x-[a-z-]+|host|cookie|connection|cache-control|link|authorization|www-authenticate|strict-transport-security|upgrade|remote-addr|x-forwarded-[a-z]+)[\t ]*:[\t ]*[^\s]/i;
/** The header lines that still mean an injection in a body field (see the module comment). */
const BODY_HEADER_LINE =
  /(?<![\r\n])[\r\n]+[\t ]*(?:set-cookie|content-[a-z-]{2,30}|location(?=[\t ]*:[\t ]*(?:[a-z][\w+.-]{0,15}:|\/)))[\t ]*:[\t ]*[^\s]/i;
const RESPONSE_SPLIT = /(?<![\r\n])[\r\n]+[\t ]*(?:http\/\d(?:\.\d)?\s+\d{3}|<\s*(?:html|script|body)\b)/i;
/** U+560A / U+560D and friends: characters whose low byte is LF / CR, which some servers truncate to that byte. */
const TRUNCATED_NEWLINE = /[\u560a\u560d]/g;

/**
 * Detect CRLF / header injection in one value (all its decoded forms).
 *
 * @example
 * detectCrlf({ forms: ['en%0d%0aSet-Cookie: a=b'] }); // { class: 'crlf', ... }
 * detectCrlf({ forms: ['line one\nline two'], location: 'body' }); // undefined
 */
export function detectCrlf(input: DetectorInput): PayloadFinding | undefined {
  for (const raw of input.forms) {
    const form = /[\u560a\u560d]/.test(raw)
      ? raw.replace(TRUNCATED_NEWLINE, (c) => ((c.charCodeAt(0) & 0xff) === 0x0a ? '\n' : '\r'))
      : raw;
    if (!form.includes('\n') && !form.includes('\r')) continue;
    const split = RESPONSE_SPLIT.exec(form);
    if (split !== null)
      return { class: 'crlf', confidence: 0.95, evidence: evidenceAt(form, split.index, split[0].length) };
    const known = (input.location === 'body' ? BODY_HEADER_LINE : KNOWN_HEADER_LINE).exec(form);
    if (known !== null)
      return { class: 'crlf', confidence: 0.9, evidence: evidenceAt(form, known.index, known[0].length) };
    if (input.location !== 'body') {
      const line = HEADER_LINE.exec(form);
      if (line !== null)
        return { class: 'crlf', confidence: 0.75, evidence: evidenceAt(form, line.index, line[0].length) };
    }
    if (input.location === 'header') {
      const at = form.search(/[\r\n]/);
      return { class: 'crlf', confidence: 0.7, evidence: evidenceAt(form, at, 1) };
    }
  }
  return undefined;
}
