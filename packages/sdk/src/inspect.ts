/**
 * Parameter inspection (`inspect: 'params'`): the values a request carried — path parameters, query parameters,
 * body leaves the framework parsed, and a few chosen headers — attached to its `http_request` event as
 * `vigil.inspect.<location>.<key>`, so the collector can look for attack payloads in them.
 *
 * Privacy: these are user input, so they are bounded (per value, per request, in number) and redacted: a value
 * under a key that redaction would redact (for a query parameter, a name `url.query` redaction would redact, such as
 * `code`) is never inspected, it is sent as `[REDACTED]` (an operator object there shows its keys only); every other
 * value goes through the same redactor as the rest of the event (card numbers, bearer tokens, JWTs in free text).
 */
import { Field, type FieldValue, isInjectionKey, MAX_FIELD_NAME_LENGTH, PREFIX_MARGIN_CHARS } from '@vigil/schema';
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
const MAX_BODY_DEPTH = 6;
const MAX_ARRAY_ITEMS = 16;
/**
 * Query parameters, and body keys and items, looked at per inspected field (`maxFields`): past them the rest is left
 * out, so that the work is bounded by the limits, not by how many parameters or keys a client sends. Each query key
 * kept takes at most MAX_ARRAY_ITEMS values; body keys whose values give no field (null, `{}`, a name already taken
 * or too long) are what the body allowance is for.
 */
const QUERY_PARAMETERS_PER_FIELD = MAX_ARRAY_ITEMS;
const BODY_NODES_PER_FIELD = 8;

/**
 * An object holding a key that makes it an attack rather than data (`isInjectionKey`: query operators, as in
 * `{"password": {"$ne": null}}`, which logs in as anyone against MongoDB, and prototype keys, as in
 * `{"__proto__": {"isAdmin": true}}`). As field names those keys would be lost (`$` is not a field-name character;
 * `__proto__` is never a key of ours), so such an object is sent whole.
 */
function hasInjectionKey(keys: readonly string[]): boolean {
  for (const key of keys) if (mayBeInjectionKey(key) && isInjectionKey(key)) return true;
  return false;
}

/** `$…`, `__proto__`, `constructor`, `prototype`: a look at the first character spares most keys the expression. */
function mayBeInjectionKey(key: string): boolean {
  const c = key.charCodeAt(0);
  return c === 36 || c === 95 || c === 99 || c === 112; // $ _ c p
}

/** How deep, and how long, such an object is written out. */
const MAX_SHAPE_DEPTH = 3;

/**
 * The object as compact JSON: keys as sent, null and booleans as they are, strings and numbers through `leaf`
 * (redacted and cut; under a sensitive key hidden, while the keys, the operators that make the attack, still show);
 * deeper than MAX_SHAPE_DEPTH, `{…}`. `keys` is where `node` sits in the body: the value of a key that `secret` says
 * is sensitive, by name or by a configured path, is written `"[REDACTED]"` however deep, as everywhere in inspection.
 */
function shapeOf(
  node: unknown,
  keys: readonly string[],
  leaf: (value: string | number) => FieldValue,
  secret: (keys: readonly string[]) => boolean,
  depth = 0,
  ownKeys?: readonly string[],
): string {
  if (typeof node === 'string' || typeof node === 'number') return JSON.stringify(leaf(node));
  if (typeof node === 'boolean' || node === null) return JSON.stringify(node);
  if (typeof node !== 'object' || depth >= MAX_SHAPE_DEPTH) return Array.isArray(node) ? '[…]' : '{…}';
  if (Array.isArray(node)) {
    return `[${node
      .slice(0, MAX_ARRAY_ITEMS)
      .map((item, i) => shapeOf(item, [...keys, String(i)], leaf, secret, depth + 1))
      .join(',')}]`;
  }
  const entries = (ownKeys ?? Object.keys(node as object)).slice(0, MAX_ARRAY_ITEMS).map((k) => {
    const path = [...keys, k];
    const value = secret(path)
      ? JSON.stringify(REDACTED)
      : shapeOf((node as Record<string, unknown>)[k], path, leaf, secret, depth + 1);
    return `${JSON.stringify(k)}:${value}`;
  });
  return `{${entries.join(',')}}`;
}

/** Every operand of an operator object under a sensitive key. */
const hide = (): FieldValue => REDACTED;

/** A key as a field-name segment: cut, its characters outside `[A-Za-z0-9_-]` as `_`. */
function segment(key: string): string {
  return safeSegment(key.slice(0, MAX_SEGMENT_CHARS));
}

function safeSegment(s: string): string {
  const safe = s.replace(UNSAFE_SEGMENT_CHARS, '_');
  return safe.length > 0 ? safe : '_';
}

