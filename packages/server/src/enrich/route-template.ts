/**
 * Route templates for raw paths: `/users/4711/orders/9f1c...` → `/users/{id}/orders/{uuid}`.
 *
 * Baselines, rate rules and alerts group requests by `http.route`; grouping by raw path would give every user id
 * its own "endpoint" and make enumeration (`/invoices/1`, `/invoices/2`...) invisible. SDK events carry the route
 * the framework matched; access logs and OTLP spans often do not, so this stage derives one, in three ways:
 *
 * 1. OpenAPI: when a document is imported, a path matching one of its `paths` gets that exact template
 *    (`/users/{userId}`), with the `servers` base path in front. Concrete paths win over templated ones
 *    (OpenAPI 3.1 "Paths Object").
 * 2. Heuristics, per segment: numbers → `{id}`, UUIDs → `{uuid}`, 16+ hex digits → `{hash}`, dates → `{date}`,
 *    e-mail addresses → `{email}`, long random-looking tokens and JWTs → `{token}`, segments over 256 characters
 *    → `{param}`. A file extension is kept: `/avatars/42.png` → `/avatars/{id}.png`.
 * 3. Learning: a segment position that has shown more than `maxDistinctValues` different values under the same
 *    parent (`/users/alice`, `/users/bob`...) becomes `{param}` from then on. Memory is bounded (values are kept as
 *    32-bit hashes, parents in bounded maps), and the result depends only on the order of the events, so a replay
 *    learns exactly what the live run learned.
 *
 * The raw path stays in `url.path`; the stage only adds `http.route`, and only to events that have none.
 */
import { Field, type SecurityEvent } from '@vigil/schema';
import { ConfigError } from '../errors.js';
import { type EnrichmentStage, withAttributes } from './stage.js';

export const LEARNED_PARAMETER = '{param}';

/** Segments longer than this are parameters whatever they hold, and are not run through the heuristics. */
const MAX_HEURISTIC_SEGMENT_LENGTH = 256;
const NUMERIC = /^\d+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const HEX = /^[0-9a-fA-F]{16,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ][0-9:.%A-Za-z+-]*)?$/;
const EMAIL = /^[^@/]+(?:@|%40)[^@/]+\.[A-Za-z]{2,}$/;
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/;
const BASE64URL = /^[A-Za-z0-9_-]{20,}(?:={0,2}|(?:%3[dD]){0,2})$/;
const EXTENSION = /^[A-Za-z][A-Za-z0-9]{0,7}$/;

/**
 * Template one path segment by the heuristics alone; a segment that looks static is returned unchanged.
 *
 * @example
 * templateSegment('4711');                                 // '{id}'
 * templateSegment('3f2504e0-4f89-11d3-9a0c-0305e82c3301'); // '{uuid}'
 * templateSegment('avatar-42.png');                        // 'avatar-42.png'
 * templateSegment('42.png');                               // '{id}.png'
 */
export function templateSegment(segment: string): string {
  if (segment === '') return segment;
  if (segment.length > MAX_HEURISTIC_SEGMENT_LENGTH) return LEARNED_PARAMETER;
  const whole = classifySegment(segment);
  if (whole !== undefined) return whole;
  const dot = segment.lastIndexOf('.');
  if (dot > 0 && dot < segment.length - 1) {
    const extension = segment.slice(dot + 1);
    if (EXTENSION.test(extension)) {
      const stem = classifySegment(segment.slice(0, dot));
      if (stem !== undefined) return `${stem}.${extension}`;
    }
  }
  return segment;
}

function classifySegment(s: string): string | undefined {
  if (NUMERIC.test(s)) return '{id}';
  if (s.length === 36 && UUID.test(s)) return '{uuid}';
  if (HEX.test(s)) return '{hash}';
  if (DATE.test(s)) return '{date}';
  if (s.indexOf('@') !== -1 || s.indexOf('%40') !== -1) return EMAIL.test(s) ? '{email}' : undefined;
  if (s.length >= 20 && (JWT.test(s) || (BASE64URL.test(s) && looksRandom(s)))) return '{token}';
  return undefined;
}

/**
 * Random tokens mix character classes; words, slugs and camelCase names mostly do not. A base64url token of 20+
 * characters has upper case, lower case and at least two digits; a lower-case base36 id of 24+ characters has at
 * least four digits and four letters and no separators. `getAccountBalanceV2` and `how-to-reset-2fa` stay static.
 */
