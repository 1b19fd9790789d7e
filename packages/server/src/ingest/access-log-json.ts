/**
 * JSON-lines access logs: one JSON object per line, read through a field mapping (source key path → Vigil field),
 * with presets for the JSON logs of nginx, Envoy / Istio, Traefik and Caddy.
 *
 * Key paths: `status`, `request.method` (nested objects), `request.headers.User-Agent[0]` (array index),
 * `["key.with.dots"]` (a key that contains dots). A dotted path that finds nothing nested is also tried as one
 * flat key, so `{"request.method": "GET"}` and `{"request": {"method": "GET"}}` both work. Each mapping entry may
 * list several paths: the first one present (not null, not `""`, not `"-"`) wins.
 */
import { Field } from '@vigil/schema';
import { FORWARDED_FOR_FIELD, splitHostPort } from '../enrich/client-address.js';
import { ConfigError } from '../errors.js';
import {
  addMalformedRequest,
  addRequestLine,
  addRequestTarget,
  addServer,
  byteCount,
  DURATION_UNITS,
  type DurationUnit,
  failure,
  HTTP_REQUEST,
  invalidStatus,
  type LineResult,
  parseDurationSeconds,
  parseTimeValue,
  protocolVersion,
  readStatus,
  TIME_FORMATS,
  type TimeFormat,
  type WireEvent,
} from './access-log-shared.js';

/** One key path, or several tried in order. */
export type KeyPaths = string | readonly string[];

/**
 * Where a JSON access log keeps each request attribute. Only `time` is required; a line needs at least a method,
 * a path, a request line or a status to become an event.
 *
 * @example
 * const mapping: JsonMapping = {
 *   source: 'gateway',
 *   time: 'ts', timeFormat: 'epoch_ms',
 *   method: 'req.method', path: 'req.url', status: 'res.status',
 *   clientAddress: 'remote', userAgent: 'req.headers.user-agent',
 *   duration: 'elapsed', durationUnit: 'ms',
 *   fields: { tenant: 'vigil.tenant.id' },
 * };
 */
export interface JsonMapping {
  /** Written to `vigil.source.name`. Default `json`. */
  readonly source?: string;
  /** Event time. */
  readonly time: KeyPaths;
  /** How the time is written. Default `auto`. */
  readonly timeFormat?: TimeFormat;
  /** `http.request.method`. */
  readonly method?: KeyPaths;
  /** Request target: a path, with or without `?query`, or an absolute URL. Goes to `url.path` (and `url.query`). */
  readonly path?: KeyPaths;
  /** `url.query`, when the log keeps it apart from the path. */
  readonly query?: KeyPaths;
  /** A whole request line `METHOD target PROTOCOL`, used when `method` or `path` find nothing. */
  readonly requestLine?: KeyPaths;
  /** `http.response.status_code`. */
  readonly status?: KeyPaths;
  /** `http.response.body.size` in bytes. */
  readonly responseBytes?: KeyPaths;
  /** `http.request.body.size` in bytes. */
  readonly requestBytes?: KeyPaths;
  /** `client.address`; a `host:port` value is split and the port goes to `client.port`. */
  readonly clientAddress?: KeyPaths;
  /** `client.port`. */
  readonly clientPort?: KeyPaths;
  /** `user.id`. */
  readonly user?: KeyPaths;
  /** `user_agent.original`. A JSON array (header lists) gives its first element. */
  readonly userAgent?: KeyPaths;
  /** `http.request.referrer`. */
  readonly referrer?: KeyPaths;
  /** `server.address` (and `server.port`): the Host / :authority the request was sent to. */
  readonly host?: KeyPaths;
  /** `url.scheme`. */
  readonly scheme?: KeyPaths;
  /** `network.protocol.version`, from `HTTP/1.1`-style values. */
  readonly protocol?: KeyPaths;
  /** `http.request.id`. */
  readonly requestId?: KeyPaths;
  /** `http.server.request.duration`, converted to seconds. */
  readonly duration?: KeyPaths;
  /** Unit of a numeric `duration`. Default `s`. Go duration strings (`1.5ms`) carry their own unit. */
  readonly durationUnit?: DurationUnit;
  /** Any other attribute: source key path → Vigil field name, copied as it is (scalars and string arrays). */
  readonly fields?: Readonly<Record<string, string>>;
}

