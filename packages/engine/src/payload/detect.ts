/**
 * Payload detection over values and whole requests: decode once (decode.ts), run every class detector on the
 * decoded forms, report each class at most once per value.
 */
import { detectCmdi } from './cmdi.js';
import { detectCrlf } from './crlf.js';
import { decodeForms, MAX_VALUE_CHARS, percentDecode } from './decode.js';
import { detectJndi } from './jndi.js';
import { detectNosqli } from './nosqli.js';
import { detectProtoPollution } from './proto-pollution.js';
import { detectSqli } from './sqli.js';
import { detectSsrf } from './ssrf.js';
import { detectPathTraversal } from './traversal.js';
import type {
  Detector,
  DetectorInput,
  PayloadClass,
  PayloadContext,
  PayloadFinding,
  PayloadLocation,
} from './types.js';
import { detectXss } from './xss.js';

const DETECTORS: readonly Detector[] = [
  detectSqli,
  detectXss,
  detectPathTraversal,
  detectCmdi,
  detectSsrf,
  detectJndi,
  detectNosqli,
  detectProtoPollution,
  detectCrlf,
];

/** A single word, number or id carries no payload of any class: skip it without decoding. */
const INERT = /^[\w@-]*$/;
/** Keys (parameter names) are inspected when they hold anything beyond the characters of ordinary names. */
const PLAIN_KEY = /^[\w.-]*$/;
/**
 * A path of plain segments (`/api/v1/orders/123`, `/static/app.min.js`): letters, digits and `_ @ ~ + -`, dots only
 * inside a segment, so no `..`, no percent-encoding, no quotes or brackets — nothing any detector could fire on.
 * Checked first because almost every request path looks like this and the full detectors cost far more.
 */
const PLAIN_PATH = /^(?:\/[\w@~+-]+(?:\.[\w@~+-]+)*)*\/?$/;
/** Plain paths that still name files an attacker reads through traversal or inclusion. */
const SENSITIVE_SEGMENT = /(?:^|\/)(?:etc|proc|windows|winnt|boot\.ini|win\.ini)(?:\/|$)/i;

/**
 * Inspect one value for attack payloads.
 *
 * `context.location` tunes decoding (`+` is a space in query values) and the rules that depend on where a value
 * sits (line breaks are ordinary in a body, never in a header); `context.key` lets key-shaped attacks (NoSQL
 * operators, prototype pollution) and keys that name a URL (SSRF) be seen. Returns at most one finding per class.
 *
 * @example
 * detectPayload("1' OR '1'='1", { key: 'id', location: 'query' });
 * // [{ class: 'sqli', confidence: 0.9, evidence: "1' OR '1'='1" }]
 * detectPayload("O'Brien"); // []
 */
export function detectPayload(value: string, context: PayloadContext = {}): PayloadFinding[] {
  // Exported to JavaScript callers too: anything but a string (a parsed JSON array or object) holds no text to scan.
  if (typeof value !== 'string') return [];
  const key = typeof context.key === 'string' ? context.key : undefined;
  const keyIsPlain = key === undefined || (PLAIN_KEY.test(key) && !key.includes('proto'));
  if (INERT.test(value) && keyIsPlain) {
    // Nothing in a word or a number can be a payload, except a bare host judged by its key (`host=localhost`).
    if (key === undefined || !/^(?:localhost|metadata|0|\d{8,})$/i.test(value.trim())) return [];
  }
  const input: DetectorInput = {
    forms: decodeForms(value, { plusAsSpace: context.location === 'query' }),
    ...(key === undefined ? {} : { key }),
    ...(context.location === undefined ? {} : { location: context.location }),
  };
  const findings: PayloadFinding[] = [];
  for (const detect of DETECTORS) {
    const finding = detect(input);
    if (finding !== undefined) findings.push(finding);
  }
  return findings;
}

/** One parameter of a request, as an SDK's inspection or a parsed query string provides it. */
export interface InspectedParam {
  readonly location: PayloadLocation;
  /** Name of the parameter (`id`, `user.name`, `x-forwarded-host`). */
  readonly key: string;
  readonly value: string;
}

/** What a request looks like to payload detection. */
export interface RequestView {
  /** Raw request path, percent-encoding kept, without the query string. */
  readonly path?: string;
  /** Raw query string, without the leading `?`. */
  readonly query?: string;
  /** Further parameters already split into key and value (headers, body fields...), decoded once. */
  readonly params?: readonly InspectedParam[];
}

export interface LocatedFinding extends PayloadFinding {
  /** `path`, `query.<key>`, `body.<key>`, `header.<name>`. */
  readonly location: string;
}

export interface RequestInspection {
  /** Classes found, sorted, unique. */
  readonly classes: PayloadClass[];
  /** Where they were found, sorted, unique. */
  readonly locations: string[];
  readonly findings: LocatedFinding[];
}

/** Most query parameters looked at per request; the rest are ignored. */
export const MAX_QUERY_PARAMS = 256;

/**
 * Split a raw query string into decoded key / value pairs (`+` as space, lenient percent-decoding), as form parsers
 * do. A key without `=` has an empty value.
 *
 * @example
 * parseQueryString('a=1&b=x+y&c'); // [['a','1'], ['b','x y'], ['c','']]
 */
export function parseQueryString(query: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (typeof query !== 'string') return pairs;
  const text = query.startsWith('?') ? query.slice(1) : query;
  for (const part of text.slice(0, MAX_VALUE_CHARS * 4).split('&')) {
    if (part === '') continue;
    if (pairs.length >= MAX_QUERY_PARAMS) break;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([percentDecode(key, true), percentDecode(value, true)]);
  }
  return pairs;
}

/**
 * Inspect a whole request: the path, each query parameter (key and value), and any further parameters.
 *
 * @example
 * inspectRequest({ path: '/search', query: 'q=%3Cscript%3Ealert(1)%3C/script%3E' });
 * // { classes: ['xss'], locations: ['query.q'], findings: [...] }
 */
export function inspectRequest(view: RequestView): RequestInspection {
  const findings: LocatedFinding[] = [];
  const add = (location: string, found: readonly PayloadFinding[]): void => {
    for (const f of found) findings.push({ ...f, location });
  };
  const path = view.path;
  if (path !== undefined && path !== '' && path !== '/' && !(PLAIN_PATH.test(path) && !SENSITIVE_SEGMENT.test(path))) {
    add('path', detectPayload(path, { location: 'path' }));
  }
  if (view.query !== undefined && view.query !== '') {
    for (const [key, value] of parseQueryString(view.query)) {
      inspectParam(add, 'query', key, value);
    }
  }
  for (const param of view.params ?? []) inspectParam(add, param.location, param.key, param.value);
  const classes = [...new Set(findings.map((f) => f.class))].sort();
  const locations = [...new Set(findings.map((f) => f.location))].sort();
  return { classes, locations, findings };
}

function inspectParam(
  add: (location: string, found: readonly PayloadFinding[]) => void,
  location: PayloadLocation,
  key: string,
  value: string,
): void {
  if (typeof key !== 'string' || typeof value !== 'string') return;
  const where = `${location}.${key}`;
  const found = detectPayload(value, { key, location });
  // A key is a value the attacker chose too (`__proto__[x]`, `<svg onload=...>=1`): inspect it unless it is plain.
  if (!PLAIN_KEY.test(key) || key.includes('proto')) {
    const seen = new Set(found.map((f) => f.class));
    for (const f of detectPayload(key, { location })) if (!seen.has(f.class)) found.push(f);
  }
  add(where, found);
}
