/**
 * Field mapping from Sigma's web-server taxonomy (W3C extended log names, as used by the public SigmaHQ `web`
 * rules) to Vigil's OpenTelemetry / ECS field names, so those rules run unchanged on Vigil events.
 *
 * A field that is not in the table is read as the Vigil attribute of the same name, so rules written for Vigil
 * simply use Vigil names (`client.address`, `http.route`, `user.id`...).
 */
import { Field, type FieldValue, type SecurityEvent } from '@vigil/schema';

export type FieldAccessor = (event: SecurityEvent) => FieldValue | undefined;

/**
 * OpenTelemetry's name for the local (server-side) IP address of a connection. Vigil's schema does not define it
 * (events carry `server.address`, the name the client asked for), so `s-ip` reads it only if a source sets it.
 */
const NETWORK_LOCAL_ADDRESS = 'network.local.address';

/** Sigma web-server taxonomy name → Vigil field, for the fields that map one to one. */
export const SIGMA_WEB_FIELD_MAPPING: Readonly<Record<string, string>> = {
  'cs-method': Field.httpRequestMethod,
  'cs-uri-stem': Field.urlPath,
  'cs-uri-query': Field.urlQuery,
  'c-uri-query': Field.urlQuery,
  'c-ip': Field.clientAddress,
  'c-useragent': Field.userAgentOriginal,
  'cs-user-agent': Field.userAgentOriginal,
  'sc-status': Field.httpResponseStatusCode,
  'cs-referer': Field.httpRequestReferrer,
  'cs-referrer': Field.httpRequestReferrer,
  'cs-host': Field.serverAddress,
  's-ip': NETWORK_LOCAL_ADDRESS,
  's-port': Field.serverPort,
  'cs-bytes': Field.httpRequestBodySize,
  'sc-bytes': Field.httpResponseBodySize,
  'cs-username': Field.userId,
};

/**
 * Sigma names whose value Vigil computes from other fields. Their group label keeps the Sigma name, as no single
 * Vigil field holds the value.
 */
const COMPUTED_FIELDS: Readonly<Record<string, FieldAccessor>> = {
  // The URI as requested: path, then `?` and the query when there is one (`url.query` has no leading `?`).
  'c-uri': readPathAndQuery,
  'cs-uri': readPathAndQuery,
  // The file extension of the last path segment, without the dot (`php` for `/a/shell.php`).
  'c-uri-extension': (event) => {
    const path = event.attributes[Field.urlPath];
    if (typeof path !== 'string') return undefined;
    const segment = path.slice(path.lastIndexOf('/') + 1);
    const dot = segment.lastIndexOf('.');
    return dot === -1 ? undefined : segment.slice(dot + 1);
  },
  // W3C `date` and `time` are UTC; Vigil derives them from the event time.
  date: (event) => new Date(event.time).toISOString().slice(0, 10),
  time: (event) => new Date(event.time).toISOString().slice(11, 19),
  // The event's type (`authn_login_fail`, `http_request`...), for rules that cover several types.
  type: (event) => event.type,
};

function readPathAndQuery(event: SecurityEvent): FieldValue | undefined {
  const path = event.attributes[Field.urlPath];
  const query = event.attributes[Field.urlQuery];
  if (typeof path !== 'string') return typeof query === 'string' ? `?${query}` : undefined;
  return typeof query === 'string' && query !== '' ? `${path}?${query}` : path;
}

/** The Vigil name under which a Sigma field's value appears in group labels and summaries. */
export function vigilFieldName(sigmaField: string): string {
  return SIGMA_WEB_FIELD_MAPPING[sigmaField] ?? sigmaField;
}

/** How to read a Sigma field from an event. */
export function fieldAccessor(sigmaField: string): FieldAccessor {
  const computed = Object.hasOwn(COMPUTED_FIELDS, sigmaField) ? COMPUTED_FIELDS[sigmaField] : undefined;
  if (computed) return computed;
  const name = vigilFieldName(sigmaField);
  // `constructor`, `toString`... would otherwise be read from Object.prototype; only such names pay for the check.
  if (name in Object.prototype)
    return (event) => (Object.hasOwn(event.attributes, name) ? event.attributes[name] : undefined);
  return (event) => event.attributes[name];
}

/** A field value as a string (group labels, value_count): arrays joined with `,`. Undefined when absent. */
export function fieldValueToString(value: FieldValue | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
