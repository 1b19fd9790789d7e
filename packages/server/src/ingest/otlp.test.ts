// OTLP payloads here are built and sent by the official OpenTelemetry JS SDK and exporters (JSON and protobuf),
// against a real Vigil server on loopback; the test then reads back what was stored.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { statusMessage } from '../testing/protobuf.js';
import { encodeExportResponse } from './protobuf.js';

type Stored = Record<string, unknown>;

async function eventsOf(server: TestServer, service: string): Promise<Stored[]> {
  const res = await server.get('/api/v1/events?limit=1000');
  const body = (await res.json()) as { events: Stored[] };
  return body.events.filter((e) => e['service.name'] === service);
}

async function emitLogs(server: TestServer, encoding: 'json' | 'proto', service: string) {
  const options = {
    url: `${server.url}/v1/logs`,
    headers: { Authorization: `Bearer ${server.ingestToken}` },
    ...(encoding === 'proto' ? { compression: 'gzip' as never } : {}),
  };
  const exporter = encoding === 'json' ? new JsonLogExporter(options) : new ProtoLogExporter(options);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '2.1.0' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('vigil-test');
  const t = Date.now() - 1000;
  logger.emit({
    eventName: 'authn_login_fail',
    timestamp: t,
    attributes: { 'user.id': 'alice', 'client.address': '203.0.113.7', 'event.reason': 'bad_password' },
  });
  logger.emit({ timestamp: t + 1, body: 'authz_fail:bob,invoice-42', attributes: { 'client.address': '203.0.113.8' } });
  logger.emit({
    timestamp: t + 2,
    body: 'GET /items',
    attributes: {
      'http.method': 'GET',
      'http.target': '/items/7?sort=asc',
      'http.status_code': 404,
      'net.peer.ip': '198.51.100.4',
      'http.user_agent': 'curl/8.5.0',
    },
  });
  logger.emit({ timestamp: t + 3, body: 'cache warmed in 12 ms', severityText: 'DEBUG' });
  logger.emit({
    eventName: 'authz_fail',
    timestamp: t + 4,
    attributes: {
      'user.id': 'dave',
      'vigil.object.id': 'invoice-7',
      // Bytes values: text (which redaction must read) and binary.
      'x.note': new TextEncoder().encode('retry with token=sk_live_a1b2c3d4e5f6'),
      'x.blob': new Uint8Array([0xff, 0x00, 0x80, 0x7f]),
    },
  });
  await provider.forceFlush();
  await provider.shutdown();
  return t;
}

async function emitSpan(server: TestServer, encoding: 'json' | 'proto', service: string) {
  const options = { url: `${server.url}/v1/traces`, headers: { Authorization: `Bearer ${server.ingestToken}` } };
  const exporter = encoding === 'json' ? new JsonTraceExporter(options) : new ProtoTraceExporter(options);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('vigil-test');
  const start = Date.now() - 2000;
  const span = tracer.startSpan('POST /login', {
    kind: SpanKind.SERVER,
    startTime: start,
    attributes: {
      'http.request.method': 'POST',
      'url.path': '/login',
      'http.route': '/login',
      'http.response.status_code': 401,
      'client.address': '192.0.2.55',
      'user_agent.original': 'python-requests/2.31',
    },
  });
  span.addEvent('authn_login_fail', { 'user.id': 'carol' }, start + 5);
  span.end(start + 25);
  const internal = tracer.startSpan('db.query', { kind: SpanKind.INTERNAL, startTime: start });
  internal.end(start + 3);
  await provider.forceFlush();
  await provider.shutdown();
  return { start, traceId: span.spanContext().traceId };
}

