/**
 * OTLP/HTTP ingest (`POST /v1/logs`, `POST /v1/traces`), JSON and protobuf, per the OTLP 1.x specification.
 *
 * - A log record carrying an OWASP vocabulary event (its `eventName`, an `event.name` attribute, or a body such
 *   as `"authn_login_fail:alice"` or `{"event": "authn_login_fail:alice"}`) becomes that security event.
 * - A log record or a SERVER span with HTTP semantic-convention attributes becomes an `http_request` event;
 *   a span's events named after vocabulary types become security events attached to that request.
 * - Everything else is not a security event: it is skipped and counted, not rejected.
 *
 * Attributes are mapped to Vigil's field names, including the older HTTP semantic conventions
 * (`http.method`, `http.status_code`, `http.target`, `net.peer.ip`...) still emitted by many SDKs.
 */
import {
  approximateFieldsSize,
  EVENT_TYPES_BY_NAME,
  FIELDS_BY_NAME,
  Field,
  isFieldName,
  isKnownEventType,
  PARSE_DEFAULTS,
  type ValidationIssue,
} from '@vigil/schema';
import { jsonSyntaxProblem, VigilError } from '../errors.js';
import type { Rejection } from '../pipeline/pipeline.js';
import { decodeLogsRequest, decodeTraceRequest, ProtobufError } from './protobuf.js';

type Json = Record<string, unknown>;
type WireEvent = Record<string, unknown>;

/** Older semantic-convention names → the current ones Vigil stores. */
const ALIASES: Record<string, string> = {
  'http.method': Field.httpRequestMethod,
  'http.status_code': Field.httpResponseStatusCode,
  'http.url': Field.urlFull,
  'http.scheme': Field.urlScheme,
  'http.client_ip': Field.clientAddress,
  'http.user_agent': Field.userAgentOriginal,
  'http.flavor': Field.networkProtocolVersion,
  'http.request_content_length': Field.httpRequestBodySize,
  'http.response_content_length': Field.httpResponseBodySize,
  'net.peer.ip': Field.networkPeerAddress,
  'net.sock.peer.addr': Field.networkPeerAddress,
  'net.host.name': Field.serverAddress,
  'net.host.port': Field.serverPort,
  'enduser.id': Field.userId,
  'exception.type': Field.errorType,
};

export type OtlpSignal = 'logs' | 'traces';

export interface OtlpBatch {
  /** Wire events for the pipeline; a slot is undefined where the mapping itself rejected the item (see `rejected`). */
  readonly items: (WireEvent | undefined)[];
  /** Items refused before validation (an id that is not hex), by index in `items`. */
  readonly rejected: Rejection[];
  /**
   * For each item, the log record or span it came from (their order in the request): one span can make several
   * events, and OTLP's `rejected_spans` counts spans.
   */
  readonly origins: number[];
  /** Records that were not security events (skipped, not rejected). */
  readonly skipped: number;
  /** Fields left out of events that had more than an event may hold (see `fitFields`). */
  readonly droppedFields: number;
}

/** How many log records or spans the rejected items came from: what `partialSuccess` reports. */
export function rejectedOrigins(batch: OtlpBatch, rejected: readonly Rejection[]): number {
  return new Set(rejected.map((r) => batch.origins[r.index])).size;
}