const PATH_KEYS = [
  'time',
  'method',
  'path',
  'query',
  'requestLine',
  'status',
  'responseBytes',
  'requestBytes',
  'clientAddress',
  'clientPort',
  'user',
  'userAgent',
  'referrer',
  'host',
  'scheme',
  'protocol',
  'requestId',
  'duration',
] as const;

type PathKey = (typeof PATH_KEYS)[number];
const MAPPING_KEYS: ReadonlySet<string> = new Set<string>([
  ...PATH_KEYS,
  'source',
  'timeFormat',
  'durationUnit',
  'fields',
]);

interface KeyPath {
  readonly raw: string;
  readonly steps: readonly (string | number)[];
}

/** A mapping checked and compiled once; pass it to parseJsonLine. */
export interface CompiledJsonMapping {
  readonly source: string;
  readonly timeFormat: TimeFormat;
  readonly durationUnit: DurationUnit;
  readonly paths: Readonly<Record<PathKey, readonly KeyPath[]>>;
  readonly fields: readonly { readonly path: KeyPath; readonly field: string }[];
}

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;
const RESERVED_FIELDS = new Set(['time', 'type', 'id']);

/**
 * Check a mapping (typically from the configuration file) and compile its key paths. A bad mapping throws a
 * ConfigError naming the key, below `configKey`.
 *
 * @example
 * const compiled = compileJsonMapping({ time: 'ts', method: 'm', path: 'p' }, 'sources.gateway.mapping');
 */
export function compileJsonMapping(mapping: JsonMapping, configKey = 'mapping'): CompiledJsonMapping {
  if (typeof mapping !== 'object' || mapping === null || Array.isArray(mapping)) {
    throw new ConfigError(configKey, 'must be an object of key paths (time, method, path, status...)');
  }
  for (const key of Object.keys(mapping)) {
    if (!MAPPING_KEYS.has(key)) {
      throw new ConfigError(`${configKey}.${key}`, `unknown mapping key; known keys: ${[...MAPPING_KEYS].join(', ')}`);
    }
  }
  const source = mapping.source ?? 'json';
  if (typeof source !== 'string' || source === '') {
    throw new ConfigError(`${configKey}.source`, 'must be a non-empty string');
  }
  const timeFormat = mapping.timeFormat ?? 'auto';
  if (!TIME_FORMATS.includes(timeFormat)) {
    throw new ConfigError(`${configKey}.timeFormat`, `must be one of ${TIME_FORMATS.join(', ')}`);
  }
  const durationUnit = mapping.durationUnit ?? 's';
  if (!DURATION_UNITS.includes(durationUnit)) {
    throw new ConfigError(`${configKey}.durationUnit`, `must be one of ${DURATION_UNITS.join(', ')}`);
  }
  if (mapping.time === undefined) throw new ConfigError(`${configKey}.time`, 'is required: the key of the event time');
  const paths = {} as Record<PathKey, readonly KeyPath[]>;
  for (const key of PATH_KEYS) paths[key] = compilePaths(mapping[key], `${configKey}.${key}`);
  const fields: { path: KeyPath; field: string }[] = [];
  if (mapping.fields !== undefined) {
    if (typeof mapping.fields !== 'object' || mapping.fields === null || Array.isArray(mapping.fields)) {
      throw new ConfigError(`${configKey}.fields`, 'must map source key paths to Vigil field names');
    }
    for (const [raw, field] of Object.entries(mapping.fields)) {
      const key = `${configKey}.fields.${raw}`;
      if (typeof field !== 'string' || !FIELD_NAME.test(field) || RESERVED_FIELDS.has(field)) {
        throw new ConfigError(key, 'must be a dotted Vigil field name such as vigil.tenant.id (not time, type or id)');
      }
      fields.push({ path: compilePath(raw, key), field });
    }
  }
  return { source, timeFormat, durationUnit, paths, fields };
}

function compilePaths(value: KeyPaths | undefined, key: string): readonly KeyPath[] {
  if (value === undefined) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new ConfigError(key, 'must be a key path or a non-empty list of key paths');
  }
  return list.map((raw: unknown, i: number) => {
    if (typeof raw !== 'string') throw new ConfigError(`${key}[${i}]`, 'must be a key path string');
    return compilePath(raw, key);
  });
}

