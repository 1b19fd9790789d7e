/**
 * Field names of a Vigil event, in one place.
 *
 * Names follow the OpenTelemetry semantic conventions (v1.27 stable HTTP, client, server, url, user-agent,
 * user, session, service, error attributes), chosen where they coincide with Elastic Common Schema so that
 * an ECS consumer reads them unchanged. Fields Vigil needs that neither standard defines live under `vigil.`.
 * Never retype one of these strings elsewhere: import the constant.
 */
export const Field = {
  httpRequestMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpResponseStatusCode: 'http.response.status_code',
  httpRequestBodySize: 'http.request.body.size',
  httpResponseBodySize: 'http.response.body.size',
  httpServerRequestDuration: 'http.server.request.duration',
  httpRequestId: 'http.request.id',
  httpRequestReferrer: 'http.request.referrer',
  urlPath: 'url.path',
  urlQuery: 'url.query',
  urlScheme: 'url.scheme',
  urlFull: 'url.full',
  clientAddress: 'client.address',
  clientPort: 'client.port',
  clientGeoCountryIsoCode: 'client.geo.country_iso_code',
  clientAsNumber: 'client.as.number',
  clientAsOrganizationName: 'client.as.organization.name',
  networkPeerAddress: 'network.peer.address',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  userAgentOriginal: 'user_agent.original',
  userAgentName: 'user_agent.name',
  userId: 'user.id',
  userName: 'user.name',
  userRoles: 'user.roles',
  sessionId: 'session.id',
  serviceName: 'service.name',
  serviceVersion: 'service.version',
  deploymentEnvironmentName: 'deployment.environment.name',
  traceId: 'trace.id',
  spanId: 'span.id',
  errorType: 'error.type',
  eventOutcome: 'event.outcome',
  eventReason: 'event.reason',
  eventSeverity: 'event.severity',
  tenantId: 'vigil.tenant.id',
  apiKeyId: 'vigil.api_key.id',
  targetUserId: 'vigil.target.user.id',
  objectType: 'vigil.object.type',
  objectId: 'vigil.object.id',
  changeFrom: 'vigil.change.from',
  changeTo: 'vigil.change.to',
  attemptCount: 'vigil.attempt.count',
  limitValue: 'vigil.limit.value',
  tokenId: 'vigil.token.id',
  fileName: 'file.name',
  fileType: 'vigil.file.type',
  errorFingerprint: 'vigil.error.fingerprint',
  paymentAmount: 'vigil.payment.amount',
  paymentCurrency: 'vigil.payment.currency',
  paymentId: 'vigil.payment.id',
  exportRecordCount: 'vigil.export.record_count',
  monitorName: 'vigil.monitor.name',
  regionFrom: 'vigil.region.from',
  regionTo: 'vigil.region.to',
  toolName: 'vigil.tool.name',
  inputName: 'vigil.input.name',
  sourceName: 'vigil.source.name',
} as const;

export type FieldName = (typeof Field)[keyof typeof Field];

/** The value types a field may hold. Arrays are arrays of strings (e.g. `user.roles`). */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'string[]';

export type FieldValue = string | number | boolean | string[];

export interface FieldDefinition {
  readonly name: FieldName;
  readonly type: FieldType;
  /** Which standard the name comes from. */
  readonly origin: 'otel' | 'ecs' | 'otel+ecs' | 'vigil';
  readonly description: string;
  readonly example: FieldValue;
}

const def = (
  name: FieldName,
  type: FieldType,
  origin: FieldDefinition['origin'],
  description: string,
  example: FieldValue,
): FieldDefinition => ({ name, type, origin, description, example });

