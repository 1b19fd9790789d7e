import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, tempDir } from '../testing/harness.js';
import { assertValid, event, reason } from '../testing/line-results.js';
import { parseLine } from './access-log.js';
import { ingestCommand } from './ingest-command.js';

const ELB = 'app/orders-api/50dc6c495c0c9188';
const TARGET_GROUP = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/orders/73e2d6bc24d8a067';
const CERT = 'arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const TRACE = 'Root=1-6725f5a0-0123456789abcdef01234567';

interface Entry {
  type?: string;
  time?: string;
  client?: string;
  target?: string;
  seconds?: string;
  elbStatus?: string;
  targetStatus?: string;
  received?: string;
  sent?: string;
  request: string;
  userAgent?: string;
  tls?: string;
  actions?: string;
  /** Fields after `error_reason`, as AWS has been adding them. */
  rest?: string;
}

/** An entry as the balancer writes it, through `error_reason`, with defaults for what a test does not care about. */
function alb(e: Entry): string {
  return [
    e.type ?? 'https',
    e.time ?? '2026-11-02T10:00:00.123456Z',
    ELB,
    e.client ?? '198.51.100.7:41322',
    e.target ?? '10.0.1.5:8080',
    e.seconds ?? '0.001 0.020 0.000',
    e.elbStatus ?? '200',
    e.targetStatus ?? e.elbStatus ?? '200',
    e.received ?? '312',
    e.sent ?? '1045',
    `"${e.request}"`,
    `"${e.userAgent ?? 'curl/8.5.0'}"`,
    e.tls ?? 'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2',
    TARGET_GROUP,
    `"${TRACE}"`,
    '"api.example.com"',
    `"${CERT}"`,
    '0',
    '2026-11-02T10:00:00.102000Z',
    `"${e.actions ?? 'forward'}"`,
    '"-"',
    '"-"',
    ...(e.rest === undefined ? [] : [e.rest]),
  ].join(' ');
}