/** Decode a request body (JSON or protobuf) into its OTLP/JSON object shape. */
export function decodeOtlpBody(signal: OtlpSignal, body: Buffer, mediaType: string): Json {
  if (mediaType === 'application/x-protobuf' || mediaType === 'application/protobuf') {
    try {
      return signal === 'logs' ? decodeLogsRequest(body) : decodeTraceRequest(body);
    } catch (error) {
      if (error instanceof ProtobufError) throw new VigilError('malformed_protobuf', error.message);
      throw error;
    }
  }
  if (mediaType !== 'application/json') {
    throw new VigilError(
      'unsupported_media_type',
      `Content-Type "${mediaType}" is not accepted on OTLP routes: use application/json or application/x-protobuf`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new VigilError('malformed_json', `malformed OTLP JSON: ${jsonSyntaxProblem(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new VigilError('malformed_json', 'an OTLP request must be a JSON object');
  }
  return parsed as Json;
}

// OTLP/JSON receivers must accept lowerCamelCase and may accept the proto field names; both are read here.
function get(o: Json | undefined, camel: string, snake?: string): unknown {
  if (!o) return undefined;
  return o[camel] ?? (snake ? o[snake] : undefined);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value.filter((x) => typeof x === 'object' && x !== null) as Json[]) : [];
}

/** How deep kvlists and arrays are read: an attribute nested deeper is no event field (and the stack is bounded). */
const MAX_VALUE_DEPTH = 16;

/** AnyValue → a plain value (kvlists become objects, which the schema flattens to dotted names). */
export function anyValue(value: unknown, depth = 0): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_VALUE_DEPTH) return undefined;
  const v = value as Json;
  if ('stringValue' in v || 'string_value' in v) return get(v, 'stringValue', 'string_value');
  if ('boolValue' in v || 'bool_value' in v) return Boolean(get(v, 'boolValue', 'bool_value'));
  if ('intValue' in v || 'int_value' in v) {
    const n = Number(get(v, 'intValue', 'int_value'));
    return Number.isSafeInteger(n) ? n : String(get(v, 'intValue', 'int_value'));
  }
  if ('doubleValue' in v || 'double_value' in v) return Number(get(v, 'doubleValue', 'double_value'));
  const array = get(v, 'arrayValue', 'array_value') as Json | undefined;
  if (array)
    return list(array.values).map((x) => {
      const inner = anyValue(x, depth + 1);
      return typeof inner === 'string' ? inner : JSON.stringify(inner);
    });
  const kv = get(v, 'kvlistValue', 'kvlist_value') as Json | undefined;
  if (kv) return attributesToObject(list(kv.values), depth + 1);
  if ('bytesValue' in v || 'bytes_value' in v) return bytesValue(get(v, 'bytesValue', 'bytes_value'));
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A bytes value (base64 in OTLP/JSON, and as the protobuf decoder gives it): its text when the bytes are UTF-8, so
 * that redaction reads what they say (`token=...` sent as bytes is hidden like any string); otherwise the base64,
 * which a redaction pattern cannot read into, but then the bytes held no text.
 */
function bytesValue(value: unknown): string {
  const base64 = String(value);
  try {
    return utf8.decode(Buffer.from(base64, 'base64'));
  } catch {
    return base64;
  }
}

const NOT_NAME_CHARACTERS = /[^A-Za-z0-9_-]+/g;

/**
 * An attribute key as a Vigil field name: OpenTelemetry allows any string (a Kubernetes label copied by the
 * Collector is `k8s.pod.labels.app.kubernetes.io/name`), a field name only letters, digits, `_` and `-` between dots.
 * Each run of other characters becomes `_`, an empty segment `_`, and a name that starts with a digit or `-` gets a
 * `_` in front: `k8s.pod.labels.app.kubernetes.io_name`. Refused as it was, the name took its whole span with it.
 */
export function attributeFieldName(key: string): string {
  if (isFieldName(key)) return key;
  const name = key
    .split('.')
    .map((s) => s.replace(NOT_NAME_CHARACTERS, '_') || '_')
    .join('.');
  return isFieldName(name) ? name : `_${name}`;
}

function attributesToObject(attributes: Json[], depth = 0): Json {
  const out: Json = {};
  // Names that hold a renamed key's value; made only when a key is renamed, which most requests never need.
  let renamed: Set<string> | undefined;
  for (const kv of attributes) {
    const key = kv.key;
    if (typeof key !== 'string' || key === '') continue;
    const value = anyValue(kv.value, depth);
    if (value === undefined) continue;
    const name = attributeFieldName(key);
    // A key that is a field name as sent wins over one renamed to it.
    if (name === key) {
      out[key] = value;
      renamed?.delete(key);
    } else if (out[name] === undefined || renamed?.has(name)) {
      out[name] = value;
      renamed ??= new Set();
      renamed.add(name);
    }
  }
  return out;
}

/** Map attribute names to Vigil fields and derive what the older conventions only imply. */
function mapAttributes(attrs: Json, into: WireEvent): void {
  for (const [key, value] of Object.entries(attrs)) {
    const field = ALIASES[key] ?? key;
    if (into[field] === undefined) into[field] = value;
  }
  const target = attrs['http.target'];
  if (typeof target === 'string' && into[Field.urlPath] === undefined) {
    const q = target.indexOf('?');
    into[Field.urlPath] = q === -1 ? target : target.slice(0, q);
    if (q !== -1 && into[Field.urlQuery] === undefined) into[Field.urlQuery] = target.slice(q + 1);
  }
  // The stable conventions name a method outside the registry `_OTHER` and keep what was sent beside it: an unusual
  // method is what a security log wants to see.
  const original = attrs['http.request.method_original'];
  if (into[Field.httpRequestMethod] === '_OTHER' && typeof original === 'string' && original !== '') {
    into[Field.httpRequestMethod] = original;
  }
  // `http.host` (older conventions) is the Host header: `server.address`, and its port when it names one.
  const host = attrs['http.host'];
  if (typeof host === 'string' && into[Field.serverAddress] === undefined) {
    const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host);
    if (hostPort) {
      into[Field.serverAddress] = hostPort[1];
      if (hostPort[2] !== undefined && into[Field.serverPort] === undefined)
        into[Field.serverPort] = Number(hostPort[2]);
    }
  }
  const role = attrs['enduser.role'];
  if (typeof role === 'string' && into[Field.userRoles] === undefined) into[Field.userRoles] = role.split(/[\s,]+/);
  // Without client.address the immediate peer is the best we know (it may be a proxy).
  if (into[Field.clientAddress] === undefined && typeof into[Field.networkPeerAddress] === 'string') {
    into[Field.clientAddress] = into[Field.networkPeerAddress];
  }
}

function nanosToMillis(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === '0' || value === 0) return undefined;
  try {
    return Number(BigInt(typeof value === 'number' ? Math.trunc(value) : String(value)) / 1_000_000n);
  } catch {
    return undefined;
  }
}

const VOCABULARY_TEXT = /^([a-z][a-z0-9_]{2,63})(?::(.*))?$/;

/** An OWASP-style "type:arg1,arg2" text, with the arguments mapped to fields in catalogue order. */
function vocabularyFromText(text: string): { type: string; fields: WireEvent } | undefined {
  const match = VOCABULARY_TEXT.exec(text.trim());
  if (!match || !isKnownEventType(match[1]!)) return undefined;
  const type = match[1]!;
  const fields: WireEvent = {};
  const args = EVENT_TYPES_BY_NAME.get(type)?.args ?? [];
  if (match[2]) {
    match[2].split(',').forEach((value, i) => {
      const arg = args[i];
      if (arg && value.trim() !== '') fields[arg.field] = value.trim();
    });
  }
  return { type, fields };
}

function isHttpServerRequest(event: WireEvent): boolean {
  return typeof event[Field.httpRequestMethod] === 'string';
}

function resourceFields(resource: unknown): WireEvent {
  const out: WireEvent = {};
  mapAttributes(attributesToObject(list(get(resource as Json, 'attributes'))), out);
  return out;
}

const ALL_ZEROS = /^0+$/;

/**
 * A trace or span id (hex in OTLP/JSON, and as the protobuf decoder gives bytes) into `into`. All zeros, like an empty
 * id, means none. Anything else that is not 32 (16) hex digits is refused rather than stored as a wrong id: the
 * generic protobuf JSON mapping writes bytes as base64, which OTLP/JSON does not.
 */
function copyId(value: unknown, name: 'traceId' | 'spanId', into: WireEvent, issues: ValidationIssue[]): void {
  if (typeof value !== 'string' || value === '') return;
  const id = value.toLowerCase();
  if (ALL_ZEROS.test(id)) return;
  const digits = name === 'traceId' ? 32 : 16;
  const field = name === 'traceId' ? Field.traceId : Field.spanId;
  if (id.length === digits && /^[0-9a-f]*$/.test(id)) into[field] = id;
  else {
    issues.push({
      field,
      code: 'invalid_value',
      message: `${name} must be ${digits} hex digits (OTLP/JSON writes ids in hex, not base64), got ${id.length} characters`,
    });
  }
}

function logRecordToEvent(record: Json, resource: WireEvent, issues: ValidationIssue[]): WireEvent | undefined {
  const attrs = attributesToObject(list(record.attributes));
  const body = anyValue(record.body);
  const event: WireEvent = {};
  let vocabulary: { type: string; fields: WireEvent } | undefined;
  const named = get(record, 'eventName', 'event_name') ?? attrs['event.name'];
  if (typeof named === 'string') vocabulary = vocabularyFromText(named);
  if (!vocabulary && typeof body === 'string') vocabulary = vocabularyFromText(body);
  if (!vocabulary && body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Json;
    const inner = typeof b.event === 'string' ? b.event : typeof b.type === 'string' ? b.type : undefined;
    if (inner) vocabulary = vocabularyFromText(inner);
    if (vocabulary) {
      const { event: _e, type: _t, ...rest } = b;
      mapAttributes(rest, event);
    }
  }
  delete attrs['event.name'];
  mapAttributes(attrs, event);
  if (vocabulary) {
    for (const [k, v] of Object.entries(vocabulary.fields)) if (event[k] === undefined) event[k] = v;
  } else if (!isHttpServerRequest(event)) return undefined;
  for (const [k, v] of Object.entries(resource)) if (event[k] === undefined) event[k] = v;
  copyId(get(record, 'traceId', 'trace_id'), 'traceId', event, issues);
  copyId(get(record, 'spanId', 'span_id'), 'spanId', event, issues);
  event.time =
    nanosToMillis(get(record, 'timeUnixNano', 'time_unix_nano')) ??
    nanosToMillis(get(record, 'observedTimeUnixNano', 'observed_time_unix_nano'));
  event.type = vocabulary?.type ?? 'http_request';
  return event;
}

const SPAN_KIND_SERVER = 2;

/** Span kind: OTLP/JSON writes enums as integers; the protobuf JSON mapping's name is read too. */
function isServerSpan(span: Json): boolean {
  const kind = span.kind;
  return kind === 'SPAN_KIND_SERVER' || Number(kind) === SPAN_KIND_SERVER;
}

/** The semantic conventions' name for the span event that records an exception. */
const EXCEPTION_EVENT = 'exception';

function spanToEvents(span: Json, resource: WireEvent, issues: ValidationIssue[]): WireEvent[] {
  const attrs = attributesToObject(list(span.attributes));
  const request: WireEvent = {};
  mapAttributes(attrs, request);
  for (const [k, v] of Object.entries(resource)) if (request[k] === undefined) request[k] = v;
  copyId(get(span, 'traceId', 'trace_id'), 'traceId', request, issues);
  copyId(get(span, 'spanId', 'span_id'), 'spanId', request, issues);
  // Instrumentations older than `error.type` record an exception as a span event: its type is the request's error.
  if (request[Field.errorType] === undefined) {
    const exception = list(span.events).find((e) => e.name === EXCEPTION_EVENT);
    const type = exception ? attributesToObject(list(exception.attributes))['exception.type'] : undefined;
    if (typeof type === 'string' && type !== '') request[Field.errorType] = type;
  }
  const start = nanosToMillis(get(span, 'startTimeUnixNano', 'start_time_unix_nano'));
  const end = nanosToMillis(get(span, 'endTimeUnixNano', 'end_time_unix_nano'));
  const out: WireEvent[] = [];
  if (isServerSpan(span) && isHttpServerRequest(request)) {
    const duration = start !== undefined && end !== undefined && end >= start ? (end - start) / 1000 : undefined;
    out.push({
      ...request,
      ...(duration !== undefined && request[Field.httpServerRequestDuration] === undefined
        ? { [Field.httpServerRequestDuration]: duration }
        : {}),
      time: start,
      type: 'http_request',
    });
  }
  // The request's context (client, route, principal, trace) attaches to the vocabulary events recorded in it.
  const { [Field.httpServerRequestDuration]: _d, ...context } = request;
  for (const e of list(span.events)) {
    const found = typeof e.name === 'string' ? vocabularyFromText(e.name) : undefined;
    if (!found) continue;
    const fields: WireEvent = { ...context };
    mapAttributes(attributesToObject(list(e.attributes)), fields);
    out.push({
      ...fields,
      ...found.fields,
      time: nanosToMillis(get(e, 'timeUnixNano', 'time_unix_nano')) ?? start,
      type: found.type,
    });
  }
  return out;
}

/** What one request may become: events, and their text (a record's resource and a span's context are copied). */
export interface OtlpLimits {
  /** `ingest.maxEventsPerRequest`. */
  readonly maxEvents: number;
  /** The events' keys and values, in characters (the server allows twice `ingest.maxBodyBytes`). */
  readonly maxChars: number;
  /** Fields per event, as the parser counts them (default `PARSE_DEFAULTS.maxFields`). */
  readonly maxFields?: number;
}

/** Keys the parser does not count as fields. */
const NOT_FIELDS = new Set(['time', 'type', 'id']);

/** How many fields a value is to the parser, which flattens maps: a map attribute is as many as its leaves. */
function fieldCount(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object' || Array.isArray(value)) return 1;
  let count = 0;
  for (const inner of Object.values(value)) count += fieldCount(inner);
  return count;
}

/**
 * Keep an event within the fields an event may hold. OpenTelemetry sets no bound on attributes, and a Collector's
 * Kubernetes processor copies every pod label into the resource, so an ordinary request's span can have more; refused
 * whole, the request would be lost to detection for its labels. Fields the event model does not know go first, the
 * resource's before the record's or span's own, the last first; the event is marked `vigil.truncated`. Returns how
 * many fields were left out.
 */
function fitFields(event: WireEvent, resource: WireEvent, maxFields: number): number {
  let count = 0;
  for (const key in event) if (!NOT_FIELDS.has(key)) count += fieldCount(event[key]);
  if (count <= maxFields) return 0;
  const limit = maxFields - (event[Field.truncated] === undefined ? 1 : 0);
  const keys = Object.keys(event)
    .filter((key) => !NOT_FIELDS.has(key))
    .reverse();
  const known = (key: string) => FIELDS_BY_NAME.has(key);
  const fromResource = (key: string) => key in resource && event[key] === resource[key];
  const order = [
    ...keys.filter((key) => !known(key) && fromResource(key)),
    ...keys.filter((key) => !known(key) && !fromResource(key)),
    ...keys.filter(known),
  ];
  let dropped = 0;
  for (const key of order) {
    if (count <= limit) break;
    if (key === Field.truncated) continue;
    const fields = fieldCount(event[key]);
    delete event[key];
    count -= fields;
    dropped += fields;
  }
  event[Field.truncated] = true;
  return dropped;
}

/**
 * Turn a decoded OTLP logs or traces request into wire events for the pipeline. Each event copies its resource's
 * attributes (a span event its span's too), so a small body can name thousands of events of kilobytes each: past
 * `limits`, the request is refused (413) before any of it is stored, as an oversized `POST /v1/events` is.
 */
export function otlpToEvents(
  signal: OtlpSignal,
  request: Json,
  limits: OtlpLimits = { maxEvents: Number.POSITIVE_INFINITY, maxChars: Number.POSITIVE_INFINITY },
): OtlpBatch {
  const items: (WireEvent | undefined)[] = [];
  const rejected: Rejection[] = [];
  const origins: number[] = [];
  const maxFields = limits.maxFields ?? PARSE_DEFAULTS.maxFields;
  let skipped = 0;
  let droppedFields = 0;
  let chars = 0;
  let origin = 0;
  /** The events of one record or span: all refused when the mapping found a problem with it. */
  const addAll = (events: readonly WireEvent[], issues: readonly ValidationIssue[], resource: WireEvent) => {
    for (const event of events) {
      droppedFields += fitFields(event, resource, maxFields);
      add(event);
      origins.push(origin);
      if (issues.length > 0) {
        rejected.push({ index: items.length - 1, issues });
        items[items.length - 1] = undefined;
      }
    }
    origin++;
  };
  const add = (event: WireEvent) => {
    if (items.length >= limits.maxEvents) {
      throw new VigilError(
        'too_many_events',
        `more than ${limits.maxEvents} events in one request (ingest.maxEventsPerRequest)`,
      );
    }
    chars += approximateFieldsSize(event);
    if (chars > limits.maxChars) {
      throw new VigilError(
        'body_too_large',
        `the request's ${signal} expand to more than ${limits.maxChars} characters of events (ingest.maxBodyBytes)`,
      );
    }
    items.push(event);
  };
  const resources = list(
    get(
      request,
      signal === 'logs' ? 'resourceLogs' : 'resourceSpans',
      signal === 'logs' ? 'resource_logs' : 'resource_spans',
    ),
  );
  for (const rl of resources) {
    const resource = resourceFields(rl.resource);
    const scopes = list(
      get(rl, signal === 'logs' ? 'scopeLogs' : 'scopeSpans', signal === 'logs' ? 'scope_logs' : 'scope_spans'),
    );
    for (const scope of scopes) {
      if (signal === 'logs') {
        for (const record of list(get(scope, 'logRecords', 'log_records'))) {
          const issues: ValidationIssue[] = [];
          const event = logRecordToEvent(record, resource, issues);
          if (event) addAll([event], issues, resource);
          else skipped++;
        }
      } else {
        for (const span of list(scope.spans)) {
          const issues: ValidationIssue[] = [];
          const events = spanToEvents(span, resource, issues);
          if (events.length === 0) skipped++;
          else addAll(events, issues, resource);
        }
      }
    }
  }
  return { items, rejected, origins, skipped, droppedFields };
}