/** Every known field with its type; the validator and the JSON Schema are both derived from this list. */
export const FIELDS: readonly FieldDefinition[] = [
  def(Field.httpRequestMethod, 'string', 'otel+ecs', 'HTTP request method, upper case.', 'POST'),
  def(Field.httpRoute, 'string', 'otel', 'Route template that matched the request, never the raw path.', '/users/:id'),
  def(Field.httpResponseStatusCode, 'integer', 'otel+ecs', 'HTTP response status code.', 401),
  def(Field.httpRequestBodySize, 'integer', 'otel+ecs', 'Request body size in bytes.', 512),
  def(Field.httpResponseBodySize, 'integer', 'otel+ecs', 'Response body size in bytes.', 2048),
  def(Field.httpServerRequestDuration, 'number', 'otel', 'Server-side duration of the request in seconds.', 0.012),
  def(Field.httpRequestId, 'string', 'ecs', 'Request id (X-Request-Id or generated).', 'req-8f14e45f'),
  def(Field.httpRequestReferrer, 'string', 'ecs', 'Referer header of the request.', 'https://shop.example/cart'),
  def(Field.urlPath, 'string', 'otel+ecs', 'Raw request path, secrets redacted.', '/users/4711'),
  def(Field.urlQuery, 'string', 'otel+ecs', 'Query string without the leading "?", secrets redacted.', 'page=2'),
  def(Field.urlScheme, 'string', 'otel+ecs', 'URL scheme.', 'https'),
  def(Field.urlFull, 'string', 'otel+ecs', 'Full URL, for outbound or absolute requests.', 'https://api.example/v1/x'),
  def(Field.clientAddress, 'string', 'otel+ecs', 'Address of the client (after trusted proxies).', '203.0.113.7'),
  def(Field.clientPort, 'integer', 'otel+ecs', 'Port of the client.', 51522),
  def(Field.clientGeoCountryIsoCode, 'string', 'ecs', 'ISO 3166-1 alpha-2 country of the client address.', 'DE'),
  def(Field.clientAsNumber, 'integer', 'ecs', 'Autonomous system number of the client address.', 64500),
  def(Field.clientAsOrganizationName, 'string', 'ecs', 'Organisation owning the autonomous system.', 'Example Net'),
  def(Field.networkPeerAddress, 'string', 'otel', 'Address of the immediate peer (a proxy, maybe).', '10.0.0.2'),
  def(Field.serverAddress, 'string', 'otel+ecs', 'Host name or address the request was sent to.', 'api.example'),
  def(Field.serverPort, 'integer', 'otel+ecs', 'Port the request was sent to.', 443),
  def(Field.userAgentOriginal, 'string', 'otel+ecs', 'User-Agent header as sent.', 'curl/8.5.0'),
  def(Field.userAgentName, 'string', 'otel+ecs', 'Parsed user agent name.', 'curl'),
  def(Field.userId, 'string', 'ecs', 'Id of the acting principal (the user the request ran as).', '4711'),
  def(Field.userName, 'string', 'ecs', 'Login name of the principal, when it is not an e-mail address.', 'jdoe'),
  def(Field.userRoles, 'string[]', 'ecs', 'Roles of the principal.', ['customer']),
  def(Field.sessionId, 'string', 'otel', 'Session id, hashed by the SDK (never the raw cookie).', 'b1946ac92492d234'),
  def(Field.serviceName, 'string', 'otel+ecs', 'Logical name of the service that emitted the event.', 'checkout-api'),
  def(Field.serviceVersion, 'string', 'otel+ecs', 'Version of that service.', '1.4.2'),
  def(Field.deploymentEnvironmentName, 'string', 'otel', 'Deployment environment.', 'production'),
  def(Field.traceId, 'string', 'ecs', 'W3C trace id (32 hex digits).', '4bf92f3577b34da6a3ce929d0e0e4736'),
  def(Field.spanId, 'string', 'ecs', 'W3C span id (16 hex digits).', '00f067aa0ba902b7'),
  def(Field.errorType, 'string', 'otel', 'Class of the error (exception type or status class).', 'TypeError'),
  def(Field.eventOutcome, 'string', 'ecs', 'success, failure or unknown.', 'failure'),
  def(Field.eventReason, 'string', 'ecs', 'Why it happened, in a few words (no secrets).', 'bad_password'),
  def(Field.eventSeverity, 'integer', 'ecs', 'Numeric severity given by the source (syslog scale).', 4),
  def(Field.tenantId, 'string', 'vigil', 'Tenant (organisation) of the principal.', 'acme'),
  def(Field.apiKeyId, 'string', 'vigil', 'Id (never the secret) of the API key used.', 'key_2f9a'),
  def(Field.targetUserId, 'string', 'vigil', 'User acted upon (user management, privilege changes).', '4712'),
  def(Field.objectType, 'string', 'vigil', 'Type of the object accessed or changed.', 'invoice'),
  def(Field.objectId, 'string', 'vigil', 'Id of the object accessed (may be hashed).', '9001'),
  def(Field.changeFrom, 'string', 'vigil', 'Previous value of a changed setting (role, level...).', 'user'),
  def(Field.changeTo, 'string', 'vigil', 'New value of a changed setting.', 'admin'),
  def(Field.attemptCount, 'integer', 'vigil', 'Number of attempts (e.g. retries before a success).', 3),
  def(Field.limitValue, 'integer', 'vigil', 'Configured limit that was reached.', 5),
  def(Field.tokenId, 'string', 'vigil', 'Id of a token (never the token itself).', 'tok_81c2'),
  def(Field.fileName, 'string', 'ecs', 'Name of an uploaded or stored file.', 'avatar.png'),
  def(Field.fileType, 'string', 'vigil', 'Declared or detected type of a file.', 'image/png'),
  def(Field.errorFingerprint, 'string', 'vigil', 'Stable hash of an error stack (not its message).', 'e3b0c442'),
  def(Field.paymentAmount, 'number', 'vigil', 'Amount of a payment, in the currency unit.', 49.9),
  def(Field.paymentCurrency, 'string', 'vigil', 'ISO 4217 currency code.', 'EUR'),
  def(Field.paymentId, 'string', 'vigil', 'Id of the payment or payout.', 'pay_123'),
  def(Field.exportRecordCount, 'integer', 'vigil', 'Number of records in a data export.', 1200),
  def(Field.monitorName, 'string', 'vigil', 'Name of a monitor switched on or off.', 'audit-log'),
  def(Field.regionFrom, 'string', 'vigil', 'First region of an impossible-travel pair.', 'DE'),
  def(Field.regionTo, 'string', 'vigil', 'Second region of an impossible-travel pair.', 'BR'),
  def(Field.toolName, 'string', 'vigil', 'Attack tool recognised.', 'sqlmap'),
  def(Field.inputName, 'string', 'vigil', 'Name of the input (parameter, field) concerned.', 'email'),
  def(Field.sourceName, 'string', 'vigil', 'Ingest source that produced the event (sdk, otlp, access-log...).', 'sdk'),
];

export const FIELDS_BY_NAME: ReadonlyMap<string, FieldDefinition> = new Map(FIELDS.map((f) => [f.name, f]));