/** `a.b[0]["c.d"]` → ['a', 'b', 0, 'c.d']. */
function compilePath(raw: string, key: string): KeyPath {
  const bad = (why: string) => new ConfigError(key, `key path "${raw}": ${why}`);
  const steps: (string | number)[] = [];
  let name = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '[') {
      if (name !== '') steps.push(name);
      name = '';
      const close = raw.indexOf(']', i);
      if (close === -1) throw bad('unclosed [');
      const inner = raw.slice(i + 1, close);
      if (/^\d+$/.test(inner)) steps.push(Number(inner));
      else if (/^"[^"]+"$|^'[^']+'$/.test(inner)) steps.push(inner.slice(1, -1));
      else throw bad('[...] holds an array index or a quoted key');
      i = close + 1;
      if (i < raw.length && raw[i] !== '.' && raw[i] !== '[') throw bad('expected . or [ after ]');
      if (raw[i] === '.') {
        i++;
        if (i === raw.length) throw bad('ends with a dot');
      }
    } else if (c === '.') {
      if (name === '') throw bad('empty segment');
      steps.push(name);
      name = '';
      i++;
      if (i === raw.length) throw bad('ends with a dot');
    } else {
      name += c;
      i++;
    }
  }
  if (name !== '') steps.push(name);
  if (steps.length === 0) throw bad('is empty');
  return { raw, steps };
}

function lookup(record: Record<string, unknown>, path: KeyPath): unknown {
  let value: unknown = record;
  for (const step of path.steps) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, step)) {
      value = undefined;
      break;
    }
    value = (value as Record<string | number, unknown>)[step];
  }
  if (value === undefined && path.steps.length > 1 && Object.hasOwn(record, path.raw)) value = record[path.raw];
  return value;
}

/** First value present: not undefined, null, `""` or `"-"` (what nginx and Envoy write for "not set"). */
function valueAt(record: Record<string, unknown>, paths: readonly KeyPath[]): unknown {
  for (const path of paths) {
    const value = lookup(record, path);
    if (value === undefined || value === null || value === '' || value === '-') continue;
    return value;
  }
  return undefined;
}

function stringAt(record: Record<string, unknown>, paths: readonly KeyPath[]): string | undefined {
  for (const path of paths) {
    let value = lookup(record, path);
    if (Array.isArray(value)) value = value[0]; // header lists: {"User-Agent": ["curl/8.5.0"]}
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string' && value !== '' && value !== '-') return value;
  }
  return undefined;
}

const DIGITS = /^\d{1,16}$/;
const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?$/;

/** A non-negative integer that can be stored exactly (a number, or digits as nginx writes them); else undefined. */
function integerAt(record: Record<string, unknown>, paths: readonly KeyPath[]): number | undefined {
  const value = valueAt(record, paths);
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && DIGITS.test(value)) return byteCount(value);
  return undefined;
}

/** The status at `paths` (see readStatus), or undefined when the line has none. */
function statusAt(record: Record<string, unknown>, paths: readonly KeyPath[]): number | 'none' | 'invalid' | undefined {
  const value = valueAt(record, paths);
  if (value === undefined) return undefined;
  if (typeof value === 'number') return readStatus(value);
  if (typeof value === 'string' && /^\d{1,3}$/.test(value)) return readStatus(Number(value));
  return 'invalid';
}

/**
 * Turn one JSON object into a wire event through a compiled mapping.
 *
 * @example
 * parseJsonRecord({ ts: 1709633730.5, request: { method: 'GET', uri: '/x' }, status: 200 }, JSON_PRESETS['caddy-json']);
 */