function looksRandom(s: string): boolean {
  let upper = 0;
  let lower = 0;
  let digits = 0;
  let separators = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) upper++;
    else if (c >= 0x61 && c <= 0x7a) lower++;
    else if (c >= 0x30 && c <= 0x39) digits++;
    else separators++;
  }
  if (upper > 0 && lower > 0 && digits >= 2) return true;
  return upper === 0 && separators === 0 && s.length >= 24 && digits >= 4 && lower >= 4;
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI

interface RouteNode {
  readonly literal: Map<string, RouteNode>;
  /** Segments such as `{name}.{ext}` or `{id}:activate`, tried before whole-segment parameters. */
  readonly partial: { readonly pattern: RegExp; readonly node: RouteNode }[];
  whole: RouteNode | undefined;
  template: string | undefined;
}

function newNode(): RouteNode {
  return { literal: new Map(), partial: [], whole: undefined, template: undefined };
}

const HTTP_URL_PATH = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*(\/.*)?$/;

/**
 * The `paths` of one or more OpenAPI 3 (or Swagger 2) documents, for matching raw paths to their templates.
 *
 * @example
 * const routes = OpenApiRoutes.from({ openapi: '3.0.3', servers: [{ url: 'https://api.example/v1' }], paths: { '/users/{userId}': {} } });
 * routes.match('/v1/users/4711'); // '/v1/users/{userId}'
 */
export class OpenApiRoutes {
  readonly #bases: { readonly base: string; readonly root: RouteNode }[];

  private constructor(bases: { base: string; root: RouteNode }[]) {
    // Longest base path first, so `/api/v2` wins over `/api`; the empty base is tried last.
    this.#bases = bases.sort((a, b) => b.base.length - a.base.length);
  }

  /** Compile documents already parsed from JSON or YAML. Throws a ConfigError for something that is not one. */
  static from(documents: unknown, configKey = 'openapi'): OpenApiRoutes {
    const list = Array.isArray(documents) ? documents : [documents];
    const byBase = new Map<string, RouteNode>();
    list.forEach((document, index) => {
      const key = Array.isArray(documents) ? `${configKey}[${index}]` : configKey;
      if (typeof document !== 'object' || document === null) {
        throw new ConfigError(key, 'is not an OpenAPI document (expected an object with "paths")');
      }
      const doc = document as Record<string, unknown>;
      const paths = doc.paths;
      if (typeof paths !== 'object' || paths === null || Array.isArray(paths)) {
        throw new ConfigError(key, 'is not an OpenAPI document: it has no "paths" object');
      }
      for (const base of basePaths(doc)) {
        let root = byBase.get(base);
        if (root === undefined) {
          root = newNode();
          byBase.set(base, root);
        }
        for (const template of Object.keys(paths)) {
          if (!template.startsWith('/')) continue; // only `/...` keys are paths (OpenAPI 3.1 section 4.8.8)
          insert(root, template, `${key}.paths["${template}"]`);
        }
      }
    });
    return new OpenApiRoutes([...byBase].map(([base, root]) => ({ base, root })));
  }

  /** The template of `path` (base path included), or undefined when no documented path matches. */
  match(path: string): string | undefined {
    for (const { base, root } of this.#bases) {
      if (base !== '' && !(path.startsWith(base) && (path.length === base.length || path[base.length] === '/'))) {
        continue;
      }
      const rest = path.slice(base.length) || '/';
      const segments = rest.split('/');
      let template = find(root, segments, 1);
      // `/users/` for `/users`: servers commonly treat them alike, documents list one of the two.
      if (template === undefined && segments.length > 2 && segments[segments.length - 1] === '') {
        template = find(root, segments.slice(0, -1), 1);
      }
      if (template !== undefined) return base + template;
    }
    return undefined;
  }
}

