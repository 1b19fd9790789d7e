// Secrets that reach the collector from a sender other than the SDK (a hand-written client of POST /v1/events, an
// OpenTelemetry exporter, access-log lines as `vigil ingest` ships them) against a real server on loopback: the
// SQLite files (database and write-ahead log) are searched byte for byte, and the events API read back.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTestServer, type TestServer, tempDir } from '../testing/harness.js';
import { shipLines } from '../testing/line-results.js';

type Stored = Record<string, unknown>;

/** Every file of the data directory (the database, its WAL), as bytes read as Latin-1: a secret's ASCII is found. */
function storeBytes(server: TestServer): string {
  return readdirSync(server.dataDir)
    .map((file) => readFileSync(join(server.dataDir, file)).toString('latin1'))
    .join('\n');
}

async function storedEvents(server: TestServer, service: string): Promise<Stored[]> {
  const res = await server.get('/api/v1/events?limit=1000');
  const body = (await res.json()) as { events: Stored[] };
  return body.events.filter((e) => e['service.name'] === service);
}

/** Vigil events posted to /v1/events as one JSON array, as the SDK's batches and hand-written clients send them. */
async function postEvents(server: TestServer, events: readonly Record<string, unknown>[]): Promise<void> {
  const res = await server.post('/v1/events', JSON.stringify(events));
  assert.equal(res.status, 200, await res.text());
}

/** Every secret the tests sent, searched for again in the files the closed server left. */
const sent: string[] = [];

function assertNowhere(server: TestServer, secrets: readonly string[], events: readonly Stored[]): void {
  sent.push(...secrets);
  const json = JSON.stringify(events);
  const bytes = storeBytes(server);
  for (const secret of secrets) {
    assert.ok(!json.includes(secret), `${secret} is in the events API's answer: ${json}`);
    assert.ok(!bytes.includes(secret), `${secret} is in the store's files`);
  }
}

