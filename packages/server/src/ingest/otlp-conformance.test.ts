// OTLP/HTTP as the specification and the protobuf encoding define it, down to what the OpenTelemetry exporters
// seldom send: payloads are built by hand (testing/protobuf.ts, or JSON) and sent to a real server on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { double, fixed32, fixed64, group, len, statusMessage, uint } from '../testing/protobuf.js';

type Stored = Record<string, unknown>;

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const nowNanos = () => BigInt(Date.now() - 1000) * 1_000_000n;

async function eventsOf(server: TestServer, service: string): Promise<Stored[]> {
  const res = await server.get('/api/v1/events?limit=1000');
  const body = (await res.json()) as { events: Stored[] };
  return body.events.filter((e) => e['service.name'] === service);
}

// AnyValue and KeyValue, as opentelemetry/proto/common/v1/common.proto numbers them.
const str = (text: string) => len(1, text);
const int = (n: number | bigint) => uint(3, n);
/** An attribute (a KeyValue) in field `field` of its message: 1 in a Resource, 6 in a LogRecord. */
const attr = (field: number, name: string, value: Buffer) => len(field, len(1, name), len(2, value));
const RECORD_ATTRIBUTES = 6;

/** A JSON ExportTraceServiceRequest of one resource and the given spans. */
function traces(service: string, spans: Stored[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  });
}

const jsonAttrs = (attrs: Record<string, string | number>) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
  }));

function serverSpan(attrs: Record<string, string | number>, extra: Stored = {}): Stored {
  const start = nowNanos();
  return {
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    name: 'request',
    kind: 2,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + 5_000_000n),
    attributes: jsonAttrs(attrs),
    ...extra,
  };
}