export function parseJsonRecord(record: Record<string, unknown>, mapping: CompiledJsonMapping): LineResult {
  const p = mapping.paths;
  const timeValue = valueAt(record, p.time);
  if (timeValue === undefined) return failure(`no time: none of ${names(p.time)} is present`);
  const time = parseTimeValue(timeValue, mapping.timeFormat);
  if (time === undefined) {
    const shown = JSON.stringify(timeValue).slice(0, 40);
    // A local time without its offset names no instant: say so rather than only that it is invalid.
    if (typeof timeValue === 'string' && LOCAL_TIME.test(timeValue)) {
      return failure(`time ${shown} has no UTC offset (add Z or ±hh:mm, such as nginx's $time_iso8601 writes)`);
    }
    return failure(`time ${shown} is not a valid time (format ${mapping.timeFormat})`);
  }
  const out: WireEvent = { time, type: HTTP_REQUEST };
  const status = statusAt(record, p.status);
  if (status === 'invalid') return invalidStatus(JSON.stringify(valueAt(record, p.status)));
  const method = stringAt(record, p.method);
  const target = stringAt(record, p.path);
  if (method !== undefined && target !== undefined) {
    out[Field.httpRequestMethod] = method;
    addRequestTarget(out, target, method);
  } else {
    const line = stringAt(record, p.requestLine);
    if (line !== undefined) addRequestLine(out, line, line);
    else if (method !== undefined || target !== undefined || status !== undefined) {
      // A request the server could not read: keep what there is, the event is evidence.
      addMalformedRequest(out, '');
      if (method !== undefined) out[Field.httpRequestMethod] = method;
      if (target !== undefined) addRequestTarget(out, target, method);
    } else {
      return failure(
        `not a request: none of ${names([...p.method, ...p.path, ...p.requestLine, ...p.status])} is present`,
      );
    }
  }
  const query = stringAt(record, p.query);
  if (query !== undefined) out[Field.urlQuery] = query.charCodeAt(0) === 0x3f ? query.slice(1) : query;
  if (typeof status === 'number') out[Field.httpResponseStatusCode] = status;
  const responseBytes = integerAt(record, p.responseBytes);
  if (responseBytes !== undefined) out[Field.httpResponseBodySize] = responseBytes;
  const requestBytes = integerAt(record, p.requestBytes);
  if (requestBytes !== undefined) out[Field.httpRequestBodySize] = requestBytes;
  const client = stringAt(record, p.clientAddress);
  if (client !== undefined) {
    const { host, port } = splitHostPort(client);
    out[Field.clientAddress] = host;
    if (port !== undefined) out[Field.clientPort] = port;
  }
  const clientPort = integerAt(record, p.clientPort);
  if (clientPort !== undefined && clientPort <= 65535) out[Field.clientPort] = clientPort;
  const user = stringAt(record, p.user);
  if (user !== undefined) out[Field.userId] = user;
  const userAgent = stringAt(record, p.userAgent);
  if (userAgent !== undefined) out[Field.userAgentOriginal] = userAgent;
  const referrer = stringAt(record, p.referrer);
  if (referrer !== undefined) out[Field.httpRequestReferrer] = referrer;
  const host = stringAt(record, p.host);
  if (host !== undefined) addServer(out, host);
  const scheme = stringAt(record, p.scheme);
  if (scheme !== undefined) out[Field.urlScheme] = scheme.toLowerCase();
  const protocol = stringAt(record, p.protocol);
  const version = protocol === undefined ? undefined : protocolVersion(protocol);
  if (version !== undefined) out[Field.networkProtocolVersion] = version;
  const requestId = stringAt(record, p.requestId);
  if (requestId !== undefined) out[Field.httpRequestId] = requestId;
  const durationValue = valueAt(record, p.duration);
  const duration = durationValue === undefined ? undefined : parseDurationSeconds(durationValue, mapping.durationUnit);
  if (duration !== undefined) out[Field.httpServerRequestDuration] = duration;
  for (const { path, field } of mapping.fields) {
    const value = lookup(record, path);
    if (value === '' || value === '-') continue; // absent, as everywhere else in a mapping
    if (
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    ) {
      out[field] = value;
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      out[field] = value;
    }
  }
  out[Field.sourceName] = mapping.source;
  return { ok: true, event: out };
}

function names(paths: readonly KeyPath[]): string {
  return paths.map((p) => p.raw).join(', ');
}

/**
 * Parse one JSON line. With a mapping, through it; without, through the preset whose keys the object has (see
 * detectJsonPreset), so `--format json` reads any of the preset logs unconfigured.
 */
export function parseJsonLine(line: string, mapping?: CompiledJsonMapping): LineResult {
  let parsed = parseJsonObject(line);
  if (!parsed.ok && line.includes('\\x')) {
    // A JSON log_format without escape=json: nginx escapes `"`, `\` and bytes outside printable ASCII as `\xHH`,
    // which JSON does not know. Read as nginx meant them, the line is the JSON it was meant to be.
    const unescaped = parseJsonObject(jsonFromNginxEscapes(line));
    if (unescaped.ok) parsed = unescaped;
  }
  if (!parsed.ok) return parsed;
  const chosen = mapping ?? detectJsonPreset(parsed.record);
  if (chosen === undefined) {
    return failure(
      `JSON object matches no preset (${Object.keys(JSON_PRESETS).join(', ')}): give its field mapping with --mapping FILE`,
    );
  }
  return parseJsonRecord(parsed.record, chosen);
}

