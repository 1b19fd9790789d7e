/**
 * The API inventory: every endpoint observed (methods, first and last seen, volume, how much of its traffic was
 * authenticated, its recent status mix), compared with the imported OpenAPI document: **shadow** endpoints (called
 * but not documented), **zombie** endpoints (documented as deprecated but still called), documented endpoints never
 * called, and endpoints that appeared recently.
 */
import type { BehaviourDetector } from '@vigil/engine';
import { VigilError } from '../errors.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
/** An endpoint first seen within this much event time of the newest traffic counts as new. */
export const NEW_ENDPOINT_MILLIS = 86_400_000;

interface Documented {
  readonly route: string;
  readonly method: string;
  readonly deprecated: boolean;
}

export interface InventoryItem {
  route: string;
  method: string;
  /** A GraphQL operation the baselines learn apart from its route: one row per operation. */
  operation?: { type: string; fields?: readonly string[]; name?: string };
  status: 'documented' | 'shadow' | 'zombie' | 'unused' | 'undocumented-spec-missing';
  documentedAs?: string;
  deprecated: boolean;
  new: boolean;
  requests: number;
  firstSeen?: string;
  lastSeen?: string;
  authenticatedShare?: number;
  recent?: { requests: number; errors4xx: number; errors5xx: number };
}

/** `/users/{userId}`, `/users/:id` and `/users/{id}` all become `/users/{}`: templates compare by shape. */
export function templateShape(route: string): string {
  return route
    .split('/')
    .map((seg) => (/^\{[^}]*\}$/.test(seg) || seg.startsWith(':') ? '{}' : seg))
    .join('/')
    .replace(/\/+$/, '');
}

/** The documented operations of an OpenAPI 3 / Swagger 2 document, with the servers' base path. */
export function documentedOperations(doc: unknown): Documented[] {
  if (typeof doc !== 'object' || doc === null) return [];
  const d = doc as { paths?: Record<string, Record<string, unknown>>; servers?: { url?: string }[]; basePath?: string };
  let base = d.basePath ?? '';
  const server = d.servers?.[0]?.url;
  if (typeof server === 'string') {
    try {
      base = new URL(server, 'http://base.invalid').pathname;
    } catch {
      // a templated server URL: no base path
    }
  }
  base = base.replace(/\/+$/, '');
  const out: Documented[] = [];
  for (const [path, item] of Object.entries(d.paths ?? {})) {
    if (typeof item !== 'object' || item === null) continue;
    for (const method of METHODS) {
      const op = (item as Record<string, unknown>)[method] as { deprecated?: unknown } | undefined;
      if (op && typeof op === 'object')
        out.push({ route: `${base}${path}`, method: method.toUpperCase(), deprecated: op.deprecated === true });
    }
  }
  return out;
}

export function buildInventory(
  detector: BehaviourDetector | undefined,
  openapi: unknown,
): { openapi: boolean; endpoints: InventoryItem[] } {
  if (!detector)
    throw new VigilError(
      'not_found',
      'the inventory is learned by the baselines: set detection.baselines.enabled: true',
    );
  const documented = documentedOperations(openapi);
  const byShape = new Map(documented.map((op) => [`${op.method} ${templateShape(op.route)}`, op]));
  const observed = detector.endpointKeys();
  const newest = observed.reduce((max, e) => Math.max(max, e.lastSeen), 0);
  const seen = new Set<string>();
  const items: InventoryItem[] = observed.map((e) => {
    const key = `${e.method} ${templateShape(e.route)}`;
    seen.add(key);
    const doc = byShape.get(key);
    const view = detector.baselineFor(e.route, e.method, e.operation);
    const recent = view?.recentBuckets.reduce(
      (acc, b) => ({
        requests: acc.requests + b.requests,
        errors4xx: acc.errors4xx + b.errors4xx,
        errors5xx: acc.errors5xx + b.errors5xx,
      }),
      { requests: 0, errors4xx: 0, errors5xx: 0 },
    );
    return {
      route: e.route,
      method: e.method,
      ...(e.operation ? { operation: e.operation } : {}),
      status:
        documented.length === 0
          ? 'undocumented-spec-missing'
          : !doc
            ? 'shadow'
            : doc.deprecated
              ? 'zombie'
              : 'documented',
      ...(doc ? { documentedAs: doc.route } : {}),
      deprecated: doc?.deprecated ?? false,
      new: newest - e.firstSeen <= NEW_ENDPOINT_MILLIS,
      requests: e.requests,
      firstSeen: new Date(e.firstSeen).toISOString(),
      lastSeen: new Date(e.lastSeen).toISOString(),
      ...(view ? { authenticatedShare: view.authenticatedShare } : {}),
      ...(recent ? { recent } : {}),
    };
  });
  for (const op of documented) {
    if (seen.has(`${op.method} ${templateShape(op.route)}`)) continue;
    items.push({
      route: op.route,
      method: op.method,
      status: 'unused',
      deprecated: op.deprecated,
      new: false,
      requests: 0,
    });
  }
  const operationOf = (item: InventoryItem) =>
    item.operation ? `${item.operation.type} ${item.operation.fields?.join(' ') ?? item.operation.name}` : '';
  items.sort(
    (a, b) =>
      a.route.localeCompare(b.route) ||
      a.method.localeCompare(b.method) ||
      operationOf(a).localeCompare(operationOf(b)),
  );
  return { openapi: documented.length > 0, endpoints: items };
}