describe('secrets sent to the collector never reach the store', () => {
  let server: TestServer;
  let specDir: string;
  before(async () => {
    specDir = tempDir();
    const spec = join(specDir, 'openapi.yml');
    writeFileSync(
      spec,
      'openapi: 3.0.3\ninfo: { title: shop, version: "1" }\npaths:\n  /password/reset/{resetToken}:\n    get: {}\n',
    );
    server = await startTestServer({ enrich: { openapi: spec } }, { keepData: true });
  });
  after(async () => {
    await server.stop();
    // The store's files once the server closed them (the WAL checkpointed into the database) hold none either.
    const bytes = storeBytes(server);
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(specDir, { recursive: true, force: true });
    for (const secret of sent) assert.ok(!bytes.includes(secret), `${secret} is in the closed store's files`);
  });

  test('a nested object under a sensitive key in a Vigil event is hidden whole, as the SDK hides it', async () => {
    const secrets = ['NestedNewPassword42', 'NestedSecretValue42', 'NestedCredentialUser42', 'NestedAuthToken42'];
    await postEvents(server, [
      {
        time: Date.now() - 1000,
        type: 'x_password_changed',
        'service.name': 'nested-vigil',
        'client.address': '192.0.2.20',
        'user.id': 'alice',
        password: { new: secrets[0], strength: 'weak' },
        'secret.value': secrets[1],
        credentials: { user: secrets[2] },
        auth: { header: { value: secrets[3] } },
        profile: { plan: 'pro' },
      },
    ]);
    const [event] = await storedEvents(server, 'nested-vigil');
    assert.ok(event, 'the event is stored');
    assert.equal(event['password.new'], '[REDACTED]');
    assert.equal(event['password.strength'], '[REDACTED]');
    assert.equal(event['secret.value'], '[REDACTED]');
    assert.equal(event['credentials.user'], '[REDACTED]');
    assert.equal(event['auth.header.value'], '[REDACTED]');
    assert.equal(event['profile.plan'], 'pro', 'other nested data is kept');
    assert.equal(event['user.id'], 'alice');
    assertNowhere(server, secrets, [event]);
  });

  test('a map attribute under a sensitive key, from the OpenTelemetry SDK, is hidden whole', async () => {
    const secrets = ['OtlpMapPassword42', 'OtlpMapApiKey42'];
    const exporter = new OTLPLogExporter({
      url: `${server.url}/v1/logs`,
      headers: { Authorization: `Bearer ${server.ingestToken}` },
    });
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'nested-otlp' }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    provider.getLogger('vigil-test').emit({
      eventName: 'authn_login_fail',
      timestamp: Date.now() - 1000,
      attributes: {
        'user.id': 'bob',
        'client.address': '192.0.2.21',
        credentials: { username: 'bob', password: secrets[0] },
        'db.connection': { host: 'db.internal', apikey: secrets[1] },
      },
    });
    await provider.forceFlush();
    await provider.shutdown();
    const [event] = await storedEvents(server, 'nested-otlp');
    assert.ok(event, 'the log record is stored');
    assert.equal(event['credentials.username'], '[REDACTED]');
    assert.equal(event['credentials.password'], '[REDACTED]');
    assert.equal(event['db.connection.apikey'], '[REDACTED]');
    assert.equal(event['db.connection.host'], 'db.internal');
    assertNowhere(server, secrets, [event]);
  });

  test("platforms' session ids in access-log URLs (;jsessionid=, ?PHPSESSID=) are hidden", async () => {
    const secrets = ['JavaSession0A1B2C3D4E', 'PhpSession9f8e7d6c5b', 'AspNetSessionx1y2z3w4', 'RefererSession5u6v7w8'];
    await shipLines(server, 'combined', 'session-urls', [
      `192.0.2.30 - - [10/Oct/2026:13:55:36 +0000] "GET /cart;jsessionid=${secrets[0]} HTTP/1.1" 200 512 "-" "curl/8.5"`,
      `192.0.2.30 - - [10/Oct/2026:13:55:37 +0000] "GET /shop.php?PHPSESSID=${secrets[1]}&page=2 HTTP/1.1" 200 512 "-" "curl/8.5"`,
      `192.0.2.30 - - [10/Oct/2026:13:55:38 +0000] "GET /a.aspx?ASP.NET_SessionId=${secrets[2]} HTTP/1.1" 200 512 "https://shop.example/c;jsessionid=${secrets[3]}" "curl/8.5"`,
    ]);
    const events = await storedEvents(server, 'session-urls');
    assert.equal(events.length, 3);
    assert.deepEqual(events.map((e) => [e['url.path'], e['url.query']]).sort(), [
      ['/a.aspx', 'ASP.NET_SessionId=[REDACTED]'],
      ['/cart;jsessionid=[REDACTED]', undefined],
      ['/shop.php', 'PHPSESSID=[REDACTED]&page=2'],
    ]);
    assertNowhere(server, secrets, events);
  });

  test('credentials in access-log query strings, referrers and malformed request lines never reach the store', async () => {
    const secrets = [
      'QueryAccessTok42',
      'QueryPassword42',
      'ReferrerResetTok42',
      'MalformedLineTok42',
      'AbsoluteSig42',
    ];
    await shipLines(server, 'combined', 'query-secrets', [
      `192.0.2.50 - - [10/Oct/2026:13:55:36 +0000] "GET /cb?access_token=${secrets[0]}&password=${secrets[1]}&page=2 HTTP/1.1" 200 5 "https://shop.example/reset?token=${secrets[2]}" "curl/8.5"`,
      `192.0.2.50 - - [10/Oct/2026:13:55:37 +0000] "G\\x01T /login?token=${secrets[3]} HTTP/1.1" 400 5 "-" "curl/8.5"`,
      `192.0.2.50 - - [10/Oct/2026:13:55:38 +0000] "GET http://shop.example/dl?sig=${secrets[4]} HTTP/1.1" 200 5 "-" "curl/8.5"`,
    ]);
    const events = await storedEvents(server, 'query-secrets');
    assert.equal(events.length, 3);
    const byPath = new Map(events.map((e) => [e['url.path'], e]));
    assert.equal(byPath.get('/cb')?.['url.query'], 'access_token=[REDACTED]&password=[REDACTED]&page=2');
    assert.equal(byPath.get('/cb')?.['http.request.referrer'], 'https://shop.example/reset?token=[REDACTED]');
    assert.equal(byPath.get('-')?.['vigil.request.malformed'], true);
    assert.match(String(byPath.get('-')?.['vigil.request.line']), /^G\\x01T \/login\?token=\[REDACTED\]/);
    assert.equal(byPath.get('/dl')?.['url.full'], 'http://shop.example/dl?sig=[REDACTED]');
    assertNowhere(server, secrets, events);
  });

  test("a secret route parameter's segment is hidden from url.path and url.full, as the SDK hides it", async () => {
    const secrets = ['SpanResetToken42', 'LogResetToken42', 'ShareLinkAb3dEf9hIjKlMnOp'];
    // A span from the OpenTelemetry SDK, as its HTTP instrumentation records an Express route.
    const exporter = new OTLPTraceExporter({
      url: `${server.url}/v1/traces`,
      headers: { Authorization: `Bearer ${server.ingestToken}` },
    });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'route-secrets' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const span = provider.getTracer('vigil-test').startSpan('GET /reset/:token', {
      kind: SpanKind.SERVER,
      startTime: Date.now() - 1000,
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/reset/:token',
        'url.path': `/reset/${secrets[0]}`,
        'url.full': `https://shop.example/reset/${secrets[0]}?lang=en`,
        'http.response.status_code': 200,
        'client.address': '192.0.2.40',
      },
    });
    span.end(Date.now() - 900);
    await provider.forceFlush();
    await provider.shutdown();
    // Access-log lines: a route of the OpenAPI document, and a segment the route-template stage takes for a token.
    await shipLines(server, 'combined', 'route-secrets', [
      `192.0.2.41 - - [10/Oct/2026:13:55:36 +0000] "GET /password/reset/${secrets[1]}/ HTTP/1.1" 200 512 "-" "curl/8.5"`,
      `192.0.2.41 - - [10/Oct/2026:13:55:37 +0000] "GET /s/${secrets[2]} HTTP/1.1" 200 512 "-" "curl/8.5"`,
    ]);
    const events = await storedEvents(server, 'route-secrets');
    assert.deepEqual(events.map((e) => [e['http.route'], e['url.path'], e['url.full']]).sort(), [
      ['/password/reset/{resetToken}', '/password/reset/[REDACTED]/', undefined],
      ['/reset/:token', '/reset/[REDACTED]', 'https://shop.example/reset/[REDACTED]?lang=en'],
      ['/s/{token}', '/s/[REDACTED]', undefined],
    ]);
    assertNowhere(server, secrets, events);
  });

  test('a secret path segment is hidden in url.original, the path as sent (escapes and all) or a whole URL', async () => {
    // `%2D` is an escaped `-`: url.path gets the decoded spelling, url.original the one sent; each must lose it.
    const escaped = 'EscapedReset%2DToken42';
    await shipLines(server, 'combined', 'escaped-secrets', [
      `192.0.2.42 - - [10/Oct/2026:13:55:38 +0000] "GET /password/reset/${escaped}/%61bc HTTP/1.1" 200 512 "-" "curl/8.5"`,
    ]);
    const events = await storedEvents(server, 'escaped-secrets');
    assert.deepEqual(
      events.map((e) => [e['http.route'], e['url.path'], e['url.original']]),
      [['/password/reset/{token}/abc', '/password/reset/[REDACTED]/abc', '/password/reset/[REDACTED]/%61bc']],
    );
    // A sender's own url.original, a whole URL, loses the segment as url.full does.
    const own = 'OwnOriginalToken42';
    await postEvents(server, [
      {
        time: Date.now() - 1000,
        type: 'http_request',
        'service.name': 'own-original',
        'http.request.method': 'GET',
        'http.route': '/reset/:token',
        'url.path': `/reset/${own}`,
        'url.original': `https://shop.example/reset/${own}?lang=en`,
      },
    ]);
    const owned = await storedEvents(server, 'own-original');
    assert.equal(owned[0]?.['url.original'], 'https://shop.example/reset/[REDACTED]?lang=en');
    assertNowhere(server, [escaped, 'EscapedReset-Token42', own], [...events, ...owned]);
  });

  test('fields of the event model are judged by their last segment: the session hash and key ids are kept', async () => {
    await postEvents(server, [
      {
        time: Date.now() - 1000,
        type: 'http_request',
        'service.name': 'model-fields',
        'http.request.method': 'GET',
        'url.path': '/',
        'session.id': '0123456789abcdef',
        'vigil.api_key.id': 'key-7',
      },
    ]);
    const [event] = await storedEvents(server, 'model-fields');
    assert.equal(event?.['session.id'], '0123456789abcdef');
    assert.equal(event?.['vigil.api_key.id'], 'key-7');
  });
});