/**
 * `line` with each run of nginx `\xHH` escapes turned into the JSON escapes of the characters its bytes encode (as
 * UTF-8; invalid sequences become U+FFFD). JSON's own escapes (`\"`, `\\`, `\u0041`) are kept as they are.
 */
function jsonFromNginxEscapes(line: string): string {
  let out = '';
  let from = 0;
  let backslash = line.indexOf('\\');
  while (backslash !== -1) {
    let at = backslash;
    const bytes: number[] = [];
    while (line[at] === '\\' && line[at + 1] === 'x' && /^[0-9A-Fa-f]{2}$/.test(line.slice(at + 2, at + 4))) {
      bytes.push(Number.parseInt(line.slice(at + 2, at + 4), 16));
      at += 4;
    }
    if (bytes.length > 0) {
      out += line.slice(from, backslash) + JSON.stringify(Buffer.from(bytes).toString('utf8')).slice(1, -1);
      from = at;
    } else {
      at = backslash + 2; // a JSON escape: both characters stay
      out += line.slice(from, at);
      from = at;
    }
    backslash = line.indexOf('\\', from);
  }
  return out + line.slice(from);
}

/** The object on a JSON line, or why there is none. */
export function parseJsonObject(
  line: string,
): { readonly ok: true; readonly record: Record<string, unknown> } | { readonly ok: false; readonly reason: string } {
  const text = line.trim();
  if (text === '') return { ok: false, reason: 'empty line' };
  if (text.charCodeAt(0) !== 0x7b) return { ok: false, reason: 'not a JSON object (does not start with {)' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The parser's message may quote the line; give only the position.
    const position = /position (\d+)/.exec((error as Error).message);
    return { ok: false, reason: `invalid JSON${position ? ` at character ${Number(position[1]) + 1}` : ''}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  return { ok: true, record: value as Record<string, unknown> };
}

/**
 * The usual `log_format json escape=json` of nginx. Variable names are nginx's; `$request_uri` carries the query.
 *
 *     log_format json escape=json '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
 *       '"remote_user":"$remote_user","request_method":"$request_method","request_uri":"$request_uri",'
 *       '"server_protocol":"$server_protocol","status":"$status","body_bytes_sent":"$body_bytes_sent",'
 *       '"http_referer":"$http_referer","http_user_agent":"$http_user_agent","request_time":"$request_time"}';
 */
const NGINX_JSON: JsonMapping = {
  source: 'nginx-json',
  time: ['time_iso8601', 'time_local', 'msec', 'time', 'timestamp', '@timestamp'],
  method: 'request_method',
  path: ['request_uri', 'uri'],
  query: 'args',
  requestLine: 'request',
  status: 'status',
  responseBytes: ['body_bytes_sent', 'bytes_sent'],
  clientAddress: ['remote_addr', 'client_ip'],
  clientPort: 'remote_port',
  user: 'remote_user',
  userAgent: ['http_user_agent', 'user_agent'],
  referrer: ['http_referer', 'referer'],
  host: ['host', 'http_host', 'server_name'],
  scheme: 'scheme',
  protocol: ['server_protocol', 'protocol'],
  requestId: 'request_id',
  duration: 'request_time',
  durationUnit: 's',
  fields: { http_x_forwarded_for: FORWARDED_FOR_FIELD },
};

/**
 * Envoy `json_format` access logs, with the keys of Istio's default JSON format (`start_time`, `method`, `path`,
 * `response_code`, `bytes_sent`, `duration` in ms, `downstream_remote_address` with its port...). `user-agent` is
 * accepted as well as Istio's `user_agent`.
 */
const ENVOY_JSON: JsonMapping = {
  source: 'envoy-json',
  time: 'start_time',
  method: 'method',
  path: ['path', 'x_envoy_original_path'],
  status: 'response_code',
  responseBytes: 'bytes_sent',
  requestBytes: 'bytes_received',
  clientAddress: 'downstream_remote_address',
  userAgent: ['user_agent', 'user-agent'],
  referrer: ['referer', 'referrer'],
  host: 'authority',
  protocol: 'protocol',
  requestId: ['request_id', 'x_request_id'],
  duration: 'duration',
  durationUnit: 'ms',
  fields: { x_forwarded_for: FORWARDED_FOR_FIELD },
};

/**
 * Traefik `accessLog.format: json`. Headers appear only when `accessLog.fields.headers` keeps them, as
 * `request_User-Agent` and `request_Referer`. `Duration` is in nanoseconds.
 */
const TRAEFIK_JSON: JsonMapping = {
  source: 'traefik-json',
  time: ['StartUTC', 'StartLocal', 'time'],
  method: 'RequestMethod',
  path: 'RequestPath',
  status: ['DownstreamStatus', 'OriginStatus'],
  responseBytes: 'DownstreamContentSize',
  requestBytes: 'RequestContentSize',
  clientAddress: ['ClientHost', 'ClientAddr'],
  clientPort: 'ClientPort',
  user: 'ClientUsername',
  userAgent: 'request_User-Agent',
  referrer: 'request_Referer',
  host: ['RequestHost', 'RequestAddr'],
  scheme: 'RequestScheme',
  protocol: 'RequestProtocol',
  requestId: 'request_X-Request-Id',
  duration: 'Duration',
  durationUnit: 'ns',
  fields: { 'request_X-Forwarded-For': FORWARDED_FOR_FIELD },
};

/**
 * Caddy's structured access log (`"msg": "handled request"`): `ts` in epoch seconds (or ISO with `time_format`),
 * `request.client_ip` (the client after trusted proxies) before `request.remote_ip`, headers as arrays,
 * `duration` in seconds.
 */
const CADDY_JSON: JsonMapping = {
  source: 'caddy-json',
  time: 'ts',
  method: 'request.method',
  path: 'request.uri',
  status: 'status',
  responseBytes: 'size',
  requestBytes: 'bytes_read',
  clientAddress: ['request.client_ip', 'request.remote_ip'],
  user: 'user_id',
  userAgent: 'request.headers.User-Agent',
  referrer: 'request.headers.Referer',
  host: 'request.host',
  protocol: 'request.proto',
  requestId: 'request.headers.X-Request-Id',
  duration: 'duration',
  durationUnit: 's',
};

export const JSON_PRESET_MAPPINGS = {
  'nginx-json': NGINX_JSON,
  'envoy-json': ENVOY_JSON,
  'traefik-json': TRAEFIK_JSON,
  'caddy-json': CADDY_JSON,
} as const satisfies Record<string, JsonMapping>;

export type JsonPresetName = keyof typeof JSON_PRESET_MAPPINGS;

export const JSON_PRESETS: Readonly<Record<JsonPresetName, CompiledJsonMapping>> = {
  'nginx-json': compileJsonMapping(NGINX_JSON, 'nginx-json'),
  'envoy-json': compileJsonMapping(ENVOY_JSON, 'envoy-json'),
  'traefik-json': compileJsonMapping(TRAEFIK_JSON, 'traefik-json'),
  'caddy-json': compileJsonMapping(CADDY_JSON, 'caddy-json'),
};

/** The preset whose characteristic keys the object has, checked in a fixed order; undefined when none fits. */
export function detectJsonPreset(record: Record<string, unknown>): CompiledJsonMapping | undefined {
  if (Object.hasOwn(record, 'StartUTC') || Object.hasOwn(record, 'DownstreamStatus'))
    return JSON_PRESETS['traefik-json'];
  const request = record.request;
  if (typeof request === 'object' && request !== null && !Array.isArray(request) && Object.hasOwn(record, 'ts')) {
    return JSON_PRESETS['caddy-json'];
  }
  if (Object.hasOwn(record, 'start_time') && Object.hasOwn(record, 'response_code')) return JSON_PRESETS['envoy-json'];
  if (
    Object.hasOwn(record, 'time_iso8601') ||
    Object.hasOwn(record, 'request_uri') ||
    Object.hasOwn(record, 'request_method') ||
    Object.hasOwn(record, 'remote_addr')
  ) {
    return JSON_PRESETS['nginx-json'];
  }
  return undefined;
}