/**
 * A key as the field-name segment it is sent as: redacted as a value is first, since a key is input too and field
 * names are not redacted after this (a query parameter without `=` is all key: `?4111111111111111`, `?eyJ...`, a
 * token; url.query hides it), then as `segment` makes it. Only as many characters are read as the segment keeps.
 */
function sentSegment(key: string, redactor: Redactor): string {
  return safeSegment(redactor.prefix(key, MAX_SEGMENT_CHARS).text);
}

/**
 * Collect the inspected values of one request. Returns flat fields ready for the event, already decided and
 * redacted here: names the collector takes, and each value `[REDACTED]`, or a string / number / boolean / string
 * list redacted, neutralised and cut. They are written as they are, not judged by their names again: an operator
 * object under a sensitive key is sent on purpose, with its operands hidden.
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
   * A value redacted and cut, reading no more of it than the cut needs (`Redactor.prefix`): a card number, token or
   * pair across the cut is hidden as if the whole value had been redacted (cut first naively, it would lose the part
   * its pattern needs, and the rest of it would be sent: the event's own redaction pass sees only what is left).
   */
  const cut = (s: string) => {
    const { text, cut } = redactor.prefix(s, limits.maxValueChars);
    if (cut) truncated = true;
    return text;
  };
  /** `items` without what is past `max`, noting that something was. */
  const first = <T>(items: readonly T[], max: number): readonly T[] => {
    if (items.length <= max) return items;
    truncated = true;
    return items.slice(0, max);
  };

  /** Each key's sentSegment, once per request: a key is judged by it and named by it, and a body's keys come again. */
  const segments = new Map<string, string>();
  const sent = (key: string): string => {
    let s = segments.get(key);
    if (s === undefined) {
      s = sentSegment(key, redactor);
      segments.set(key, s);
    }
    return s;
  };
  /**
   * True when the last of the original keys names a secret: by name (`user[password]`, `X-Api-Key`), as a field name
   * segment with and without its redaction (`api:key` is sent as `api_key`; `pass:word`, redacted as a pair, as
   * `pass__REDACTED_`, but it reads `pass_word`), or with the keys before it, by a configured dotted path. The keys
   * before it were judged on the way down.
   */
  const secret = (keys: readonly string[]): boolean => {
    const key = keys[keys.length - 1] ?? '';
    return (
      redactor.isSensitiveKey(key) ||
      redactor.isSensitiveKey(segment(key)) ||
      redactor.isSensitiveKey(sent(key)) ||
      redactor.isSensitivePath(keys.join('.'))
    );
  };
  /** `vigil.inspect.<location>.<keys as segments>`. */
  const fieldName = (location: string, keys: readonly string[]): string =>
    `${INSPECT_PREFIX}.${location}.${keys.map(sent).join('.')}`;
  /** A number as any field's: a card number sent as a JSON number is redacted. */
  const number = (value: number): FieldValue => redactor.value(value) as FieldValue;
  /** A string or number inside an operator object, as it would be as a field of its own. */
  const operand = (value: string | number): FieldValue => (typeof value === 'string' ? cut(value) : number(value));

  /**
   * `location` and `keys` (the original keys, for the redaction decision) → one field. `shaped`: the value is an
   * object written out with its secrets already hidden (see shapeOf), sent even under a sensitive key. `name`: the
   * field name, when the caller has it already.
   */
  const add = (
    location: string,
    keys: readonly string[],
    value: unknown,
    shaped = false,
    name = fieldName(location, keys),
  ): void => {
    if (full()) {
      truncated = true;
      return;
    }
    // A name already sent (two keys sent alike: `q:x` and `q_x`, two keys redacted alike) or too long: the value is
    // left out, and marked, or a payload could hide behind a harmless value of the same field name.
    if (name in out || name.length > MAX_FIELD_NAME_LENGTH) {
      truncated = true;
      return;
    }
    if (!shaped && secret(keys)) {
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
      field = number(value);
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
    const query = input.query;
    // Read as URLSearchParams reads it (split at `&`, then at the first `=`), but only as far as the limits go, and
    // each value kept decoded only as far as the value cut reads it.
    const values = new Map<string, string[]>();
    const maxParameters = limits.maxFields * QUERY_PARAMETERS_PER_FIELD;
    const maxRawChars = rawCharsFor(limits.maxValueChars);
    let parameters = 0;
    for (let from = 0; from <= query.length; ) {
      let to = query.indexOf('&', from);
      if (to === -1) to = query.length;
      if (to > from) {
        if (++parameters > maxParameters) {
          truncated = true;
          break;
        }
        let eq = from;
        while (eq < to && query.charCodeAt(eq) !== 61) eq++; // =
        const key = decodeQueryComponent(query.slice(from, eq));
        let list = values.get(key);
        if (list === undefined && values.size < limits.maxFields) {
          list = [];
          values.set(key, list);
        }
        // One more than a list keeps, so that `first` says it was cut.
        if (list === undefined || list.length > MAX_ARRAY_ITEMS) truncated = true;
        else list.push(eq < to ? decodeQueryComponent(query.slice(eq + 1, Math.min(to, eq + 1 + maxRawChars))) : '');
      }
      from = to + 1;
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
    let nodes = limits.maxFields * BODY_NODES_PER_FIELD;
    /** True once the limits are reached, or the allowance of nodes looked at is spent. */
    const done = (): boolean => {
      if (!full() && nodes-- > 0) return false;
      truncated = true;
      return true;
    };
    const walk = (node: unknown, keys: string[], depth: number): void => {
      if (full()) {
        truncated = true;
        return;
      }
      // Only the items walked are looked at: an array of values whose later items are objects is a list.
      if (Array.isArray(node) && (keys.length === 0 || node.slice(0, MAX_ARRAY_ITEMS).some(isObject))) {
        // An array of objects, or the body itself an array: walk its first items by index (`body.0`).
        if (depth >= MAX_BODY_DEPTH) {
          truncated = true;
          return;
        }
        for (const [i, item] of first(node, MAX_ARRAY_ITEMS).entries()) {
          if (done()) return;
          walk(item, [...keys, String(i)], depth + 1);
        }
        return;
      }
      const record = Array.isArray(node) ? undefined : asRecord(node);
      if (!record) {
        if (keys.length > 0) add('body', keys, node);
        return;
      }
      // Listed once: a large object's keys take time to list, about 0.15 µs each.
      const recordKeys = Object.keys(record);
      if (keys.length > 0 && hasInjectionKey(recordKeys)) {
        add('body', keys, shapeOf(record, keys, operand, secret, 0, recordKeys), true);
        return;
      }
      if (depth >= MAX_BODY_DEPTH) {
        truncated = true;
        return;
      }
      for (const key of recordKeys) {
        if (done()) return;
        const child = [...keys, key];
        const value = record[key];
        // A value under a name already sent, or too long to be sent, gives nothing but the mark that something was
        // left out: it is not judged (a long key takes time to judge, and is not remembered). An object may still
        // give fields under longer names.
        const name = isObject(value) ? undefined : fieldName('body', child);
        if (name !== undefined && (name in out || name.length > MAX_FIELD_NAME_LENGTH)) {
          truncated = true;
          continue;
        }
        // A sensitive key (or a configured path) is never walked into: its whole subtree is one redacted field,
        // except for an operator object (`"password": {"$ne": null}`), whose keys show with every string and
        // number hidden (`hideOperands` at the collector keeps exactly that).
        if (secret(child)) {
          const operators = asRecord(value);
          const operatorKeys = operators ? Object.keys(operators) : [];
          if (operators && hasInjectionKey(operatorKeys))
            add('body', child, shapeOf(operators, child, hide, secret, 0, operatorKeys), true);
          else add('body', child, REDACTED, false, name);
        } else if (name !== undefined) add('body', child, value, false, name);
        else walk(value, child, depth + 1);
      }
    };
    walk(body, [], 0);
  }
  if (truncated) out[Field.inspectionTruncated] = true;
  return out;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

/**
 * Characters of a raw query value that decode to more than `Redactor.prefix` reads of it (`maxValueChars` plus its
 * margin, and two more, so that an escape or a UTF-8 sequence cut at the end is past what is read): a character takes
 * at most 6 (half of a 4-byte UTF-8 sequence written as escapes).
 */
function rawCharsFor(maxValueChars: number): number {
  return 6 * (maxValueChars + PREFIX_MARGIN_CHARS + 2);
}

/**
 * A query component decoded exactly as URLSearchParams decodes it (`+` a space, `%XX` UTF-8 bytes, a malformed escape
 * as it is, bytes that are not UTF-8 and lone surrogates as U+FFFD); one without `%`, `+` or a surrogate is itself.
 */
function decodeQueryComponent(raw: string): string {
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return decodeAsUrlSearchParams(raw);
    if (c === 37 || c === 43) escaped = true;
  }
  if (!escaped) return raw;
  // Where every escape is UTF-8, decodeURIComponent decodes alike, at a fraction of the cost; it throws otherwise.
  try {
    return decodeURIComponent(raw.includes('+') ? raw.replace(PLUS, ' ') : raw);
  } catch {
    return decodeAsUrlSearchParams(raw);
  }
}

const PLUS = /\+/g;

function decodeAsUrlSearchParams(raw: string): string {
  for (const [, value] of new URLSearchParams(`=${raw}`)) return value;
  return '';
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return undefined;
  return value as Record<string, unknown>;
}