describe('OTLP/HTTP conformance', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test('failures are a google.rpc.Status in the encoding of the request, under the exact content type', async () => {
    const broken = await server.post('/v1/traces', Buffer.from([0x0a, 0x05, 0x01]), PROTOBUF);
    assert.equal(broken.status, 400);
    assert.equal(broken.headers.get('content-type'), 'application/x-protobuf');
    assert.match(statusMessage(new Uint8Array(await broken.arrayBuffer())), /invalid protobuf: length runs past/);

    const json = await server.post('/v1/logs', '{"resourceLogs": [');
    assert.equal(json.status, 400);
    assert.equal(json.headers.get('content-type'), 'application/json');
    assert.match(((await json.json()) as { message: string }).message, /^malformed OTLP JSON/);

    const anonymous = await fetch(`${server.url}/v1/logs`, { method: 'POST', headers: PROTOBUF, body: '' });
    assert.equal(anonymous.status, 401);
    assert.match(statusMessage(new Uint8Array(await anonymous.arrayBuffer())), /missing bearer token/);

    const text = await server.post('/v1/logs', 'hello', { 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.match(((await text.json()) as { message: string }).message, /application\/x-protobuf/);

    // The Collector reads a partial success only under exactly `application/json`.
    const partial = await server.post(
      '/v1/logs',
      JSON.stringify({
        resourceLogs: [
          { scopeLogs: [{ logRecords: [{ timeUnixNano: String(nowNanos()), eventName: 'authn_login_success' }] }] },
        ],
      }),
    );
    assert.equal(partial.status, 200);
    assert.equal(partial.headers.get('content-type'), 'application/json');
    assert.equal(((await partial.json()) as { partialSuccess: Stored }).partialSuccess.rejectedLogRecords, '1');
  });

  test('empty requests are a success, in the encoding of the request', async () => {
    for (const body of ['{}', '{"resourceSpans": []}', '{"resourceSpans": [{"scopeSpans": [{}]}]}']) {
      const res = await server.post('/v1/traces', body);
      assert.equal(res.status, 200, body);
      assert.deepEqual(await res.json(), {});
    }
    const proto = await server.post('/v1/logs', Buffer.alloc(0), PROTOBUF);
    assert.equal(proto.status, 200);
    assert.equal(proto.headers.get('content-type'), 'application/x-protobuf');
    assert.equal((await proto.arrayBuffer()).byteLength, 0);
  });

  test('protobuf: unknown fields of every wire type are skipped, repeated singular fields merged', async () => {
    const unknownGroup = group(99, uint(1, 7), fixed32(2, 1), fixed64(3, 9n), len(4, 'x'), group(5, uint(1, 1)));
    const record = Buffer.concat([
      fixed64(1, nowNanos()),
      fixed32(8, 1), // flags: known to OTLP, not read by Vigil
      uint(2, 17), // severity ERROR
      unknownGroup,
      uint(12, 5), // event_name with the wrong wire type: skipped as an unknown field is
      len(12, 'authn_login_fail'),
      attr(RECORD_ATTRIBUTES, 'user.id', str('alice')),
      attr(RECORD_ATTRIBUTES, 'x.oneof', Buffer.concat([str('first'), int(42)])), // set twice: the last one wins
      attr(RECORD_ATTRIBUTES, 'x.big', int(2n ** 60n + 1n)),
      attr(RECORD_ATTRIBUTES, 'x.neg', int(-5n)),
      attr(RECORD_ATTRIBUTES, 'x.ratio', double(4, 0.25)),
      attr(RECORD_ATTRIBUTES, 'x.list', len(5, len(1, str('a')), len(1, int(2)), len(1, uint(2, 1)))),
      attr(RECORD_ATTRIBUTES, 'x.map', len(6, len(1, len(1, 'inner'), len(2, str('v'))))),
      attr(RECORD_ATTRIBUTES, 'x.raw', len(7, 'hello')),
      len(9, Buffer.from('5b8efff798038103d269b633813fc60c', 'hex')),
      len(10, Buffer.from('eee19b7ec3c1b174', 'hex')),
      fixed32(77, 3),
    ]);
    const body = len(
      1,
      len(1, attr(1, 'service.name', str('pb-wire'))), // resource, first half
      unknownGroup,
      len(2, len(1, len(1, 'scope'), fixed32(9, 1)), len(2, record)),
      len(1, attr(1, 'service.version', str('3.0'))), // resource, second half: merged into the first
    );
    const res = await server.post('/v1/logs', body, PROTOBUF);
    assert.equal(res.status, 200, statusMessage(new Uint8Array(await res.clone().arrayBuffer())));
    const [event] = await eventsOf(server, 'pb-wire');
    assert.ok(event, 'stored');
    assert.equal(event.type, 'authn_login_fail');
    assert.equal(event['service.version'], '3.0');
    assert.equal(event['user.id'], 'alice');
    assert.equal(event['x.oneof'], 42);
    assert.equal(event['x.big'], '1152921504606846977', 'an int64 past 2^53 keeps its digits');
    assert.equal(event['x.neg'], -5);
    assert.equal(event['x.ratio'], 0.25);
    assert.deepEqual(event['x.list'], ['a', '2', 'true']);
    assert.equal(event['x.map.inner'], 'v');
    assert.equal(event['x.raw'], 'hello');
    assert.equal(event['trace.id'], '5b8efff798038103d269b633813fc60c');
    assert.equal(event['span.id'], 'eee19b7ec3c1b174');
  });

  test('protobuf that is not protobuf is a 400 naming the problem, counted as malformed_protobuf', async () => {
    const before = server.metrics.ingestRequestsRejected.get({ reason: 'malformed_protobuf' });
    const cases: [Buffer, RegExp][] = [
      [Buffer.from([0x00, 0x01]), /field number 0/],
      [Buffer.from([0x0f]), /field 1 has wire type 7/],
      [Buffer.from([0x0b, 0x08, 0x01]), /group 1 has no end/],
      [Buffer.from([0x0c]), /end of group 1 without its start/],
      [Buffer.from([0x0b, 0x14]), /group 1 ends as group 2/],
      [Buffer.from([0x09, 0x01, 0x02]), /field 1 runs past the end/],
      [Buffer.from([0x08, 0xff]), /truncated varint/],
    ];
    for (const [body, problem] of cases) {
      const res = await server.post('/v1/logs', body, PROTOBUF);
      assert.equal(res.status, 400, body.toString('hex'));
      assert.match(statusMessage(new Uint8Array(await res.arrayBuffer())), problem);
    }
    assert.equal(server.metrics.ingestRequestsRejected.get({ reason: 'malformed_protobuf' }) - before, cases.length);
  });

  test('partialSuccess counts the spans rejected, not the events made of them', async () => {
    // One valid request event, and two span events each missing the user.id their type requires.
    const span = serverSpan(
      { 'http.request.method': 'POST', 'url.path': '/login' },
      {
        events: [
          { name: 'authn_login_success', timeUnixNano: String(nowNanos()) },
          { name: 'authn_login_success', timeUnixNano: String(nowNanos()) },
        ],
      },
    );
    const res = await server.post('/v1/traces', traces('counted', [span]));
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '1');
    assert.match(answer.partialSuccess.errorMessage, /^1 span\(s\) rejected; first: user\.id/);
    assert.equal((await eventsOf(server, 'counted')).length, 1, 'the request itself is stored');
  });

  test('ids: hex is read, base64 refused with a reason, all zeros taken for no id', async () => {
    const base64 = serverSpan(
      { 'http.request.method': 'GET', 'url.path': '/b64' },
      { traceId: 'W47/95gDgQPSabYzgT/GDA==' },
    );
    const zeros = serverSpan(
      { 'http.request.method': 'GET', 'url.path': '/zeros' },
      { traceId: '0'.repeat(32), spanId: '0'.repeat(16) },
    );
    const upper = serverSpan({ 'http.request.method': 'GET', 'url.path': '/upper' }, { spanId: 'EEE19B7EC3C1B174' });
    const res = await server.post('/v1/traces', traces('ids', [base64, zeros, upper]));
    const answer = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
    assert.equal(answer.partialSuccess.rejectedSpans, '1');
    assert.match(answer.partialSuccess.errorMessage, /trace\.id traceId must be 32 hex digits .*not base64/);
    const events = await eventsOf(server, 'ids');
    assert.deepEqual(events.map((e) => e['url.path']).sort(), ['/upper', '/zeros']);
    const noIds = events.find((e) => e['url.path'] === '/zeros')!;
    assert.equal(noIds['trace.id'], undefined);
    assert.equal(noIds['span.id'], undefined);
    assert.equal(events.find((e) => e['url.path'] === '/upper')!['span.id'], 'eee19b7ec3c1b174');
  });

  test('JSON: enum names, proto field names and 64-bit integers as numbers or strings are read', async () => {
    const start = nowNanos();
    const body = {
      resource_spans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { string_value: 'json-mapping' } }] },
          scope_spans: [
            {
              spans: [
                {
                  trace_id: '5b8efff798038103d269b633813fc60c',
                  kind: 'SPAN_KIND_SERVER',
                  start_time_unix_nano: String(start),
                  end_time_unix_nano: String(start + 2_000_000n),
                  attributes: [
                    { key: 'http.request.method', value: { stringValue: 'GET' } },
                    { key: 'http.response.status_code', value: { intValue: 404 } },
                    { key: 'server.port', value: { int_value: '8443' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await server.post('/v1/traces', JSON.stringify(body));
    assert.equal(res.status, 200);
    const [event] = await eventsOf(server, 'json-mapping');
    assert.ok(event, 'a span of kind "SPAN_KIND_SERVER" is a request');
    assert.equal(event['http.response.status_code'], 404);
    assert.equal(event['server.port'], 8443);
    assert.equal(event['trace.id'], '5b8efff798038103d269b633813fc60c');
  });

  test('semantic conventions: _OTHER methods, http.host, http.flavor, exception events', async () => {
    const other = serverSpan({
      'http.request.method': '_OTHER',
      'http.request.method_original': 'PROPFIND',
      'url.path': '/dav',
    });
    const old = serverSpan(
      {
        'http.method': 'POST',
        'http.target': '/pay?x=1',
        'http.host': 'shop.example:8443',
        'http.flavor': '1.1',
        'http.status_code': 500,
      },
      {
        events: [
          {
            name: 'exception',
            timeUnixNano: String(nowNanos()),
            attributes: jsonAttrs({ 'exception.type': 'TimeoutError', 'exception.message': 'db' }),
          },
        ],
      },
    );
    const res = await server.post('/v1/traces', traces('semconv', [other, old]));
    assert.deepEqual(await res.json(), {});
    const events = await eventsOf(server, 'semconv');
    assert.equal(events.length, 2, 'the exception event is no event of its own');
    const dav = events.find((e) => e['url.path'] === '/dav')!;
    assert.equal(dav['http.request.method'], 'PROPFIND');
    const pay = events.find((e) => e['url.path'] === '/pay')!;
    assert.equal(pay['url.query'], 'x=1');
    assert.equal(pay['server.address'], 'shop.example');
    assert.equal(pay['server.port'], 8443);
    assert.equal(pay['network.protocol.version'], '1.1');
    assert.equal(pay['error.type'], 'TimeoutError');
  });

  test('attribute keys that are no field names are renamed, not the reason to refuse the span', async () => {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: {
            attributes: jsonAttrs({
              'service.name': 'k8s-labels',
              // The Collector's k8sattributes processor copies pod labels under their own keys.
              'k8s.pod.labels.app.kubernetes.io/name': 'checkout',
            }),
          },
          scopeSpans: [
            {
              spans: [
                serverSpan({
                  'http.request.method': 'GET',
                  'url.path': '/cart',
                  'odd/key': 'a',
                  '9lives': 'b',
                  'a..b': 'c',
                  'label.with space': 'd',
                  // A key that is a field name as sent keeps its value against one renamed to it.
                  'custom key!': 'renamed',
                  custom_key_: 'kept',
                }),
              ],
            },
          ],
        },
      ],
    });
    const res = await server.post('/v1/traces', body);
    assert.deepEqual(await res.json(), {}, 'nothing rejected');
    const [event] = await eventsOf(server, 'k8s-labels');
    assert.ok(event, 'the span is stored');
    assert.equal(event['k8s.pod.labels.app.kubernetes.io_name'], 'checkout');
    assert.equal(event.odd_key, 'a');
    assert.equal(event._9lives, 'b');
    assert.equal(event['a._.b'], 'c');
    assert.equal(event['label.with_space'], 'd');
    assert.equal(event.custom_key_, 'kept');
  });
});

test('a store that cannot take the events: OTLP gets a 503 with Retry-After, which exporters retry', async () => {
  const server = await startTestServer();
  try {
    await server.store.close();
    const record = {
      timeUnixNano: String(nowNanos()),
      eventName: 'authn_login_fail',
      attributes: jsonAttrs({ 'user.id': 'ann' }),
    };
    const res = await server.post(
      '/v1/logs',
      JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [record] }] }] }),
    );
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.match(((await res.json()) as { message: string }).message, /nothing was acknowledged/);
  } finally {
    await server.stop();
  }
});