describe('alb format (AWS Application Load Balancer)', () => {
  test('an HTTPS entry: every field read, the trace header kept out of trace.id', () => {
    const e = event(
      parseLine(
        'alb',
        alb({
          request: 'GET https://api.example.com:443/v1/orders/42?expand=items&page=2 HTTP/1.1',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
        }),
      ),
    );
    assert.deepEqual(e, {
      time: Date.UTC(2026, 10, 2, 10, 0, 0, 123),
      type: 'http_request',
      'http.request.method': 'GET',
      'network.protocol.version': '1.1',
      'url.scheme': 'https',
      'url.full': 'https://api.example.com:443/v1/orders/42?expand=items&page=2',
      'server.address': 'api.example.com',
      'server.port': 443,
      'url.path': '/v1/orders/42',
      'url.query': 'expand=items&page=2',
      'http.response.status_code': 200,
      'http.request.body.size': 312,
      'http.response.body.size': 1045,
      'client.address': '198.51.100.7',
      'client.port': 41322,
      'http.server.request.duration': 0.021,
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
      'vigil.source.name': 'alb',
    });
    assertValid(e);
  });

  test('plain HTTP, an IPv6 client (logged without brackets) and a duration summed without binary noise', () => {
    const e = event(
      parseLine(
        'alb',
        alb({
          type: 'http',
          client: '2001:db8:85a3::8a2e:370:7334:50123',
          seconds: '0.1 0.2 0.000',
          request: 'POST http://api.example.com:80/login HTTP/1.0',
          tls: '- -',
          elbStatus: '401',
        }),
      ),
    );
    assert.equal(e['client.address'], '2001:db8:85a3::8a2e:370:7334');
    assert.equal(e['client.port'], 50123);
    assert.equal(e['http.server.request.duration'], 0.3);
    assert.equal(e['url.scheme'], 'http');
    assert.equal(e['server.port'], 80);
    assert.equal(e['url.path'], '/login');
    assert.equal('url.query' in e, false);
    assert.equal(e['network.protocol.version'], '1.0');
    assert.equal(e['http.response.status_code'], 401);
    assertValid(e);
  });

  test('HTTP/2 (h2) and gRPC: protocol version 2', () => {
    const h2 = event(parseLine('alb', alb({ type: 'h2', request: 'GET https://api.example.com:443/v1/me HTTP/2.0' })));
    assert.equal(h2['network.protocol.version'], '2');
    assert.equal(h2['url.path'], '/v1/me');
    const grpc = event(
      parseLine(
        'alb',
        alb({ type: 'grpcs', request: 'POST https://api.example.com:443/orders.v1.Orders/Get HTTP/2.0' }),
      ),
    );
    assert.equal(grpc['url.path'], '/orders.v1.Orders/Get');
    assert.equal(grpc['network.protocol.version'], '2');
  });

  test('a WebSocket entry (ws): the upgrade request, the status it got and the bytes of the whole connection', () => {
    const e = event(
      parseLine(
        'alb',
        alb({
          type: 'ws',
          client: '10.0.0.140:40914',
          target: '10.0.1.192:8010',
          seconds: '0.001 0.003 0.000',
          elbStatus: '101',
          received: '218',
          sent: '587',
          request: 'GET http://10.0.0.30:80/live HTTP/1.1',
          userAgent: '-',
          tls: '- -',
        }),
      ),
    );
    assert.equal(e['http.response.status_code'], 101);
    assert.equal(e['url.path'], '/live');
    assert.equal(e['server.address'], '10.0.0.30');
    assert.equal(e['http.request.body.size'], 218);
    assert.equal(e['http.response.body.size'], 587);
    assert.equal('user_agent.original' in e, false);
    assertValid(e);
  });

  test('a 4xx the balancer answered itself: no target, -1 times (no duration), `-` target status', () => {
    const e = event(
      parseLine(
        'alb',
        alb({
          target: '-',
          seconds: '-1 -1 -1',
          elbStatus: '403',
          targetStatus: '-',
          received: '0',
          sent: '134',
          request: 'GET https://api.example.com:443/.env HTTP/1.1',
          userAgent: 'Mozilla/5.0 zgrab/0.x',
          actions: 'waf',
        }),
      ),
    );
    assert.equal(e['http.response.status_code'], 403);
    assert.equal(e['url.path'], '/.env');
    assert.equal('http.server.request.duration' in e, false);
    assert.equal(e['http.request.body.size'], 0);
    assertValid(e);
    const oneMissing = event(
      parseLine('alb', alb({ seconds: '0.001 -1 0.000', request: 'GET https://a.example:443/ HTTP/1.1' })),
    );
    assert.equal('http.server.request.duration' in oneMissing, false);
  });

  test('fields after error_reason (target lists, classification, conn_trace_id...) are ignored', () => {
    const rest =
      '"10.0.1.5:8080" "200" "-" "-" TID_1a2b3c4d5e6f "-" "-" "Ambiguous" "UndefinedContentLengthSemantics" "tls 1.3" "an unknown future field"';
    const e = event(
      parseLine('alb', alb({ request: 'DELETE https://api.example.com:443/v1/orders/7 HTTP/1.1', rest })),
    );
    assert.equal(e['http.request.method'], 'DELETE');
    assert.equal(e['url.path'], '/v1/orders/7');
    assert.equal(e['user_agent.original'], 'curl/8.5.0');
    assert.equal('trace.id' in e, false);
    // Nothing read from the later fields: the same event as without them.
    assert.deepEqual(
      e,
      event(parseLine('alb', alb({ request: 'DELETE https://api.example.com:443/v1/orders/7 HTTP/1.1' }))),
    );
  });

  test('an entry cut after the user agent still reads: only the fields up to it are required', () => {
    const full = alb({ request: 'GET https://api.example.com:443/a HTTP/1.1' });
    const cut = full.slice(0, full.indexOf(' ECDHE'));
    assert.equal(event(parseLine('alb', cut))['url.path'], '/a');
  });

  test('status: 000 or - is no status (the client left before an answer); other non-statuses refuse the line', () => {
    const gone = event(
      parseLine(
        'alb',
        alb({
          elbStatus: '000',
          targetStatus: '-',
          seconds: '0.000 -1 -1',
          request: 'GET https://a.example:443/slow HTTP/1.1',
        }),
      ),
    );
    assert.equal('http.response.status_code' in gone, false);
    const dash = event(parseLine('alb', alb({ elbStatus: '-', request: 'GET https://a.example:443/x HTTP/1.1' })));
    assert.equal('http.response.status_code' in dash, false);
    assert.match(
      reason(parseLine('alb', alb({ elbStatus: '2000', request: 'GET https://a.example:443/x HTTP/1.1' }))),
      /^status 2000 is not an HTTP status code/,
    );
  });

  test('a request line the balancer could not read is a malformed event, with the line as evidence', () => {
    const e = event(
      parseLine('alb', alb({ elbStatus: '400', targetStatus: '-', request: '- http://api.example.com:80- -' })),
    );
    assert.equal(e['http.request.method'], '-');
    assert.equal(e['url.path'], '-');
    assert.equal(e['vigil.request.malformed'], true);
    assert.equal(e['vigil.request.line'], '- http://api.example.com:80- -');
    assert.equal(e['http.response.status_code'], 400);
    assertValid(e);
  });

  test('escaped quotes and \\x bytes in the user agent are decoded', () => {
    const e = event(
      parseLine('alb', alb({ request: 'GET https://a.example:443/ HTTP/1.1', userAgent: 'x\\" y caf\\xC3\\xA9' })),
    );
    assert.equal(e['user_agent.original'], 'x" y café');
  });

  test('lines that are no Application Load Balancer entry say why, without quoting the line', () => {
    const request = 'GET https://api.example.com:443/?token=s3cret HTTP/1.1';
    const cases: [string, RegExp][] = [
      ['', /^empty line$/],
      [
        // A Classic Load Balancer entry: no type in front.
        '2026-11-02T10:00:00.123456Z my-elb 198.51.100.7:41322 10.0.1.5:8080 0.000 0.001 0.000 200 200 0 29 "GET https://api.example.com:443/?token=s3cret HTTP/1.1" "curl/8.5.0" - -',
        /Classic Load Balancer/,
      ],
      [
        '203.0.113.7 - - [10/Oct/2023:13:55:36 +0200] "GET /?token=s3cret HTTP/1.1" 200 1532 "-" "curl/8.5.0"',
        /only \d+ fields before the request/,
      ],
      [alb({ seconds: '0.001 fast 0.000', request }), /processing times must be seconds or -1/],
      [alb({ sent: 'many', request }), /status and byte counts must be numbers or -/],
      [alb({ request }).replace(' "curl/8.5.0"', ' curl/8.5.0'), /does not match the Application Load Balancer format/],
      [alb({ time: '2026-02-30T10:00:00Z', request }), /^time 2026-02-30T10:00:00Z is not an ISO 8601 time/],
    ];
    for (const [line, expected] of cases) {
      const why = reason(parseLine('alb', line));
      assert.match(why, expected, line);
      assert.equal(why.includes('s3cret'), false, why);
    }
  });
});

