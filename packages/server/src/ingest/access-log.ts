/**
 * Access-log sources: one log line in, one wire event (or the reason there is none) out.
 *
 * Formats: `combined`, `common` and `combined-xff` (nginx / Apache; the last is nginx's stock `main`), `json` (JSON
 * lines through a field mapping, or through the preset the line's keys point to when no mapping is given), the
 * presets `nginx-json`, `envoy-json`, `traefik-json`, `caddy-json`, `alb` (AWS Application Load Balancer access
 * logs), `haproxy` (HAProxy's HTTP log; its times are read in `timeZone`), `cloudfront` and `iis` (W3C extended
 * logs), and `vigil` (each line is a Vigil wire event). Every event from an access log has type `http_request` and
 * `vigil.source.name` set to the format (or the mapping's `source`). The result goes to
 * `parseEvent`, which validates it, cuts long strings and neutralises control characters.
 *
 * The parsers keep no state between lines, so a replay gives the same events as the live run; the W3C formats are the
 * exception: their `#Fields:` directive sets the columns of the lines after it, so one parser reads one stream.
 * See docs/access-logs.md for each format's fields and for what odd lines become.
 */
import { Field } from '@vigil/schema';
import { ConfigError } from '../errors.js';
import { parseAlbLine } from './access-log-alb.js';
import { parseClfLine } from './access-log-clf.js';
import { parseHaproxyLine } from './access-log-haproxy.js';
import {
  compileJsonMapping,
  JSON_PRESETS,
  type JsonMapping,
  type JsonPresetName,
  parseJsonLine,
  parseJsonObject,
} from './access-log-json.js';
import type { LineResult } from './access-log-shared.js';
import { createW3cParser } from './access-log-w3c.js';
import type { Line } from './lines.js';
import { parseTimeZone } from './time-zone.js';

export {
  type CompiledJsonMapping,
  compileJsonMapping,
  detectJsonPreset,
  JSON_PRESET_MAPPINGS,
  JSON_PRESETS,
  type JsonMapping,
  type JsonPresetName,
  type KeyPaths,
  parseJsonRecord,
} from './access-log-json.js';
export {
  type DurationUnit,
  type LineResult,
  parseClfTime,
  type TimeFormat,
  type WireEvent,
} from './access-log-shared.js';

export const ACCESS_LOG_FORMATS = [
  'combined',
  'common',
  'combined-xff',
  'json',
  'nginx-json',
  'envoy-json',
  'traefik-json',
  'caddy-json',
  'alb',
  'haproxy',
  'cloudfront',
  'iis',
  'vigil',
] as const;

export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** What a time zone may be, for the message that refuses one. */
export const TIME_ZONE_HELP =
  'is not a time zone: give UTC, an offset such as +01:00, or an IANA name such as Europe/Paris';

export function isAccessLogFormat(name: string): name is AccessLogFormat {
  return (ACCESS_LOG_FORMATS as readonly string[]).includes(name);
}

export interface LineParserOptions {
  /** Field mapping for the `json` format. Without one, `json` picks a preset per line from its keys. */
  readonly mapping?: JsonMapping;
  /** Configuration key of the mapping, for error messages. Default `mapping`. */
  readonly configKey?: string;
  /**
   * For `haproxy`, whose times have no offset: the zone of the HAProxy host, as `UTC`, `+01:00` or an IANA name
   * (`Europe/Paris`). Default UTC.
   */
  readonly timeZone?: string;
}

/**
 * Parses one line of a given format. The same line always gives the same result, except in the W3C formats
 * (`cloudfront`, `iis`), where a `#Fields:` line changes how the lines after it read: use one parser per stream.
 */
export type LineParser = (line: string) => LineResult;

/**
 * Lines of a format that say how the lines after them read (W3C directives start with `#`), or undefined for the
 * formats whose lines stand alone. A reader that starts a stream past its beginning (`vigil ingest --follow` after a
 * restart) gives the parser those lines first.
 */
export function headerLinePrefix(format: AccessLogFormat): string | undefined {
  return format === 'cloudfront' || format === 'iis' ? '#' : undefined;
}

