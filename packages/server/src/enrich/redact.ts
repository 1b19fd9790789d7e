/**
 * Collector-side redaction: the same redactor the SDK runs before events leave the app, run again at ingest, so
 * a sender that is not the SDK (OTLP, access logs, a hand-written client) cannot store a secret in clear either.
 * Values under sensitive names become `[REDACTED]`; query strings and free text lose card numbers, bearer
 * tokens, JWTs, `Authorization` values and `key=value` secrets; query parameters named like a credential in a URL
 * (`code`, `key`, `sig`) lose their value, in `url.query`, in URLs (`url.full`, the referrer, an inspected `Referer`)
 * and as inspected parameters. An inspected operator object under a sensitive key shows its keys only; a JSON object
 * inspected under any other key has the values of the sensitive keys inside it hidden. A field that is not one of the
 * event model's is the sender's own data, flattened (`{"password": {"new": "x"}}` or an OTLP map arrives as
 * `password.new`): it is hidden when any object above it is sensitive, as the SDK hides a sensitive key's whole
 * subtree; a field of the model is judged by its last segment only (`session.id` is the session cookie's hash). The
 * segments of `url.path` and `url.full` that the event's `http.route` names as secret parameters are hidden too.
 */
import {
  createRedactor,
  Field,
  type FieldValue,
  hideOperands,
  hideSecretKeys,
  hideSecretSegments,
  memoByKey,
  REDACTED,
  type SecurityEvent,
  secretSegments,
} from '@vigil/schema';
import { INSPECT_PREFIX } from './payload.js';
import type { EnrichmentStage } from './stage.js';

/** Inspected query parameters (`vigil.inspect.query.code`) are judged by their name as a query parameter too. */
const INSPECTED_QUERY_PREFIX = `${INSPECT_PREFIX}query.`;
/**
 * Fields that hold a URL, whose query is judged as `url.query` is (an OAuth `code=` in a Referer), and a path, whose
 * escaped segments are judged decoded (`/cards/4111%201111%201111%201111`).
 */
const URL_FIELDS = new Set<string>([Field.urlFull, Field.httpRequestReferrer, Field.urlPath, Field.urlOriginal]);
/** Inspected headers: a URL among them (`referer`) too. */
const INSPECTED_HEADER_PREFIX = `${INSPECT_PREFIX}header.`;
/**
 * Inspected body values: under a sensitive key, an operator object (`vigil.inspect.body.password` = `{"$ne":null}`)
 * keeps its keys, with every string and number hidden, so that rules see the attack. Under another key, what a JSON
 * object holds under a sensitive key is hidden (`vigil.inspect.body.filter` = `{"$or":[{"password":"[REDACTED]"}]}`),
 * however deep and whatever its type: free text finds a `"password":"x"` pair, not `"password":["x"]`.
 */
const INSPECTED_BODY_PREFIX = `${INSPECT_PREFIX}body.`;
/** The event model's own field names. */
const MODEL_FIELDS: ReadonlySet<string> = new Set(Object.values(Field));
/** A URL's scheme and authority, its path, and what follows (query, fragment). */
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)([\s\S]*)$/;

export function createRedactionStage(options: { keys?: readonly string[] } = {}): EnrichmentStage {
  const redactor = createRedactor({ keys: options.keys ?? [] });
  /**
   * A value of the sender's data below its location (`vigil.inspect.body.password.new`, or `credentials.value` of a
   * flattened object) is hidden when any key on its way is sensitive, or a configured path names it or an object
   * above it (`customer.address` hides `…customer.address.street`), as the SDK hides a sensitive key's whole
   * subtree. An inspected value's location is where it came from (`vigil.inspect.body`); any other field's is the
   * root, unless it is a field of the model. Judged once per name (field names repeat from event to event).
   */
  const underSecret = memoByKey((name: string): boolean => {
    let location: number;
    if (name.startsWith(INSPECT_PREFIX)) {
      location = name.indexOf('.', INSPECT_PREFIX.length);
      if (location === -1) return false;
    } else if (MODEL_FIELDS.has(name)) {
      return false;
    } else {
      location = -1;
    }
    for (let dot = name.indexOf('.', location + 1); dot !== -1; dot = name.indexOf('.', dot + 1)) {
      if (redactor.isSensitivePath(name.slice(location + 1, dot))) return true;
    }
    return false;
  });
  const clean = (name: string, value: string): string => {
    if (underSecret(name)) return REDACTED;
    if (redactor.isSensitivePath(name)) {
      const operators = name.startsWith(INSPECTED_BODY_PREFIX) ? hideOperands(value) : undefined;
      return operators === undefined ? REDACTED : redactor.string(operators);
    }
    if (name.startsWith(INSPECTED_BODY_PREFIX)) {
      const at = name.slice(INSPECTED_BODY_PREFIX.length);
      const shown = hideSecretKeys(
        value,
        (keys) =>
          redactor.isSensitiveKey(keys[keys.length - 1]!) || redactor.isSensitivePath(`${at}.${keys.join('.')}`),
      );
      if (shown !== undefined) return redactor.text(shown);
    }
    const inspectedQuery = name.startsWith(INSPECTED_QUERY_PREFIX);
    if (inspectedQuery && redactor.isSensitiveQueryName(name.slice(INSPECTED_QUERY_PREFIX.length))) return REDACTED;
    if (name === Field.urlQuery) return redactor.query(value);
    return URL_FIELDS.has(name) || name.startsWith(INSPECTED_HEADER_PREFIX)
      ? redactor.url(value)
      : redactor.text(value);
  };
  /** Per route template, the segments its parameters named as secrets take (`/reset/{token}`): mostly none. */
  const routeSecrets = memoByKey((route: string) => secretSegments(route, redactor.isSensitiveKey));
  /**
   * The request's path in `url.path`, `url.original` or `url.full` with the segments of the route's secret parameters
   * hidden, as the SDK hides them: the route a framework matched (an OTLP span's `http.route`: `/reset/:token`), or the
   * one the route-template stage gave (an OpenAPI `/reset/{token}`, a segment it took for a `{token}`).
   */
  const hideRouteSecrets = (name: string, value: string, secrets: readonly number[]): string => {
    // `url.original` is a path as the url-path stage keeps it, or a whole URL as a sender may send it.
    const parts = name === Field.urlPath ? null : URL_PARTS.exec(value);
    if (!parts) return name === Field.urlFull ? value : (hideSecretSegments(value, secrets) ?? value);
    const path = hideSecretSegments(parts[2]!, secrets);
    return path ? parts[1] + path + parts[3] : value;
  };
  return {
    name: 'redact',
    apply(event: SecurityEvent): SecurityEvent {
      let changed: Record<string, FieldValue> | undefined;
      const route = event.attributes[Field.httpRoute];
      const secrets = typeof route === 'string' ? routeSecrets(route) : [];
      for (const [name, value] of Object.entries(event.attributes)) {
        let next: FieldValue = value;
        if (typeof value === 'string') {
          const path =
            secrets.length > 0 && (name === Field.urlPath || name === Field.urlOriginal || name === Field.urlFull)
              ? hideRouteSecrets(name, value, secrets)
              : value;
          next = clean(name, path);
        } else if (Array.isArray(value)) {
          const cleaned = value.map((v) => clean(name, v));
          if (cleaned.some((v, i) => v !== value[i])) next = cleaned;
        }
        if (next !== value) {
          changed ??= { ...event.attributes };
          changed[name] = next;
        }
      }
      return changed ? { ...event, attributes: changed } : event;
    },
  };
}
