/**
 * Parameter inspection (`inspect: 'params'`): the values a request carried — path parameters, query parameters,
 * body leaves the framework parsed, and a few chosen headers — attached to its `http_request` event as
 * `vigil.inspect.<location>.<key>`, so the collector can look for attack payloads in them.
 *
 * Privacy: these are user input, so they are bounded (per value, per request, in number) and redacted: a value
 * under a key that redaction would redact (for a query parameter, a name `url.query` redaction would redact, such as
 * `code`) is never inspected, it is sent as `[REDACTED]`; every other value goes through the same redactor as the
 * rest of the event (card numbers, bearer tokens, JWTs in free text).
 */
import { Field, type FieldValue } from '@vigil/schema';
import { REDACTED, type Redactor } from './redact.js';

/** `off`: no query string either; `url`: path and query (redacted), the default; `params`: plus inspection. */
export type InspectMode = 'off' | 'url' | 'params';

export const INSPECT_MODES: readonly InspectMode[] = ['off', 'url', 'params'];

/** Field-name prefix of inspected values (`vigil.inspect.query.q`). */
export const INSPECT_PREFIX = 'vigil.inspect';

export interface InspectLimits {
  /** Headers whose values are inspected, lower-case names. */
  readonly headers: readonly string[];
  /** A longer value is cut to this many characters. */
  readonly maxValueChars: number;
  /** Characters of inspected values per request; values past the budget are left out. */
  readonly maxRequestChars: number;
  /** Inspected values per request. */
  readonly maxFields: number;
}

/** What the adapter could see of a request's parsed input. */
export interface InspectInput {
  /** Query string without `?`, as received. */
  readonly query: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Route parameters the framework extracted (`{ id: '4711' }`). */
  readonly params: unknown;
  /** The body as the framework parsed it (JSON or form), if it did. Raw buffers and strings are not inspected. */
  readonly body: unknown;
}

/** Field names allow `[A-Za-z0-9_-]` in a segment (schema/event.ts, FIELD_NAME); anything else becomes `_`. */
const UNSAFE_SEGMENT_CHARS = /[^A-Za-z0-9_-]/g;
const MAX_SEGMENT_CHARS = 48;
/** The collector's limit on a field name (schema/event.ts). */
const MAX_FIELD_NAME_CHARS = 128;
const MAX_BODY_DEPTH = 6;
const MAX_ARRAY_ITEMS = 16;

/**
 * Keys that make an object an attack rather than data: query operators (`{"password": {"$ne": null}}` logs in as
 * anyone against MongoDB) and prototype keys (`{"__proto__": {"isAdmin": true}}`). As field names they would be
 * lost (`$` is not a field-name character; `__proto__` is never a key of ours), so such an object is sent whole.
 */
const INJECTION_KEY = /^\$[A-Za-z]+$|^__proto__$|^constructor$|^prototype$/;
/** How deep, and how long, such an object is written out. */
const MAX_SHAPE_DEPTH = 3;

function hasInjectionKey(record: Record<string, unknown>): boolean {
  return Object.keys(record).some((k) => INJECTION_KEY.test(k));
}

/**
 * The object as compact JSON: keys as sent, strings through `text` (redacted and cut), numbers, booleans and null
 * as they are; deeper than MAX_SHAPE_DEPTH, `{…}`. Under a sensitive key `text` hides every string, and the keys,
 * the operators that make the attack, still show.
 */
function shapeOf(node: unknown, text: (s: string) => string, depth = 0): string {
  if (typeof node === 'string') return JSON.stringify(text(node));
  if (typeof node === 'number' || typeof node === 'boolean' || node === null) return JSON.stringify(node);
  if (typeof node !== 'object' || depth >= MAX_SHAPE_DEPTH) return Array.isArray(node) ? '[…]' : '{…}';
  if (Array.isArray(node)) {
    return `[${node
      .slice(0, MAX_ARRAY_ITEMS)
      .map((item) => shapeOf(item, text, depth + 1))
      .join(',')}]`;
  }
  const entries = Object.keys(node as object)
    .slice(0, MAX_ARRAY_ITEMS)
    .map((k) => `${JSON.stringify(k)}:${shapeOf((node as Record<string, unknown>)[k], text, depth + 1)}`);
  return `{${entries.join(',')}}`;
}

function segment(key: string): string {
  const s = key.replace(UNSAFE_SEGMENT_CHARS, '_').slice(0, MAX_SEGMENT_CHARS);
  return s.length > 0 ? s : '_';
}

/**
 * Collect the inspected values of one request. Returns flat fields ready for the event; each value is either
 * `[REDACTED]` or a string / number / boolean / string list that the event's redaction pass then treats like any
 * other field.
 */
