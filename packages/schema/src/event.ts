/**
 * The one definition of a Vigil security event, and its parsing from the wire.
 *
 * On the wire an event is a JSON object with `time`, `type` and fields under their dotted names, flat
 * (`"client.address": "203.0.113.7"`) or nested (`"client": {"address": ...}`). Inside Vigil and in the API's
 * canonical form it is always flat.
 */
import { FIELDS_BY_NAME, type FieldValue } from './fields.js';
import { isoTime, uuidv7 } from './id.js';
import { defaultRedactor } from './redact.js';
import { EVENT_TYPES_BY_NAME, isKnownEventType } from './vocabulary.js';
import { MAX_FIELD_NAME_LENGTH, neutralise, PARSE_DEFAULTS } from './wire.js';

export { hasControlChars, MAX_FIELD_NAME_LENGTH, neutralise, PARSE_DEFAULTS } from './wire.js';

export interface SecurityEvent {
  /** Unique id: the sender's if it gave one, otherwise assigned at ingest. */
  readonly id: string;
  /** Event time in epoch milliseconds: when it happened at the source, not when Vigil received it. */
  readonly time: number;
  readonly type: string;
  /** Fields under their dotted names (see FIELDS). */
  readonly attributes: Readonly<Record<string, FieldValue>>;
}

/** The API's canonical JSON form: flat, `time` as RFC 3339 UTC with milliseconds. */
export interface CanonicalEvent {
  id: string;
  time: string;
  type: string;
  [field: string]: FieldValue;
}

export interface ValidationIssue {
  /** Dotted field name the problem is about (`time`, `client.port`...), or `(event)` for the whole object. */
  readonly field: string;
  /** Stable machine code: `missing`, `wrong_type`, `invalid_value`, `unknown_type`, `too_many_fields`... */
  readonly code: string;
  readonly message: string;
}

export type ParseResult = { ok: true; event: SecurityEvent } | { ok: false; issues: ValidationIssue[] };

export interface ParseOptions {
  /** Wall-clock now in epoch ms, for the future-skew check. */
  readonly now?: number;
  /** Events further than this in the future are rejected (clock skew bound). Default 5 minutes. */
  readonly maxFutureSkewMillis?: number;
  /** Longer strings are cut to this length and the event is marked `vigil.truncated`. Default 8192. */
  readonly maxStringLength?: number;
  /** At most this many fields per event. Default 200. */
  readonly maxFields?: number;
  /** Id for events that carry none. Default: a random UUID. */
  readonly newId?: () => string;
}

/** Earliest event time accepted: 2000-01-01T00:00:00Z. Anything before is a unit mistake (seconds, not ms). */
const MIN_TIME_MILLIS = 946_684_800_000;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

/** Whether `name` is spelled as a field name: dotted words of letters, digits, `_` and `-`, not starting with a digit. */
export function isFieldName(name: string): boolean {
  return FIELD_NAME.test(name);
}
const EVENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_ARRAY_LENGTH = 64;
/** Parse an RFC 3339 string or epoch milliseconds into epoch milliseconds; undefined when it is neither. */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  const parts = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!parts) return undefined;
  // Date.parse rolls impossible dates forward (02-30 becomes 03-02, 24:00 the next day); RFC 3339 allows neither.
  const [, year, month, day, hour] = parts.map(Number);
  if (hour! > 23 || day! > new Date(Date.UTC(year!, month!, 0)).getUTCDate()) return undefined;
  const millis = Date.parse(parts[0].replace(' ', 'T'));
  return Number.isNaN(millis) ? undefined : millis;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Nesting `flatten` follows; deeper objects stay whole (and are refused as a field's value, one event alone). */
const MAX_FLATTEN_DEPTH = 32;

/**
 * Flatten nested objects into dotted keys: `{client: {address: "x"}}` → `{"client.address": "x"}`.
 * Arrays are leaves. Keys already dotted are kept as they are, so flat and nested input mix freely.
 */
export function flatten(input: Record<string, unknown>, prefix = '', out: Record<string, unknown> = {}, depth = 0) {
  for (const key of Object.keys(input)) {
    const value = input[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(value) && depth < MAX_FLATTEN_DEPTH) flatten(value, name, out, depth + 1);
    else out[name] = value;
  }
  return out;
}

function checkValue(name: string, raw: unknown, maxStringLength: number, issues: ValidationIssue[]) {
  const definition = FIELDS_BY_NAME.get(name);
  const fail = (message: string) => {
    issues.push({ field: name, code: 'wrong_type', message });
    return undefined;
  };
  const cut = (s: string) => neutralise(s.length > maxStringLength ? s.slice(0, maxStringLength) : s);
  if (definition) {
    switch (definition.type) {
      case 'string':
        return typeof raw === 'string' ? cut(raw) : fail(`must be a string, got ${describe(raw)}`);
      case 'integer':
        return typeof raw === 'number' && Number.isSafeInteger(raw)
          ? raw
          : fail(`must be an integer, got ${describe(raw)}`);
      case 'number':
        return typeof raw === 'number' && Number.isFinite(raw) ? raw : fail(`must be a number, got ${describe(raw)}`);
      case 'boolean':
        return typeof raw === 'boolean' ? raw : fail(`must be true or false, got ${describe(raw)}`);
      case 'string[]':
        if (typeof raw === 'string') return [cut(raw)];
        if (Array.isArray(raw) && raw.length <= MAX_ARRAY_LENGTH && raw.every((x) => typeof x === 'string')) {
          return raw.map(cut);
        }
        return fail(`must be an array of at most ${MAX_ARRAY_LENGTH} strings, got ${describe(raw)}`);
    }
  }
  // Fields Vigil does not know are kept when they are scalars or short string arrays.
  if (typeof raw === 'string') return cut(raw);
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : fail('must be a finite number');
  if (Array.isArray(raw) && raw.length <= MAX_ARRAY_LENGTH && raw.every((x) => typeof x === 'string')) {
    return raw.map(cut);
  }
  return fail(`must be a string, number, boolean or array of strings, got ${describe(raw)}`);
}

/** Characters of a wrong string quoted in a rejection message, redacted: enough to recognise the mistake. */
const QUOTED_CHARS = 20;

/**
 * What a rejected value is, for the message. A string is quoted, redacted: a message goes back to the sender and
 * into the logs of tools that forward events (`vigil ingest`, the SDK's warnings), and a token sent in the wrong
 * field is still a token.
 */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const quoted = defaultRedactor().prefix(value, QUOTED_CHARS);
    return `a string ("${quoted.text}${quoted.cut ? '...' : ''}")`;
  }
  return `a ${typeof value}`;
}

