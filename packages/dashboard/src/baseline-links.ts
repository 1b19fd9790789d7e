/**
 * Links to what the behaviour detectors learned: an endpoint's baseline (`#/endpoint?route=…&method=…[&operation=…]`)
 * and a principal's profile (`#/principal?user.id=…`, or `vigil.api_key.id=` / `client.address=`), from the alert
 * page, the events table, the inventory and the profiles themselves.
 */
import type { AlertJson, OperationJson } from './api.js';
import { routeHref, routeLink, valueText, visible } from './dom.js';
import { FIELD, PRINCIPAL_FIELDS } from './format.js';

/** An endpoint as the baselines know it: a route and method, and a GraphQL operation learned apart. */
export interface EndpointRef {
  readonly route: string;
  /** Unknown when an alert names a route without a method: the endpoint view then lists the route's methods. */
  readonly method?: string;
  /** As the API takes it: `mutation { deleteUser }` or `mutation DeleteUser`. */
  readonly operation?: string;
}

/** An operation as the API takes and writes it: `mutation { deleteUser }` by its root fields, else by its name. */
export function operationText(operation: OperationJson): string {
  return operation.fields
    ? `${operation.type} { ${operation.fields.join(' ')} }`
    : `${operation.type} ${operation.name}`;
}

/** `GET /users/{id}`, `POST /graphql (mutation { deleteUser })`: an endpoint as the detectors' summaries name it. */
export function endpointName(ref: EndpointRef): string {
  return `${ref.method ?? ''} ${ref.route}${ref.operation ? ` (${ref.operation})` : ''}`.trim();
}

const KEY_WITH_OPERATION = /^(\S+) (.+) \(((?:query|mutation|subscription) .+)\)$/;

/** The parts of an endpoint key as a profile lists it: `GET /users/{id}`, `POST /graphql (mutation { deleteUser })`. */
export function endpointOfKey(key: string): EndpointRef {
  const m = KEY_WITH_OPERATION.exec(key);
  if (m) return { method: m[1]!, route: m[2]!, operation: m[3]! };
  const space = key.indexOf(' ');
  return space < 0 ? { route: key } : { method: key.slice(0, space), route: key.slice(space + 1) };
}

/** The endpoint an alert's labels name (`http.route`, `http.request.method`, a GraphQL operation's), if any. */
export function endpointOfLabels(labels: Readonly<Record<string, string>>): EndpointRef | undefined {
  const route = labels[FIELD.route];
  if (route === undefined) return undefined;
  const type = labels[FIELD.graphqlType];
  const fields = labels[FIELD.graphqlRootFields];
  const name = labels[FIELD.graphqlName];
  const operation = type && fields ? `${type} { ${fields} }` : type && name ? `${type} ${name}` : undefined;
  return { route, method: labels[FIELD.method], operation };
}

/** `#/endpoint?route=…&method=…[&operation=…]`, every value percent-encoded. */
export function endpointHref(ref: EndpointRef): string {
  return routeHref(['endpoint'], { route: ref.route, method: ref.method, operation: ref.operation });
}

export function endpointLink(ref: EndpointRef, ...children: (Node | string)[]): HTMLAnchorElement {
  const link = routeLink(['endpoint'], { route: ref.route, method: ref.method, operation: ref.operation }, ...children);
  link.title = visible(`what normal looks like for ${endpointName(ref)}`);
  return link;
}

export function principalLink(field: string, value: string, ...children: (Node | string)[]): HTMLAnchorElement {
  const link = routeLink(['principal'], { [field]: value }, ...children);
  link.title = visible(`the usual behaviour of ${field} ${value}`);
  return link;
}

/** The behaviour detectors that compare an endpoint with its own baseline; the others compare a principal. */
const ENDPOINT_DETECTORS = [
  'endpoint-volume',
  'endpoint-errors',
  'endpoint-callers',
  'endpoint-latency',
  'endpoint-growth',
  'unauthenticated-access',
];
const BASELINE_RULE_PREFIX = 'vigil-baseline-';

/**
 * For an alert of a behaviour detector (`vigil-baseline-*`), a link to the baseline it deviates from: the endpoint's
 * for the endpoint detectors, the principal's profile for the others; undefined for a rule's alert.
 */
export function deviatesFrom(alert: AlertJson): HTMLAnchorElement | undefined {
  if (!alert.rule.id.startsWith(BASELINE_RULE_PREFIX)) return undefined;
  const detector = alert.rule.id.slice(BASELINE_RULE_PREFIX.length);
  const endpoint = endpointOfLabels(alert.labels);
  const principal = PRINCIPAL_FIELDS.find((f) => alert.labels[f] !== undefined);
  if (endpoint && (ENDPOINT_DETECTORS.includes(detector) || !principal))
    return endpointLink(endpoint, 'the learned baseline of ', valueText(endpointName(endpoint), 160));
  if (principal) {
    const value = alert.labels[principal]!;
    return principalLink(principal, value, `the usual behaviour of ${principal} `, valueText(value, 160));
  }
  return undefined;
}