function basePaths(doc: Record<string, unknown>): string[] {
  const bases = new Set<string>();
  if (typeof doc.basePath === 'string') bases.add(trimSlash(doc.basePath)); // Swagger 2
  if (Array.isArray(doc.servers)) {
    for (const server of doc.servers) {
      if (typeof server !== 'object' || server === null) continue;
      const { url, variables } = server as { url?: unknown; variables?: Record<string, { default?: unknown }> };
      if (typeof url !== 'string') continue;
      const resolved = url.replace(/\{([^}]+)\}/g, (_, name: string) => {
        const value = variables?.[name]?.default;
        return typeof value === 'string' ? value : '';
      });
      const absolute = HTTP_URL_PATH.exec(resolved);
      const path = absolute ? (absolute[1] ?? '') : resolved.startsWith('/') ? resolved : '';
      bases.add(trimSlash(path.split(/[?#]/)[0]!));
    }
  }
  bases.add(''); // a document whose servers are wrong still matches paths sent without the base
  return [...bases];
}

function trimSlash(path: string): string {
  return path.endsWith('/') ? path.replace(/\/+$/, '') : path;
}

function insert(root: RouteNode, template: string, key: string): void {
  let node = root;
  const segments = template.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const open = segment.indexOf('{');
    if (open === -1) {
      if (segment.indexOf('}') !== -1) throw new ConfigError(key, 'has a "}" without its "{"');
      let next = node.literal.get(segment);
      if (next === undefined) {
        next = newNode();
        node.literal.set(segment, next);
      }
      node = next;
    } else if (open === 0 && segment.indexOf('}') === segment.length - 1 && segment.indexOf('{', 1) === -1) {
      node.whole ??= newNode();
      node = node.whole;
    } else {
      const pattern = partialPattern(segment, key);
      let entry = node.partial.find((p) => p.pattern.source === pattern.source);
      if (entry === undefined) {
        entry = { pattern, node: newNode() };
        node.partial.push(entry);
      }
      node = entry.node;
    }
  }
  node.template ??= template;
}

function partialPattern(segment: string, key: string): RegExp {
  let source = '^';
  let i = 0;
  while (i < segment.length) {
    const open = segment.indexOf('{', i);
    const literal = open === -1 ? segment.slice(i) : segment.slice(i, open);
    if (literal.indexOf('}') !== -1) throw new ConfigError(key, 'has a "}" without its "{"');
    source += literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (open === -1) break;
    const close = segment.indexOf('}', open);
    if (close === -1) throw new ConfigError(key, 'has a "{" without its "}"');
    source += '(?:.+?)';
    i = close + 1;
  }
  return new RegExp(`${source}$`);
}

/** Depth-first: a literal segment before a partial parameter before a whole-segment parameter, backtracking. */
function find(node: RouteNode, segments: readonly string[], index: number): string | undefined {
  if (index === segments.length) return node.template;
  const segment = segments[index]!;
  const literal = node.literal.get(segment);
  if (literal !== undefined) {
    const found = find(literal, segments, index + 1);
    if (found !== undefined) return found;
  }
  if (segment === '') return undefined; // a parameter never matches an empty segment
  for (const { pattern, node: next } of node.partial) {
    if (pattern.test(segment)) {
      const found = find(next, segments, index + 1);
      if (found !== undefined) return found;
    }
  }
  return node.whole === undefined ? undefined : find(node.whole, segments, index + 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Learning

export interface RouteLearningOptions {
  /** A segment position becomes `{param}` once more than this many distinct values were seen under one parent. Default 50. */
  readonly maxDistinctValues?: number;
  /** Parents whose values are being counted, at most; beyond, the oldest is forgotten. Default 10 000. */
  readonly maxTrackedPrefixes?: number;
  /** Learned parameter positions kept, at most; when full, learning stops (nothing learned is ever forgotten). Default 10 000. */
  readonly maxLearnedPrefixes?: number;
  /**
   * Segments before this depth are never learned (0 is the first segment). Default 1: an API's top-level
   * resources are few and static, and a scanner probing `/wp-admin`, `/.env`, `/phpmyadmin`... must not turn
   * them into `/{param}`.
   */
  readonly minDepth?: number;
  /** Only requests answered below this status teach (a scanner's 404s are not routes). Events without status do. Default 400. */
  readonly learnBelowStatus?: number;
}

export const ROUTE_LEARNING_DEFAULTS = {
  maxDistinctValues: 50,
  maxTrackedPrefixes: 10_000,
  maxLearnedPrefixes: 10_000,
  minDepth: 1,
  learnBelowStatus: 400,
} as const;

/** Paths deeper or longer than this are templated but teach nothing, which bounds the size of a tracked key. */
const MAX_LEARNING_DEPTH = 16;
const MAX_LEARNING_PATH_LENGTH = 1024;

export interface RouteTemplateOptions {
  /** OpenAPI 3 / Swagger 2 document(s), already parsed (JSON.parse or the yaml package). */
  readonly openapi?: unknown;
  /** Per-segment heuristics. Default on. */
  readonly heuristics?: boolean;
  /** Learning from traffic; `false` turns it off. Default on with ROUTE_LEARNING_DEFAULTS. */
  readonly learning?: RouteLearningOptions | false;
}

/**
 * Turns raw paths into route templates, learning from the paths it is shown. Stateful (the learned positions), so
 * one instance per pipeline.
 */
export class RouteTemplater {
  readonly #openapi: OpenApiRoutes | undefined;
  readonly #heuristics: boolean;
  readonly #learning: Required<RouteLearningOptions> | undefined;
  /** Parent template → hashes of the distinct raw values seen directly below it (at most maxDistinctValues + 1). */
  readonly #candidates = new Map<string, Set<number>>();
  /** Parent templates whose next segment is a learned parameter. */
  readonly #learned = new Set<string>();

  constructor(options: RouteTemplateOptions = {}) {
    this.#openapi = options.openapi === undefined ? undefined : OpenApiRoutes.from(options.openapi);
    this.#heuristics = options.heuristics ?? true;
    if (options.learning !== false) {
      const learning = { ...ROUTE_LEARNING_DEFAULTS, ...options.learning };
      for (const [key, value] of Object.entries(learning)) {
        if (!Number.isSafeInteger(value) || value < 0) {
          throw new ConfigError(`routes.learning.${key}`, `must be a non-negative integer, got ${value}`);
        }
      }
      this.#learning = learning;
    }
  }

  /**
   * The route template of `path`; undefined for something that is not an origin-form path (`-`, `*`, a CONNECT
   * authority). `status` is the response status, which decides whether this request may teach.
   *
   * @example
   * templater.template('/users/4711/avatar.png'); // '/users/{id}/avatar.png'
   */
  template(path: string, status?: number): string | undefined {
    if (path.charCodeAt(0) !== 0x2f) return undefined;
    const question = path.indexOf('?');
    const clean = question === -1 ? path : path.slice(0, question);
    if (this.#openapi !== undefined) {
      const documented = this.#openapi.match(clean);
      if (documented !== undefined) return documented;
    }
    const learning = this.#learning;
    const teaches =
      learning !== undefined &&
      clean.length <= MAX_LEARNING_PATH_LENGTH &&
      (status === undefined || status < learning.learnBelowStatus);
    const segments = clean.split('/');
    let route = '';
    for (let i = 1; i < segments.length; i++) {
      const raw = segments[i]!;
      let segment = this.#heuristics ? templateSegment(raw) : raw;
      if (learning !== undefined && segment === raw && raw !== '') {
        if (this.#learned.has(route)) segment = LEARNED_PARAMETER;
        else if (
          teaches &&
          i - 1 >= learning.minDepth &&
          i <= MAX_LEARNING_DEPTH &&
          this.#observe(route, raw, learning)
        ) {
          segment = LEARNED_PARAMETER;
        }
      }
      route += `/${segment}`;
    }
    return route === '' ? '/' : route;
  }

  /** Count `value` under `parent`; true when that makes the position a parameter. */
  #observe(parent: string, value: string, learning: Required<RouteLearningOptions>): boolean {
    let values = this.#candidates.get(parent);
    if (values === undefined) {
      if (this.#candidates.size >= learning.maxTrackedPrefixes) {
        // Forget the oldest parent: deterministic, O(1), and a flood of new parents cannot pin the table.
        this.#candidates.delete(this.#candidates.keys().next().value!);
      }
      values = new Set();
      this.#candidates.set(parent, values);
    }
    if (values.size <= learning.maxDistinctValues) values.add(fnv1a(value));
    if (values.size > learning.maxDistinctValues && this.#learned.size < learning.maxLearnedPrefixes) {
      this.#learned.add(parent);
      this.#candidates.delete(parent);
      return true;
    }
    return false;
  }

  /** Parent templates whose next segment has been learned as a parameter, in the order they were learned. */
  learnedPrefixes(): string[] {
    return [...this.#learned];
  }

  /** Sizes of the learning tables, for metrics. */
  stats(): { trackedPrefixes: number; learnedPrefixes: number } {
    return { trackedPrefixes: this.#candidates.size, learnedPrefixes: this.#learned.size };
  }
}

/** 32-bit FNV-1a over UTF-16 code units: a stable, allocation-free fingerprint of a segment value. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The stage: adds `http.route` from `url.path` to events that have a path and no route.
 *
 * @example
 * const stage = createRouteTemplateStage({ openapi: parsedDocument });
 * stage.apply(event).attributes['http.route']; // '/users/{userId}'
 */
export function createRouteTemplateStage(
  options: RouteTemplateOptions = {},
): EnrichmentStage & { readonly templater: RouteTemplater } {
  const templater = new RouteTemplater(options);
  return {
    name: 'route-template',
    templater,
    apply(event: SecurityEvent): SecurityEvent {
      const existing = event.attributes[Field.httpRoute];
      if (typeof existing === 'string' && existing !== '') return event;
      const path = event.attributes[Field.urlPath];
      if (typeof path !== 'string') return event;
      const status = event.attributes[Field.httpResponseStatusCode];
      const route = templater.template(path, typeof status === 'number' ? status : undefined);
      return route === undefined ? event : withAttributes(event, { [Field.httpRoute]: route });
    },
  };
}