describe('OTLP/HTTP ingest with the OpenTelemetry JS exporters', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  for (const encoding of ['json', 'proto'] as const) {
    test(`log records (${encoding}) become security and request events, each field mapped`, async () => {
      const service = `logs-${encoding}`;
      const t = await emitLogs(server, encoding, service);
      const events = await eventsOf(server, service);
      assert.equal(events.length, 4, 'the debug log is skipped, not stored');
      const fail = events.find((e) => e.type === 'authn_login_fail')!;
      assert.equal(fail['user.id'], 'alice');
      assert.equal(fail['client.address'], '203.0.113.7');
      assert.equal(fail['event.reason'], 'bad_password');
      assert.equal(fail['service.version'], '2.1.0');
      assert.equal(fail.time, new Date(t).toISOString());
      assert.equal(fail['vigil.source.name'], 'otlp-logs');
      const bytes = events.find((e) => e['user.id'] === 'dave')!;
      assert.equal(bytes['x.note'], 'retry with token=[REDACTED]', 'bytes that are text are redacted as text');
      assert.equal(bytes['x.blob'], '/wCAfw==', 'binary bytes are kept as base64');
      const authz = events.find((e) => e.type === 'authz_fail' && e['user.id'] === 'bob')!;
      assert.equal(authz['user.id'], 'bob', 'OWASP "type:args" body mapped positionally');
      assert.equal(authz['vigil.object.id'], 'invoice-42');
      const request = events.find((e) => e.type === 'http_request')!;
      assert.equal(request['http.request.method'], 'GET');
      assert.equal(request['url.path'], '/items/7');
      assert.equal(request['url.query'], 'sort=asc');
      assert.equal(request['http.response.status_code'], 404);
      assert.equal(request['network.peer.address'], '198.51.100.4');
      assert.equal(request['client.address'], '198.51.100.4');
      assert.equal(request['user_agent.original'], 'curl/8.5.0');
      assert.ok(server.metrics.otlpSkipped.get({ signal: 'logs' }) >= 1);
    });

    test(`server spans (${encoding}) become request events; span events become vocabulary events`, async () => {
      const service = `traces-${encoding}`;
      const { start, traceId } = await emitSpan(server, encoding, service);
      const events = await eventsOf(server, service);
      assert.equal(events.length, 2, 'the internal span is skipped');
      const request = events.find((e) => e.type === 'http_request')!;
      assert.equal(request.time, new Date(start).toISOString());
      assert.equal(request['http.route'], '/login');
      assert.equal(request['http.response.status_code'], 401);
      assert.equal(request['http.server.request.duration'], 0.025);
      assert.equal(request['trace.id'], traceId);
      const fail = events.find((e) => e.type === 'authn_login_fail')!;
      assert.equal(fail['user.id'], 'carol');
      assert.equal(fail['client.address'], '192.0.2.55', 'the request context attaches');
      assert.equal(fail['user_agent.original'], 'python-requests/2.31');
      assert.equal(fail.time, new Date(start + 5).toISOString());
      assert.equal(fail['http.server.request.duration'], undefined);
    });
  }

  test('partial success: invalid records are counted and explained, valid ones kept', async () => {
    const ns = BigInt(Date.now()) * 1_000_000n;
    const record = (attrs: Record<string, unknown>) => ({
      timeUnixNano: String(ns),
      attributes: Object.entries(attrs).map(([key, v]) => ({
        key,
        value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
      })),
    });
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'partial' } }] },
          scopeLogs: [
            {
              logRecords: [
                record({ 'event.name': 'authn_login_success', 'user.id': 'dave' }),
                record({ 'event.name': 'authn_login_success' }),
              ],
            },
          ],
        },
      ],
    };
    const res = await server.post('/v1/logs', JSON.stringify(body));
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess: { rejectedLogRecords: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedLogRecords, '1');
    assert.match(answer.partialSuccess.errorMessage, /user\.id/);
    assert.equal((await eventsOf(server, 'partial')).length, 1);
  });

  test('a span with more attributes than an event may hold is kept: unknown resource attributes go first', async () => {
    // A Collector's Kubernetes processor copies every pod label into the resource: 240 of them here.
    const labels = Array.from({ length: 240 }, (_, i) => ({
      key: `k8s.pod.labels.team${i}.example.com/owner`,
      value: { stringValue: `team-${i}` },
    }));
    const nanos = (millis: number) => `${BigInt(millis) * 1_000_000n}`;
    const start = Date.now() - 1000;
    const span = {
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      name: 'GET /orders/{id}',
      kind: 2,
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(start + 12),
      attributes: [
        { key: 'http.request.method', value: { stringValue: 'GET' } },
        { key: 'url.path', value: { stringValue: '/orders/7' } },
        { key: 'http.route', value: { stringValue: '/orders/{id}' } },
        { key: 'http.response.status_code', value: { intValue: '403' } },
        { key: 'client.address', value: { stringValue: '198.51.100.77' } },
        { key: 'x.tenant.plan', value: { stringValue: 'gold' } },
        // A map attribute is as many fields as its leaves.
        {
          key: 'x.flags',
          value: {
            kvlistValue: {
              values: [
                { key: 'beta', value: { boolValue: true } },
                { key: 'canary', value: { boolValue: false } },
              ],
            },
          },
        },
      ],
    };
    const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'labelled' } }, ...labels] };
    const dropped = server.metrics.otlpFieldsDropped.get({ signal: 'traces' });
    const res = await server.post(
      '/v1/traces',
      JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ spans: [span] }] }] }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {}, 'nothing rejected');
    const [stored] = await eventsOf(server, 'labelled');
    assert.ok(stored, 'the request was stored');
    assert.equal(stored['http.response.status_code'], 403);
    assert.equal(stored['http.route'], '/orders/{id}');
    assert.equal(stored['client.address'], '198.51.100.77');
    assert.equal(stored['trace.id'], '5b8efff798038103d269b633813fc60c');
    assert.equal(stored['x.tenant.plan'], 'gold');
    assert.equal(stored['x.flags.beta'], true);
    assert.equal(stored['vigil.truncated'], true);
    assert.equal(stored['service.name'], 'labelled');
    // 252 fields as the parser counts them (8 of the span's own, 241 of the resource, the two ids and the duration):
    // the last 53 labels go, to make room for `vigil.truncated` within 200.
    const kept = Object.keys(stored).filter((k) => k.startsWith('k8s.pod.labels.'));
    assert.equal(kept.length, 187);
    assert.ok(kept.includes('k8s.pod.labels.team186.example.com_owner'));
    assert.ok(!kept.includes('k8s.pod.labels.team187.example.com_owner'));
    assert.equal(server.metrics.otlpFieldsDropped.get({ signal: 'traces' }) - dropped, 53);
  });

  test('bad requests: broken protobuf 400, unknown content type 415, no token 401', async () => {
    const broken = await server.post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    assert.equal(broken.status, 400);
    assert.match(statusMessage(new Uint8Array(await broken.arrayBuffer())), /invalid protobuf/);
    const text = await server.post('/v1/traces', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    const anonymous = await fetch(`${server.url}/v1/logs`, { method: 'POST', body: '{}' });
    assert.equal(anonymous.status, 401);
  });

  test('protobuf values nested without end are a 400, not a stack overflow', async () => {
    // AnyValue { arrayValue { values: AnyValue { ... } } } 20 000 deep, as a log record's body: about 100 KB.
    const varint = (n: number) => {
      const out: number[] = [];
      for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return Buffer.from(out);
    };
    const field = (tag: number, payload: Buffer) =>
      Buffer.concat([Buffer.from([tag]), varint(payload.length), payload]);
    // Built from the inside out as a list of headers, each level's length known from the one inside it: wrapping a
    // growing buffer 40 000 times copied over a gigabyte, and under load that blocked the event loop long enough for
    // the server to close the kept-alive connection this request then went out on (ECONNRESET).
    const headers: Buffer[] = [];
    let length = 3; // the innermost AnyValue: string_value "x"
    for (let i = 0; i < 20_000; i++) {
      for (const tag of [0x0a, 0x2a]) {
        const header = Buffer.concat([Buffer.from([tag]), varint(length)]);
        headers.push(header);
        length += header.length;
      }
    }
    const value = Buffer.concat([...headers.reverse(), field(0x0a, Buffer.from('x'))]);
    const body = field(0x0a, field(0x12, field(0x12, field(0x2a, value))));
    const res = await server.post('/v1/logs', body, { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 400);
    assert.match(statusMessage(new Uint8Array(await res.arrayBuffer())), /nested more than 64 deep/);
  });

  test('a request that expands past the limits is refused whole (413): too many events, or copied context', async () => {
    const limited = await startTestServer({ ingest: { maxEventsPerRequest: 100, maxBodyBytes: 65_536 } });
    try {
      const ns = String(BigInt(Date.now()) * 1_000_000n);
      const logs = (service: string, records: number, resourceExtra: string) => ({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: service } },
                { key: 'deployment.note', value: { stringValue: resourceExtra } },
              ],
            },
            scopeLogs: [
              {
                logRecords: Array.from({ length: records }, () => ({
                  timeUnixNano: ns,
                  body: { stringValue: 'authn_login_fail:ann' },
                })),
              },
            ],
          },
        ],
      });
      const many = await limited.post('/v1/logs', JSON.stringify(logs('many', 150, 'x')));
      assert.equal(many.status, 413);
      assert.match(((await many.json()) as { message: string }).message, /ingest\.maxEventsPerRequest/);
      // 20 KB of resource attributes, copied into each of 20 records: a 21 KB body, 400 KB of events.
      const copied = await limited.post('/v1/logs', JSON.stringify(logs('copied', 20, 'y'.repeat(20_000))));
      assert.equal(copied.status, 413);
      assert.match(((await copied.json()) as { message: string }).message, /characters of events/);
      assert.deepEqual(await eventsOf(limited, 'many'), []);
      assert.deepEqual(await eventsOf(limited, 'copied'), []);
      const fine = await limited.post('/v1/logs', JSON.stringify(logs('fine', 100, 'z')));
      assert.equal(fine.status, 200);
      assert.equal((await eventsOf(limited, 'fine')).length, 100);
    } finally {
      await limited.stop();
    }
  });

  test('the protobuf partial-success response encodes as the proto says', () => {
    assert.equal(encodeExportResponse(0, '').length, 0);
    assert.deepEqual([...encodeExportResponse(2, 'x')], [0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, 0x78]);
  });
});