/**
 * Validate one event from the wire and turn it into a SecurityEvent. Errors name the field and the problem.
 *
 * @example
 * const r = parseEvent({ time: '2026-11-02T10:00:00Z', type: 'authn_login_fail', client: { address: '203.0.113.7' } });
 * if (r.ok) r.event.attributes['client.address']; // '203.0.113.7'
 */
export function parseEvent(input: unknown, options: ParseOptions = {}): ParseResult {
  if (!isPlainObject(input)) {
    return {
      ok: false,
      issues: [{ field: '(event)', code: 'not_an_object', message: 'an event must be a JSON object' }],
    };
  }
  const maxStringLength = options.maxStringLength ?? PARSE_DEFAULTS.maxStringLength;
  const maxFields = options.maxFields ?? PARSE_DEFAULTS.maxFields;
  const flat = flatten(input);
  const issues: ValidationIssue[] = [];

  const time = parseTime(flat.time);
  if (flat.time === undefined) {
    issues.push({ field: 'time', code: 'missing', message: 'required: RFC 3339 string or epoch milliseconds' });
  } else if (time === undefined) {
    issues.push({
      field: 'time',
      code: typeof flat.time === 'string' || typeof flat.time === 'number' ? 'invalid_value' : 'wrong_type',
      message: `must be an RFC 3339 string or epoch milliseconds, got ${describe(flat.time)}`,
    });
  } else {
    const now = options.now ?? Date.now();
    const skew = options.maxFutureSkewMillis ?? PARSE_DEFAULTS.maxFutureSkewMillis;
    if (time < MIN_TIME_MILLIS) {
      issues.push({
        field: 'time',
        code: 'invalid_value',
        message: 'is before 2000-01-01 (seconds sent as milliseconds?)',
      });
    } else if (time > now + skew) {
      issues.push({ field: 'time', code: 'invalid_value', message: `is more than ${skew / 1000} s in the future` });
    }
  }

  const type = flat.type;
  if (type === undefined) {
    issues.push({ field: 'type', code: 'missing', message: 'required: an OWASP vocabulary name or a Vigil extension' });
  } else if (typeof type !== 'string') {
    issues.push({ field: 'type', code: 'wrong_type', message: `must be a string, got ${describe(type)}` });
  } else if (!isKnownEventType(type)) {
    issues.push({
      field: 'type',
      code: 'unknown_type',
      message: `unknown event type "${neutralise(type.slice(0, 64))}": see docs/events.md; custom types start with "x_"`,
    });
  }

  let id: string | undefined;
  if (flat.id !== undefined) {
    if (typeof flat.id === 'string' && EVENT_ID.test(flat.id)) id = flat.id;
    else
      issues.push({ field: 'id', code: 'invalid_value', message: 'must be 1-128 characters of A-Z a-z 0-9 . _ : -' });
  }

  const attributes: Record<string, FieldValue> = {};
  let count = 0;
  let truncated = false;
  for (const name of Object.keys(flat)) {
    if (name === 'time' || name === 'type' || name === 'id') continue;
    const raw = flat[name];
    if (raw === null || raw === undefined) continue; // absent and null mean the same: not known
    if (++count > maxFields) {
      issues.push({ field: '(event)', code: 'too_many_fields', message: `has more than ${maxFields} fields` });
      break;
    }
    if (name.length > MAX_FIELD_NAME_LENGTH || !isFieldName(name)) {
      issues.push({
        field: neutralise(name.slice(0, MAX_FIELD_NAME_LENGTH)),
        code: 'invalid_name',
        message: 'field names are dotted words of letters, digits, "_" and "-"',
      });
      continue;
    }
    const value = checkValue(name, raw, maxStringLength, issues);
    if (value === undefined) continue;
    // string[] values are cut element by element, so an array can be truncated too.
    if ((Array.isArray(raw) ? raw : [raw]).some((x) => typeof x === 'string' && x.length > maxStringLength)) {
      truncated = true;
    }
    attributes[name] = value;
  }
  if (truncated) attributes['vigil.truncated'] = true;

  if (typeof type === 'string') {
    const definition = EVENT_TYPES_BY_NAME.get(type);
    for (const a of definition?.args ?? []) {
      if (a.required && attributes[a.field] === undefined && !issues.some((i) => i.field === a.field)) {
        issues.push({ field: a.field, code: 'missing', message: `required for ${type} (argument "${a.name}")` });
      }
    }
  }

  if (issues.length > 0 || time === undefined || typeof type !== 'string') return { ok: false, issues };
  return { ok: true, event: { id: id ?? (options.newId ?? randomId)(), time, type, attributes } };
}

function randomId(): string {
  return uuidv7();
}

/** The API's canonical form of an event. */
export function toCanonical(event: SecurityEvent): CanonicalEvent {
  return { ...event.attributes, id: event.id, time: isoTime(event.time), type: event.type };
}
