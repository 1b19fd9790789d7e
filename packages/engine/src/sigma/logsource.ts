/**
 * Which Vigil events a rule's `logsource` covers.
 *
 * - `category: webserver` (with no `product`, or any product such as apache, nginx or iis) covers request events
 *   (`type: http_request`): Vigil's request events carry what a web-server access log does, so SigmaHQ `web` rules
 *   apply to every API Vigil watches, whichever server produced the event.
 * - `product: vigil` covers Vigil's own vocabulary. `category` may name an event category of the vocabulary
 *   (`authn`, `authz`, `session`, `input`, `request`... see docs/events.md) or `webserver`; `service` may name one
 *   event type (`authn_login_fail`, or a custom `x_...` type). Both may be given; neither means every event.
 * - Any other log source (windows, process_creation, proxy...) describes logs Vigil never sees, and is rejected
 *   with a lint error rather than silently never matching.
 */
import type { SecurityEvent } from '@vigil/schema';
import { EVENT_TYPES, isKnownEventType } from '@vigil/schema';

export type EventFilter = (event: SecurityEvent) => boolean;

export const VIGIL_PRODUCT = 'vigil';
export const WEBSERVER_CATEGORY = 'webserver';
const HTTP_REQUEST_TYPE = 'http_request';

/**
 * `types`: the event types the log source can cover, or undefined for every type. The engine uses it to skip a
 * rule for events it can never match.
 */
export type LogsourceResult =
  | { ok: true; filter: EventFilter; types: ReadonlySet<string> | undefined }
  | { ok: false; message: string };

const everyEvent: EventFilter = () => true;
const requestEvents: EventFilter = (event) => event.type === HTTP_REQUEST_TYPE;

export function compileLogsource(logsource: unknown): LogsourceResult {
  if (logsource === null || typeof logsource !== 'object' || Array.isArray(logsource)) {
    return { ok: false, message: '`logsource` is required: a map with `category`, `product` and/or `service`' };
  }
  const { category, product, service } = logsource as Record<string, unknown>;
  for (const [key, value] of [
    ['category', category],
    ['product', product],
    ['service', service],
  ] as const) {
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return { ok: false, message: `logsource \`${key}\` must be a string` };
    }
  }
  const categoryName = typeof category === 'string' ? category.toLowerCase() : undefined;
  const productName = typeof product === 'string' ? product.toLowerCase() : undefined;
  const serviceName = typeof service === 'string' ? service : undefined;

  if (productName === VIGIL_PRODUCT) {
    const filters: EventFilter[] = [];
    let types: Set<string> | undefined;
    if (categoryName === WEBSERVER_CATEGORY) {
      filters.push(requestEvents);
      types = new Set([HTTP_REQUEST_TYPE]);
    } else if (categoryName !== undefined) {
      const inCategory = new Set(EVENT_TYPES.filter((t) => t.category === categoryName).map((t) => t.type));
      if (inCategory.size === 0) {
        const known = [...new Set(EVENT_TYPES.map((t) => t.category))].sort().join(', ');
        return {
          ok: false,
          message: `unknown Vigil event category \`${categoryName}\` (known: ${known}, or webserver)`,
        };
      }
      filters.push((event) => inCategory.has(event.type));
      types = inCategory;
    }
    if (serviceName !== undefined) {
      if (!isKnownEventType(serviceName)) {
        return {
          ok: false,
          message: `unknown Vigil event type \`${serviceName}\` in \`service\` (see docs/events.md; custom types start with x_)`,
        };
      }
      if (types !== undefined && !types.has(serviceName)) {
        const own = EVENT_TYPES.find((t) => t.type === serviceName)?.category;
        return {
          ok: false,
          message:
            `\`service: ${serviceName}\` is not an event of \`category: ${categoryName}\`` +
            `${own ? ` (it is in ${own})` : ''}: the rule could never match; drop one of the two`,
        };
      }
      filters.push((event) => event.type === serviceName);
      types = new Set([serviceName]);
    }
    const [first, second] = filters;
    if (!first) return { ok: true, filter: everyEvent, types: undefined };
    return { ok: true, filter: second ? (event) => first(event) && second(event) : first, types };
  }
  if (categoryName === WEBSERVER_CATEGORY) {
    return { ok: true, filter: requestEvents, types: new Set([HTTP_REQUEST_TYPE]) };
  }
  const described = Object.entries({ category, product, service })
    .filter(([, v]) => typeof v === 'string')
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(', ');
  return {
    ok: false,
    message: `Vigil has no events for logsource {${described}}: use \`category: webserver\` or \`product: vigil\``,
  };
}
