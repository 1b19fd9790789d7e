/**
 * Event lines are written as JSON text directly, key by key, instead of building an object with dotted keys and
 * stringifying it: events are flat objects of strings, numbers, booleans and string lists, and the request path pays
 * for this on every request. An event is assembled from fragments — `,"name":value` pairs — so the part of a
 * request's metadata known when it starts is encoded once, and reused by every event of that request.
 *
 * Every value goes through the redactor here, exactly as `Redactor.fields` would treat it: a field whose name is
 * sensitive (built in, or configured) is `[REDACTED]`, strings are redacted, neutralised and cut, non-finite numbers
 * are dropped.
 */
import { type FieldValue, memoByKey } from '@vigil/schema';
import { REDACTED, type Redactor } from './redact.js';

/** A field name prepared for encoding: its `,"name":` prefix, and whether its value is always redacted. */
export interface FieldKey {
  readonly prefix: string;
  readonly sensitive: boolean;
  /** Encoded fragments of recent values, for fields whose values repeat from request to request. */
  readonly recent?: Map<string, string>;
}

/** Values remembered per cached field; past this the memory starts over. */
const MAX_RECENT_VALUES = 256;
/** Longer values are encoded each time (they are rarely repeated, and would make the memory large). */
const MAX_RECENT_VALUE_LENGTH = 512;

/**
 * A field name as a JSON string; the names events use are few, so each is quoted once. Inspected parameters make
 * names from what a request sends: the memo keeps the names in use however many others arrive (see memoByKey).
 */
export const quote: (key: string) => string = memoByKey((key) => JSON.stringify(key));

/** A string as JSON: printable ASCII without quotes or backslashes is written as it is, the rest by JSON.stringify. */
export function jsonString(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(value);
  }
  return `"${value}"`;
}

/** A field value as JSON. Finite numbers print the same either way (the redactor drops NaN and infinities). */
export function jsonValue(value: FieldValue | undefined): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? 'null';
}

/** Encodes field values into fragments, with one redactor's rules. */
export class FieldEncoder {
  /** A field name, prepared once (keep the result for the names a hot path writes on every call). */
  readonly key: (name: string) => FieldKey;

  constructor(private readonly redactor: Redactor) {
    this.key = memoByKey((name) => ({ prefix: `,${quote(name)}:`, sensitive: redactor.isSensitivePath(name) }));
  }

  /**
   * A field whose values repeat from request to request (user agent, route, client address): the fragment of each
   * recent value is kept, so a repeated value costs a map lookup instead of the redactor's scans. Redaction depends
   * only on the value, so a kept fragment is what encoding it again would give.
   */
  repeatedKey(name: string): FieldKey {
    return { ...this.key(name), recent: new Map() };
  }

  /** `,"name":"value"`, the value redacted. */
  string(key: FieldKey, value: string): string {
    const recent = key.recent;
    if (recent === undefined) return this.encode(key, value);
    let fragment = recent.get(value);
    if (fragment === undefined) {
      fragment = this.encode(key, value);
      if (value.length <= MAX_RECENT_VALUE_LENGTH) {
        if (recent.size >= MAX_RECENT_VALUES) recent.clear();
        recent.set(value, fragment);
      }
    }
    return fragment;
  }

  private encode(key: FieldKey, value: string): string {
    return this.redacted(key, key.sensitive ? value : this.redactor.string(value));
  }

  /** `,"name":"value"` for a value the redactor already saw (`Redactor.query`, `Redactor.string`). */
  redacted(key: FieldKey, value: string): string {
    return `${key.prefix}${key.sensitive ? `"${REDACTED}"` : jsonString(value)}`;
  }

  /** `,"name":n`; nothing for a number that is not finite. */
  number(key: FieldKey, value: number): string {
    if (!Number.isFinite(value)) return '';
    return `${key.prefix}${key.sensitive ? `"${REDACTED}"` : String(value)}`;
  }

  /** `,"name":true` or `false`. */
  boolean(key: FieldKey, value: boolean): string {
    return `${key.prefix}${key.sensitive ? `"${REDACTED}"` : String(value)}`;
  }

  /** `,"name":seconds`, with microsecond precision. */
  seconds(key: FieldKey, value: number): string {
    return `${key.prefix}${key.sensitive ? `"${REDACTED}"` : seconds(value)}`;
  }

  /** `,"name":["a","b"]`, each item redacted. */
  strings(key: FieldKey, values: readonly string[]): string {
    if (key.sensitive) return `${key.prefix}"${REDACTED}"`;
    let out = '';
    for (const v of values) out += `${out === '' ? '' : ','}${jsonString(this.redactor.string(v))}`;
    return `${key.prefix}[${out}]`;
  }

  /** Fields already redacted (by `Redactor.fields`, or by parameter inspection), as a fragment. */
  fields(fields: Readonly<Record<string, FieldValue>>): string {
    let out = '';
    for (const name in fields) out += `,${quote(name)}:${jsonValue(fields[name])}`;
    return out;
  }
}

/**
 * Seconds as JSON with microsecond precision (`0.004021`), written from integers: formatting a fractional double
 * costs several times as much, on every request.
 */
export function seconds(value: number): string {
  const micros = Math.max(0, Math.round(value * 1e6));
  if (!Number.isSafeInteger(micros)) return '0';
  const fraction = micros % 1_000_000;
  return `${(micros - fraction) / 1_000_000}.${fraction < 100_000 ? String(fraction).padStart(6, '0') : fraction}`;
}