/**
 * A parser for one format, with its mapping checked and compiled once. Throws a ConfigError for a bad mapping or
 * time zone, or for a mapping given to a format other than `json`, or a time zone to a format other than `haproxy`.
 *
 * @example
 * const parse = createLineParser('json', { mapping: { time: 'ts', method: 'verb', path: 'url', status: 'code' } });
 * for await (const line of readLines(process.stdin)) {
 *   const result = parseLineRecord(parse, line);
 *   if (!result.ok) report(line.lineNumber, result.reason);
 *   else if (!result.directive) ingest(result.event);
 * }
 */
export function createLineParser(format: AccessLogFormat, options: LineParserOptions = {}): LineParser {
  const configKey = options.configKey ?? 'mapping';
  if (options.mapping !== undefined && format !== 'json') {
    throw new ConfigError(configKey, `a field mapping applies to the json format only, not to ${format}`);
  }
  if (options.timeZone !== undefined && format !== 'haproxy') {
    throw new ConfigError('timeZone', `a time zone applies to the haproxy format only, not to ${format}`);
  }
  switch (format) {
    case 'combined':
      return parseCombined;
    case 'common':
      return parseCommon;
    case 'combined-xff':
      return parseCombinedForwarded;
    case 'json': {
      if (options.mapping === undefined) return parseJsonAuto;
      const compiled = compileJsonMapping(options.mapping, configKey);
      return (line) => parseJsonLine(line, compiled);
    }
    case 'nginx-json':
    case 'envoy-json':
    case 'traefik-json':
    case 'caddy-json':
      return PRESET_PARSERS[format];
    case 'alb':
      return parseAlbLine;
    case 'haproxy': {
      if (options.timeZone === undefined) return parseHaproxy;
      const timeZone = parseTimeZone(options.timeZone);
      if (timeZone === undefined) throw new ConfigError('timeZone', TIME_ZONE_HELP);
      return (line) => parseHaproxyLine(line, { timeZone });
    }
    case 'cloudfront':
    case 'iis':
      return createW3cParser(format);
    case 'vigil':
      return parseVigil;
    default:
      throw new ConfigError('format', `unknown access-log format "${format}"; known: ${ACCESS_LOG_FORMATS.join(', ')}`);
  }
}

const parseCombined: LineParser = (line) => parseClfLine(line, 'combined');
const parseCommon: LineParser = (line) => parseClfLine(line, 'common');
const parseCombinedForwarded: LineParser = (line) => parseClfLine(line, 'combined-xff', { forwardedFor: true });
const parseHaproxy: LineParser = (line) => parseHaproxyLine(line);
const parseJsonAuto: LineParser = (line) => parseJsonLine(line);
const PRESET_PARSERS: Readonly<Record<JsonPresetName, LineParser>> = {
  'nginx-json': (line) => parseJsonLine(line, JSON_PRESETS['nginx-json']),
  'envoy-json': (line) => parseJsonLine(line, JSON_PRESETS['envoy-json']),
  'traefik-json': (line) => parseJsonLine(line, JSON_PRESETS['traefik-json']),
  'caddy-json': (line) => parseJsonLine(line, JSON_PRESETS['caddy-json']),
};

/** A line that is already a Vigil wire event: passed on as it is, for parseEvent to validate. */
const parseVigil: LineParser = (line) => {
  const parsed = parseJsonObject(line);
  return parsed.ok ? { ok: true, event: parsed.record } : parsed;
};

/**
 * Parse one line in `format`. For a custom `json` mapping used on many lines, prefer createLineParser, which
 * compiles the mapping once.
 *
 * @example
 * parseLine('combined', '2001:db8::7 - - [10/Oct/2000:13:55:36 -0700] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"');
 */
export function parseLine(format: AccessLogFormat, line: string, options: LineParserOptions = {}): LineResult {
  return createLineParser(format, options)(line);
}

/**
 * Parse a line from readLines, taking its flags into account: a line cut to the length limit that still parses is
 * marked `vigil.truncated`; one that does not is reported as too long rather than as malformed.
 */
export function parseLineRecord(parser: LineParser, line: Line): LineResult {
  const result = parser(line.text);
  if (!line.truncated || result.directive) return result;
  if (!result.ok) {
    return {
      ok: false,
      reason: `line of ${line.byteLength} bytes was cut to the line length limit (${result.reason})`,
    };
  }
  return { ok: true, event: { ...result.event, [Field.truncated]: true } };
}
