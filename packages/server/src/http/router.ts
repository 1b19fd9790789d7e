/**
 * A routing table for a handful of routes: patterns such as `/api/v1/alerts/:id/acknowledge`, matched segment by
 * segment. It also tells a wrong method (405) from an unknown path (404).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The URL of a request target: a path (`/v1/events?x`) taken as a path, so that `//host/path` is a path too, not an
 * authority; an absolute-form target (`http://host/path`) as a URL. Undefined when it is neither.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  const text = target ?? '/';
  try {
    return text.startsWith('/') ? new URL(`http://vigil.local${text}`) : new URL(text);
  } catch {
    return undefined;
  }
}

/** What answers a route: the request, its response, its URL and the route's parameters. */
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  params: Readonly<Record<string, string>>,
) => Promise<void>;

/** A route a module hands the server to add (decisions, receivers). */
export interface RouteDefinition {
  readonly method: string;
  readonly path: string;
  readonly handler: RouteHandler;
}

export interface Match<H> {
  readonly handler: H;
  readonly params: Readonly<Record<string, string>>;
  /** The route's pattern as added (`/api/v1/alerts/:id`): what metrics may name, never the path a client sent. */
  readonly pattern: string;
}

/** A path that exists under other methods: those methods (for the `Allow` header of a 405). */
export interface WrongMethod {
  readonly allow: readonly string[];
}

interface Route<H> {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: H;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, pattern, segments: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /**
   * The matching route (a HEAD request matches a GET route: Node.js sends its headers without the body), the methods
   * of a path that exists under others, else undefined.
   */
  match(method: string, pathname: string): Match<H> | WrongMethod | undefined {
    const parts = pathname.split('/').filter(Boolean);
    const allow: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { handler: route.handler, params, pattern: route.pattern };
      }
      if (!allow.includes(route.method)) allow.push(route.method);
    }
    if (allow.includes('GET')) allow.push('HEAD');
    return allow.length > 0 ? { allow } : undefined;
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(parts[i]!);
      } catch {
        return undefined;
      }
      if (value === '') return undefined;
      params[p.slice(1)] = value;
    } else if (p !== parts[i]) return undefined;
  }
  return params;
}