describe('vigil ingest --format alb', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  test('ships a load balancer log: the events are stored with their fields, a bad line is reported by number', async () => {
    const dir = tempDir('vigil-alb-');
    const path = join(dir, '123456789012_elasticloadbalancing_eu-west-1_app.orders-api.log');
    const time = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(
      path,
      [
        alb({ time, request: 'GET https://api.example.com:443/v1/alb-orders?page=2 HTTP/2.0', type: 'h2' }),
        'not an entry',
        alb({
          time,
          client: '203.0.113.9:5000',
          target: '-',
          seconds: '-1 -1 -1',
          elbStatus: '403',
          targetStatus: '-',
          request: 'GET https://api.example.com:443/alb-admin HTTP/1.1',
        }),
      ].join('\n'),
    );
    const err: string[] = [];
    const code = await ingestCommand([path, '--format', 'alb', '--endpoint', server.url], {
      env: { VIGIL_INGEST_TOKEN: server.ingestToken },
      stderr: { write: (t: string) => err.push(t) },
    });
    assert.equal(code, 0, err.join(''));
    assert.match(err.join(''), /orders-api\.log:2: only 3 fields before the request/);
    assert.match(err.join(''), /2 events stored, 0 already stored, 1 bad lines/);
    const res = await server.get('/api/v1/events?limit=1000');
    const { events } = (await res.json()) as { events: Record<string, unknown>[] };
    const stored = events.filter((e) => e['vigil.source.name'] === 'alb');
    const byPath = new Map(stored.map((e) => [e['url.path'], e]));
    assert.equal(stored.length, 2);
    const ok = byPath.get('/v1/alb-orders')!;
    assert.deepEqual(
      [ok['http.request.method'], ok['url.query'], ok['url.scheme'], ok['server.address'], ok['server.port']],
      ['GET', 'page=2', 'https', 'api.example.com', 443],
    );
    assert.deepEqual(
      [ok['client.address'], ok['client.port'], ok['network.protocol.version'], ok['http.response.status_code']],
      ['198.51.100.7', 41322, '2', 200],
    );
    assert.deepEqual(
      [ok['http.request.body.size'], ok['http.response.body.size'], ok['http.server.request.duration']],
      [312, 1045, 0.021],
    );
    assert.equal(ok['user_agent.original'], 'curl/8.5.0');
    assert.equal(ok.time, time);
    assert.equal(ok['trace.id'], undefined);
    const denied = byPath.get('/alb-admin')!;
    assert.equal(denied['http.response.status_code'], 403);
    assert.equal(denied['client.address'], '203.0.113.9');
    assert.equal(denied['http.server.request.duration'], undefined);
  });
});