export function collectInspection(
  input: InspectInput,
  limits: InspectLimits,
  redactor: Redactor,
): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  let chars = 0;
  let count = 0;
  /** Set when a bound left something out: a request padded to push a payload past the bounds says so. */
  let truncated = false;
  const full = () => count >= limits.maxFields || chars >= limits.maxRequestChars;
  /**
   * A value redacted, then cut: cut first, a card number or token across the cut would lose the part its pattern
   * needs, and the rest of it would be sent (the event's own redaction pass sees only what is left).
   */
  const cut = (s: string) => {
    const redacted = redactor.string(s);
    if (redacted.length <= limits.maxValueChars) return redacted;
    truncated = true;
    return redacted.slice(0, limits.maxValueChars);
  };
  /** `items` without what is past `max`, noting that something was. */
  const first = <T>(items: readonly T[], max: number): readonly T[] => {
    if (items.length <= max) return items;
    truncated = true;
    return items.slice(0, max);
  };

  /**
   * `location` and `keys` (the original keys, for the redaction decision) → one field. `shaped`: the value is an
   * object written out with its strings already hidden (see shapeOf), sent even under a sensitive key.
   */
  const add = (location: string, keys: readonly string[], value: unknown, shaped = false): void => {
    if (full()) {
      truncated = true;
      return;
    }
    const name = `${INSPECT_PREFIX}.${location}.${keys.map(segment).join('.')}`;
    if (name in out) return;
    if (name.length > MAX_FIELD_NAME_CHARS) {
      truncated = true;
      return;
    }
    // Judged on the original path: `user[password]`, `X-Api-Key` and configured dotted paths all match there.
    if (!shaped && (keys.some((k) => redactor.isSensitiveKey(k)) || redactor.isSensitivePath(keys.join('.')))) {
      out[name] = REDACTED;
      count++;
      return;
    }
    let field: FieldValue | undefined;
    let size = 0;
    if (typeof value === 'string') {
      field = cut(value);
      size = field.length;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      field = value;
      size = 8;
    } else if (typeof value === 'boolean') {
      field = value;
      size = 5;
    } else if (Array.isArray(value)) {
      const items: string[] = [];
      for (const item of first(value, MAX_ARRAY_ITEMS)) {
        if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') continue;
        const s = cut(String(item));
        if (chars + size + s.length > limits.maxRequestChars) {
          truncated = true;
          break;
        }
        items.push(s);
        size += s.length;
      }
      if (items.length > 0) field = items;
    }
    if (field === undefined) return;
    if (chars + size > limits.maxRequestChars) {
      truncated = true;
      return;
    }
    out[name] = field;
    chars += size;
    count++;
  };

  const params = asRecord(input.params);
  if (params) for (const key of Object.keys(params)) add('path', [key], params[key]);

  if (input.query) {
    const values = new Map<string, string[]>();
    try {
      for (const [key, value] of new URLSearchParams(input.query)) {
        if (values.size >= limits.maxFields && !values.has(key)) {
          truncated = true;
          continue;
        }
        const list = values.get(key);
        if (list) list.push(value);
        else values.set(key, [value]);
      }
    } catch {
      // a query string URLSearchParams cannot read has nothing to inspect
    }
    // Query parameters are also judged as query names: `code`, `key` and `sig` are credentials in a URL only.
    for (const [key, list] of values) {
      add('query', [key], redactor.isSensitiveQueryName(key) ? REDACTED : list.length === 1 ? list[0] : list);
    }
  }

  for (const name of limits.headers) {
    const raw = input.headers[name];
    const value = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
    // A URL (a Referer after an OAuth callback) keeps the credentials of its query out, as the request's query does.
    if (value !== undefined) add('header', [name], typeof value === 'string' ? redactor.url(value) : value);
  }

  const body = input.body;
  if (Array.isArray(body) || asRecord(body)) {
    const walk = (node: unknown, keys: string[], depth: number): void => {
      if (full()) {
        truncated = true;
        return;
      }
      if (Array.isArray(node) && (keys.length === 0 || node.some((x) => typeof x === 'object' && x !== null))) {
        // An array of objects, or the body itself an array: walk its first items by index (`body.0`).
        if (depth >= MAX_BODY_DEPTH) {
          truncated = true;
          return;
        }
        first(node, MAX_ARRAY_ITEMS).forEach((item, i) => {
          walk(item, [...keys, String(i)], depth + 1);
        });
        return;
      }
      const record = Array.isArray(node) ? undefined : asRecord(node);
      if (!record) {
        if (keys.length > 0) add('body', keys, node);
        return;
      }
      if (keys.length > 0 && hasInjectionKey(record)) {
        add(
          'body',
          keys,
          shapeOf(record, (s) => cut(s)),
          true,
        );
        return;
      }
      if (depth >= MAX_BODY_DEPTH) {
        truncated = true;
        return;
      }
      for (const key of Object.keys(record)) {
        if (full()) {
          truncated = true;
          return;
        }
        const child = [...keys, key];
        const value = record[key];
        // A sensitive key (or a configured path) is never walked into: its whole subtree is one redacted field,
        // except for an operator object (`"password": {"$ne": null}`), whose keys show with every string hidden.
        if (redactor.isSensitiveKey(key) || redactor.isSensitivePath(child.join('.'))) {
          const operand = asRecord(value);
          if (operand && hasInjectionKey(operand))
            add(
              'body',
              child,
              shapeOf(operand, () => REDACTED),
              true,
            );
          else add('body', child, REDACTED);
        } else walk(value, child, depth + 1);
      }
    };
    walk(body, [], 0);
  }
  if (truncated) out[Field.inspectionTruncated] = true;
  return out;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  return value as Record<string, unknown>;
}
