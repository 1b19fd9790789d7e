import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseEvent } from '@vigil/schema';
import { ConfigError } from '../errors.js';
import { assertValid, event, reason } from '../testing/line-results.js';
import { createLineParser, type LineResult, parseClfTime, parseLine, parseLineRecord } from './access-log.js';
import { readLines } from './lines.js';

describe('combined and common formats', () => {
  test('an nginx combined line: every field', () => {
    const e = event(
      parseLine(
        'combined',
        '203.0.113.7 - - [10/Oct/2023:13:55:36 +0200] "GET /api/users/42?expand=orders&page=2 HTTP/1.1" 200 1532 ' +
          '"https://shop.example/cart" "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"',
      ),
    );
    assert.deepEqual(e, {
      time: Date.UTC(2023, 9, 10, 11, 55, 36),
      type: 'http_request',
      'http.request.method': 'GET',
      'network.protocol.version': '1.1',
      'url.path': '/api/users/42',
      'url.query': 'expand=orders&page=2',
      'http.response.status_code': 200,
      'http.response.body.size': 1532,
      'client.address': '203.0.113.7',
      'http.request.referrer': 'https://shop.example/cart',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
      'vigil.source.name': 'combined',
    });
    assertValid(e);
  });

  test('the Apache common-format example: remote user, negative offset, no referer or user agent', () => {
    const e = event(
      parseLine('common', '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'),
    );
    assert.equal(e.time, Date.UTC(2000, 9, 10, 20, 55, 36));
    assert.equal(e['user.id'], 'frank');
    assert.equal(e['url.path'], '/apache_pb.gif');
    assert.equal(e['network.protocol.version'], '1.0');
    assert.equal(e['http.response.body.size'], 2326);
    assert.equal(e['vigil.source.name'], 'common');
    assert.equal('user_agent.original' in e, false);
    assert.equal('http.request.referrer' in e, false);
    assertValid(e);
  });

  test('an IPv6 client, HTTP/2, a `-` size (no body) and `-` referer', () => {
    const e = event(
      parseLine(
        'combined',
        '2001:db8:85a3::8a2e:370:7334 - bob [05/Mar/2024:00:00:01 +0000] "POST /login HTTP/2.0" 302 - "-" "curl/8.5.0"',
      ),
    );
    assert.equal(e['client.address'], '2001:db8:85a3::8a2e:370:7334');
    assert.equal(e['user.id'], 'bob');
    assert.equal(e['network.protocol.version'], '2');
    assert.equal(e['http.response.body.size'], 0);
    assert.equal('http.request.referrer' in e, false);
    assert.equal(e['user_agent.original'], 'curl/8.5.0');
  });

  test('nginx \\x escapes inside quoted fields are decoded, quotes included', () => {
    const e = event(
      parseLine(
        'combined',
        '198.51.100.4 - - [05/Mar/2024:10:00:00 +0000] "GET /search?q=\\x22%3Cscript%3E HTTP/1.1" 200 10 "-" ' +
          '"Mozilla/5.0 \\x22quoted\\x22 caf\\xC3\\xA9 \\x5C"',
      ),
    );
    assert.equal(e['url.query'], 'q="%3Cscript%3E');
    assert.equal(e['user_agent.original'], 'Mozilla/5.0 "quoted" café \\');
  });

  test('Apache backslash escapes inside quoted fields are decoded', () => {
    const e = event(
      parseLine(
        'combined',
        '192.0.2.9 - - [05/Mar/2024:10:00:00 +0000] "GET /a\\"b HTTP/1.1" 404 0 "http://x.example/\\"q" ' +
          '"agent \\"with\\" quotes\\\\ and\\ttab"',
      ),
    );
    assert.equal(e['url.path'], '/a"b');
    assert.equal(e['http.request.referrer'], 'http://x.example/"q');
    assert.equal(e['user_agent.original'], 'agent "with" quotes\\ and\ttab');
  });

  test('percent-encoding is left as sent in url.path', () => {
    const e = event(
      parseLine(
        'combined',
        '192.0.2.9 - - [05/Mar/2024:10:00:00 +0000] "GET /files/..%2F..%2Fetc%2Fpasswd%00.png HTTP/1.1" 400 0 "-" "-"',
      ),
    );
    assert.equal(e['url.path'], '/files/..%2F..%2Fetc%2Fpasswd%00.png');
    assert.equal('user_agent.original' in e, false);
  });

  test('an 8 KiB URL is kept whole by the parser (the validator cuts it and marks the event)', () => {
    const path = `/p/${'a'.repeat(8192)}`;
    const e = event(
      parseLine('combined', `192.0.2.9 - - [05/Mar/2024:10:00:00 +0000] "GET ${path} HTTP/1.1" 414 0 "-" "x"`),
    );
    assert.equal(e['url.path'], path);
    const parsed = parseEvent(e, { now: Date.UTC(2030, 0, 1) });
    assert.ok(parsed.ok);
    assert.equal(parsed.event.attributes['vigil.truncated'], true);
  });

  test('a request line that is `-` (nginx 400 on an empty request) is a malformed event, not an error', () => {
    const e = event(parseLine('combined', '192.0.2.66 - - [05/Mar/2024:10:00:00 +0000] "-" 400 0 "-" "-"'));
    assert.equal(e['http.request.method'], '-');
    assert.equal(e['url.path'], '-');
    assert.equal(e['vigil.request.malformed'], true);
    assert.equal('vigil.request.line' in e, false);
    assert.equal(e['http.response.status_code'], 400);
    assertValid(e);
  });

  test('a TLS handshake sent to a plain-HTTP port keeps its logged bytes as evidence', () => {
    const logged = '\\x16\\x03\\x01\\x00\\xA5\\x01\\x00\\x00\\xA1\\x03\\x03';
    const e = event(parseLine('combined', `192.0.2.66 - - [05/Mar/2024:10:00:00 +0000] "${logged}" 400 157 "-" "-"`));
    assert.equal(e['http.request.method'], '-');
    assert.equal(e['vigil.request.malformed'], true);
    assert.equal(e['vigil.request.line'], logged);
    assertValid(e);
  });

  test('other odd request lines: HTTP/0.9, absolute-form with credentials, CONNECT, OPTIONS *', () => {
    const at = (request: string) =>
      event(parseLine('combined', `192.0.2.66 - - [05/Mar/2024:10:00:00 +0000] "${request}" 200 0 "-" "-"`));
    const old = at('GET /');
    assert.equal(old['http.request.method'], 'GET');
    assert.equal(old['url.path'], '/');
    assert.equal('network.protocol.version' in old, false);

    const proxy = at('GET http://user:secret@evil.example:8080/p?x=1 HTTP/1.1');
    assert.equal(proxy['url.full'], 'http://evil.example:8080/p?x=1');
    assert.equal(proxy['url.scheme'], 'http');
    assert.equal(proxy['server.address'], 'evil.example');
    assert.equal(proxy['server.port'], 8080);
    assert.equal(proxy['url.path'], '/p');
    assert.equal(proxy['url.query'], 'x=1');
    assert.equal(JSON.stringify(proxy).includes('secret'), false);

    const bare = at('GET http://evil.example HTTP/1.1');
    assert.equal(bare['url.path'], '/');

    const connect = at('CONNECT example.com:443 HTTP/1.1');
    assert.equal(connect['url.path'], 'example.com:443');
    assert.equal(connect['server.address'], 'example.com');
    assert.equal(connect['server.port'], 443);

    assert.equal(at('OPTIONS * HTTP/1.1')['url.path'], '*');
  });

  test('a user name with spaces or brackets is read whole, and Apache\'s `""` for an empty name is no user', () => {
    // The name comes from the client's Basic credentials and servers log its spaces as sent: a line that did not
    // parse because of it would let a client keep its requests out of the events.
    const named = (user: string) =>
      parseLine(
        'combined',
        `192.0.2.1 - ${user} [05/Mar/2024:10:00:00 +0000] "POST /login HTTP/1.1" 401 5 "-" "curl/8.5.0"`,
      );
    const spaced = event(named('bob smith'));
    assert.equal(spaced['user.id'], 'bob smith');
    assert.equal(spaced['http.response.status_code'], 401);
    assert.equal(spaced.time, Date.UTC(2024, 2, 5, 10));
    const bracketed = event(named('x [01/Jan/2000:00:00:00 +0000] y'));
    assert.equal(bracketed['user.id'], 'x [01/Jan/2000:00:00:00 +0000] y');
    assert.equal(bracketed.time, Date.UTC(2024, 2, 5, 10), 'the time is the one before the request line');
    assert.equal(event(named('x [')).time, Date.UTC(2024, 2, 5, 10), 'a name ending in a bracket');
    assert.equal(event(named('al\\x22ice'))['user.id'], 'al"ice');
    assert.equal(event(named('""'))['user.id'], undefined);
    assertValid(spaced);
  });

  test('status: 499 is kept, 000 (no response sent) is no status, a status that is not three digits is refused', () => {
    const line = (status: string, bytes = '0') =>
      parseLine(
        'combined',
        `192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "POST /login HTTP/1.1" ${status} ${bytes} "-" "-"`,
      );
    assert.equal(event(line('499'))['http.response.status_code'], 499);
    assert.equal(event(line('999'))['http.response.status_code'], 999);
    const none = event(line('000'));
    assert.equal(none['http.response.status_code'], undefined, 'not a status below 400: no answer was sent');
    assert.equal(none['url.path'], '/login');
    assertValid(none);
    for (const bad of ['20', '099', '2000']) {
      assert.match(reason(line(bad)), new RegExp(`^status ${bad} is not an HTTP status code`));
    }
  });

  test('a byte count beyond 2^53 cannot be stored exactly: the event is kept without it', () => {
    const line = (bytes: string) =>
      parseLine('combined', `192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "GET /big HTTP/1.1" 200 ${bytes} "-" "-"`);
    assert.equal(event(line('9007199254740991'))['http.response.body.size'], 9007199254740991);
    const huge = event(line('99999999999999999999'));
    assert.equal(huge['http.response.body.size'], undefined);
    assert.equal(huge['http.response.status_code'], 200);
    assertValid(huge);
  });

  test('runs of spaces between the parts of a request line are not part of the path; a protocol is no target', () => {
    const request = (line: string) =>
      event(parseLine('combined', `192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "${line}" 200 5 "-" "-"`));
    // nginx serves /admin for this line: the path must read /admin, or rules on the path's start miss it.
    const spaced = request('GET  /admin?x=1   HTTP/1.1');
    assert.equal(spaced['url.path'], '/admin');
    assert.equal(spaced['url.query'], 'x=1');
    assert.equal(spaced['network.protocol.version'], '1.1');
    const nineSpaced = request('GET   /a b');
    assert.equal(nineSpaced['url.path'], '/a b', 'HTTP/0.9: spaces inside the target are kept');
    assert.equal(nineSpaced['network.protocol.version'], undefined);
    const noTarget = request('GET HTTP/1.1');
    assert.equal(noTarget['vigil.request.malformed'], true);
    assert.equal(noTarget['url.path'], '-');
    assert.equal(noTarget['vigil.request.line'], 'GET HTTP/1.1');
    assert.equal(noTarget['network.protocol.version'], undefined);
    assertValid(noTarget);
  });

  test('extra fields after the user agent are ignored', () => {
    const e = event(
      parseLine(
        'combined',
        '192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "kube-probe/1.29" 0.002 "10.0.0.1"',
      ),
    );
    assert.equal(e['user_agent.original'], 'kube-probe/1.29');
  });

  test('lines that do not match say why, without quoting the line', () => {
    assert.equal(reason(parseLine('combined', '')), 'empty line');
    assert.match(reason(parseLine('combined', 'hello world')), /no \[time\]/);
    assert.match(
      reason(parseLine('combined', '1.2.3.4 - - [05/Mar/2024:10:00:00 +0000] GET /secret')),
      /no quoted request/,
    );
    assert.match(
      reason(parseLine('combined', '1.2.3.4 - - [05/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" OK')),
      /status/,
    );
    const badTime = reason(parseLine('combined', '1.2.3.4 - - [31/Feb/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1'));
    assert.match(badTime, /time \[31\/Feb/);
  });

  test('invalid UTF-8 read from a real file becomes U+FFFD and the line still parses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-access-'));
    try {
      const path = join(dir, 'access.log');
      await writeFile(
        path,
        Buffer.concat([
          Buffer.from('192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "GET /ok HTTP/1.1" 200 5 "-" "curl/8.5.0"\r\n'),
          Buffer.from('192.0.2.2 - - [05/Mar/2024:10:00:01 +0000] "GET /bin HTTP/1.1" 200 5 "-" "agent-'),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('"\n'),
          Buffer.from('garbage\n'),
        ]),
      );
      const parse = createLineParser('combined');
      const results: { line: number; invalidUtf8: boolean; result: LineResult }[] = [];
      for await (const line of readLines(createReadStream(path))) {
        results.push({ line: line.lineNumber, invalidUtf8: line.invalidUtf8, result: parseLineRecord(parse, line) });
      }
      assert.equal(results.length, 3);
      assert.equal(event(results[0]!.result)['url.path'], '/ok');
      assert.equal(results[1]!.invalidUtf8, true);
      assert.equal(event(results[1]!.result)['user_agent.original'], 'agent-\uFFFD(\uFFFD');
      assert.equal(results[2]!.line, 3);
      assert.match(reason(results[2]!.result), /no \[time\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a truncated line that still parses is marked vigil.truncated; one that does not says it was cut', () => {
    const parse = createLineParser('combined');
    const base = { lineNumber: 1, byteOffset: 0, byteLength: 70_000, truncated: true, invalidUtf8: false };
    const ok = parseLineRecord(parse, {
      ...base,
      text: '192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5',
    });
    assert.equal(event(ok)['vigil.truncated'], true);
    const cut = parseLineRecord(parse, { ...base, text: '192.0.2.1 - - [05/Mar/2024:10:00:00 +0000] "GET /aaaa' });
    assert.match(reason(cut), /70000 bytes was cut/);
  });

  test("ingress-nginx's default format: combined with its upstream fields after the user agent, which are ignored", () => {
    const line =
      '203.0.113.7 - - [28/Nov/2026:10:00:00 +0000] "POST /login HTTP/1.1" 401 24 "https://shop.example/login" ' +
      '"python-requests/2.31.0" 412 0.004 [shop-api-8080] [] 10.244.1.17:8080 24 0.004 401 9f3c1d2e8b7a6f5e4d3c2b1a09f8e7d6';
    const e = event(parseLine('combined', line));
    assertValid(e);
    assert.equal(e.time, Date.UTC(2026, 10, 28, 10, 0, 0));
    assert.equal(e['http.request.method'], 'POST');
    assert.equal(e['url.path'], '/login');
    assert.equal(e['http.response.status_code'], 401);
    assert.equal(e['client.address'], '203.0.113.7');
    assert.equal(e['user_agent.original'], 'python-requests/2.31.0');
    assert.equal(e['user.id'], undefined);
  });

  test('a CRI container log line read as a plain log is refused, naming the option, not read with wrong fields', () => {
    const line =
      '2026-11-28T10:00:00.123456789Z stdout F 203.0.113.7 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "-"';
    for (const format of ['combined', 'common', 'combined-xff'] as const) {
      assert.equal(
        reason(parseLine(format, line)),
        'this is a container log line (TIME STREAM TAG ...): read the file with --container cri',
      );
    }
  });
});

describe('parseClfTime', () => {
  test('offsets east and west of UTC, brackets optional', () => {
    assert.equal(parseClfTime('[10/Oct/2000:13:55:36 -0700]'), Date.UTC(2000, 9, 10, 20, 55, 36));
    assert.equal(parseClfTime('10/Oct/2000:13:55:36 +0530'), Date.UTC(2000, 9, 10, 8, 25, 36));
    assert.equal(parseClfTime('29/Feb/2024:23:59:59 +0000'), Date.UTC(2024, 1, 29, 23, 59, 59));
  });

  test('refuses impossible dates and other shapes', () => {
    for (const bad of [
      '29/Feb/2023:00:00:00 +0000',
      '10/Foo/2000:13:55:36 -0700',
      '10/Oct/2000:24:00:00 +0000',
      '10/Oct/2000:13:55:36',
      '10/Oct/2000:13:55:36 0700',
      '2000-10-10T13:55:36Z',
    ]) {
      assert.equal(parseClfTime(bad), undefined, bad);
    }
  });
});

describe('JSON presets', () => {
  const nginxLine = JSON.stringify({
    time_iso8601: '2024-03-05T10:15:30+01:00',
    remote_addr: '198.51.100.23',
    remote_user: '',
    request_method: 'POST',
    request_uri: '/api/v1/orders?coupon=SPRING',
    server_protocol: 'HTTP/1.1',
    status: '201',
    body_bytes_sent: '512',
    http_referer: 'https://shop.example/checkout',
    http_user_agent: 'okhttp/4.12.0',
    request_time: '0.042',
    host: 'api.shop.example',
    request_id: '5f2b1c0e9d8a7b6c5f2b1c0e9d8a7b6c',
  });

  test('nginx log_format json escape=json', () => {
    const e = event(parseLine('nginx-json', nginxLine));
    assert.deepEqual(e, {
      time: Date.UTC(2024, 2, 5, 9, 15, 30),
      type: 'http_request',
      'http.request.method': 'POST',
      'url.path': '/api/v1/orders',
      'url.query': 'coupon=SPRING',
      'http.response.status_code': 201,
      'http.response.body.size': 512,
      'client.address': '198.51.100.23',
      'user_agent.original': 'okhttp/4.12.0',
      'http.request.referrer': 'https://shop.example/checkout',
      'server.address': 'api.shop.example',
      'network.protocol.version': '1.1',
      'http.request.id': '5f2b1c0e9d8a7b6c5f2b1c0e9d8a7b6c',
      'http.server.request.duration': 0.042,
      'vigil.source.name': 'nginx-json',
    });
    assertValid(e);
  });

  test('nginx JSON with an unparseable request: empty method and uri, a status', () => {
    const e = event(
      parseLine(
        'nginx-json',
        '{"time_iso8601":"2024-03-05T10:15:30+00:00","remote_addr":"192.0.2.66","request_method":"","request_uri":"","status":"400","body_bytes_sent":"157"}',
      ),
    );
    assert.equal(e['http.request.method'], '-');
    assert.equal(e['url.path'], '-');
    assert.equal(e['vigil.request.malformed'], true);
    assertValid(e);
  });

  const envoyLine = JSON.stringify({
    start_time: '2024-03-05T09:15:30.123Z',
    route_name: 'default',
    method: 'GET',
    path: '/productpage?u=normal',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    response_code_details: 'via_upstream',
    bytes_received: 0,
    bytes_sent: 4294,
    duration: 17,
    upstream_service_time: '16',
    x_forwarded_for: null,
    user_agent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15',
    request_id: 'd5f2a6a4-6c3e-4b1f-9d0a-2f7e8c9b1a3d',
    authority: 'bookinfo.example:9080',
    upstream_host: '10.244.1.12:9080',
    upstream_cluster: 'outbound|9080||productpage.default.svc.cluster.local',
    downstream_local_address: '10.244.1.12:9080',
    downstream_remote_address: '10.244.0.7:41234',
  });

  test('Envoy / Istio JSON access log', () => {
    const e = event(parseLine('envoy-json', envoyLine));
    assert.deepEqual(e, {
      time: Date.UTC(2024, 2, 5, 9, 15, 30, 123),
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': '/productpage',
      'url.query': 'u=normal',
      'http.response.status_code': 200,
      'http.response.body.size': 4294,
      'http.request.body.size': 0,
      'client.address': '10.244.0.7',
      'client.port': 41234,
      'user_agent.original':
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15',
      'server.address': 'bookinfo.example',
      'server.port': 9080,
      'network.protocol.version': '1.1',
      'http.request.id': 'd5f2a6a4-6c3e-4b1f-9d0a-2f7e8c9b1a3d',
      'http.server.request.duration': 0.017,
      'vigil.source.name': 'envoy-json',
    });
    assertValid(e);
  });

  test('Envoy with string values, a `user-agent` key and an IPv6 peer', () => {
    const e = event(
      parseLine(
        'envoy-json',
        '{"start_time":"2024-03-05T09:15:30.123Z","method":"PUT","path":"/v1/items/9","response_code":"503","bytes_sent":"91","duration":"250","user-agent":"Go-http-client/2.0","downstream_remote_address":"[2001:db8::9]:5555"}',
      ),
    );
    assert.equal(e['http.response.status_code'], 503);
    assert.equal(e['http.response.body.size'], 91);
    assert.equal(e['http.server.request.duration'], 0.25);
    assert.equal(e['user_agent.original'], 'Go-http-client/2.0');
    assert.equal(e['client.address'], '2001:db8::9');
    assert.equal(e['client.port'], 5555);
  });

  const traefikLine = JSON.stringify({
    ClientAddr: '192.0.2.10:60124',
    ClientHost: '192.0.2.10',
    ClientPort: '60124',
    ClientUsername: '-',
    DownstreamContentSize: 19,
    DownstreamStatus: 404,
    Duration: 1234567,
    OriginContentSize: 19,
    OriginDuration: 1100000,
    OriginStatus: 404,
    Overhead: 134567,
    RequestAddr: 'whoami.example',
    RequestContentSize: 0,
    RequestCount: 42,
    RequestHost: 'whoami.example',
    RequestMethod: 'GET',
    RequestPath: '/.env',
    RequestPort: '-',
    RequestProtocol: 'HTTP/2.0',
    RequestScheme: 'https',
    RetryAttempts: 0,
    RouterName: 'whoami@docker',
    ServiceAddr: '172.18.0.3:80',
    ServiceName: 'whoami@docker',
    ServiceURL: 'http://172.18.0.3:80',
    StartLocal: '2024-03-05T10:15:30.123456789+01:00',
    StartUTC: '2024-03-05T09:15:30.123456789Z',
    entryPointName: 'websecure',
    level: 'info',
    msg: '',
    'request_User-Agent': 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)',
    time: '2024-03-05T10:15:30+01:00',
  });

  test('Traefik JSON access log', () => {
    const e = event(parseLine('traefik-json', traefikLine));
    assert.deepEqual(e, {
      time: Date.UTC(2024, 2, 5, 9, 15, 30, 123),
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': '/.env',
      'http.response.status_code': 404,
      'http.response.body.size': 19,
      'http.request.body.size': 0,
      'client.address': '192.0.2.10',
      'client.port': 60124,
      'user_agent.original': 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)',
      'server.address': 'whoami.example',
      'url.scheme': 'https',
      'network.protocol.version': '2',
      'http.server.request.duration': 0.001234567,
      'vigil.source.name': 'traefik-json',
    });
    assertValid(e);
  });

  const caddyLine = JSON.stringify({
    level: 'info',
    ts: 1709630130.1234567,
    logger: 'http.log.access.log0',
    msg: 'handled request',
    request: {
      remote_ip: '10.0.0.5',
      remote_port: '41000',
      client_ip: '203.0.113.50',
      proto: 'HTTP/2.0',
      method: 'DELETE',
      host: 'api.example.com',
      uri: '/v2/users/7f9c2a4e-1b3d-4c5e-8f70-a1b2c3d4e5f6?hard=true',
      headers: {
        'User-Agent': ['python-requests/2.31.0'],
        Referer: ['https://admin.example.com/'],
        Authorization: ['REDACTED'],
      },
      tls: { resumed: false, version: 772, cipher_suite: 4865, proto: 'h2', server_name: 'api.example.com' },
    },
    bytes_read: 0,
    user_id: 'admin',
    duration: 0.004321,
    size: 0,
    status: 204,
    resp_headers: { Server: ['Caddy'] },
  });

  test('Caddy JSON access log', () => {
    const e = event(parseLine('caddy-json', caddyLine));
    assert.deepEqual(e, {
      time: 1709630130123,
      type: 'http_request',
      'http.request.method': 'DELETE',
      'url.path': '/v2/users/7f9c2a4e-1b3d-4c5e-8f70-a1b2c3d4e5f6',
      'url.query': 'hard=true',
      'http.response.status_code': 204,
      'http.response.body.size': 0,
      'http.request.body.size': 0,
      'client.address': '203.0.113.50',
      'user.id': 'admin',
      'user_agent.original': 'python-requests/2.31.0',
      'http.request.referrer': 'https://admin.example.com/',
      'server.address': 'api.example.com',
      'network.protocol.version': '2',
      'http.server.request.duration': 0.004321,
      'vigil.source.name': 'caddy-json',
    });
    assertValid(e);
  });

  test('`json` without a mapping picks the preset from the keys', () => {
    for (const [line, preset] of [
      [nginxLine, 'nginx-json'],
      [envoyLine, 'envoy-json'],
      [traefikLine, 'traefik-json'],
      [caddyLine, 'caddy-json'],
    ] as const) {
      assert.deepEqual(event(parseLine('json', line)), event(parseLine(preset, line)));
    }
    assert.match(reason(parseLine('json', '{"a":1}')), /matches no preset/);
  });

  test('JSON status and sizes: 0 / "000" is no status, other non-statuses are refused, sizes up to 2^53', () => {
    const nginx = (fields: string) =>
      parseLine(
        'nginx-json',
        `{"time_iso8601":"2024-03-05T10:15:30+01:00","remote_addr":"192.0.2.1","request_method":"GET","request_uri":"/a",${fields}}`,
      );
    const none = event(nginx('"status":"000","body_bytes_sent":"0"'));
    assert.equal(none['http.response.status_code'], undefined);
    assert.equal(none['url.path'], '/a');
    const envoy = event(
      parseLine('envoy-json', '{"start_time":"2024-03-05T09:15:30.123Z","method":"GET","path":"/a","response_code":0}'),
    );
    assert.equal(envoy['http.response.status_code'], undefined);
    assert.match(reason(nginx('"status":"2000"')), /^status "2000" is not an HTTP status code/);
    assert.match(reason(nginx('"status":200.5')), /^status 200\.5 is not an HTTP status code/);
    assert.match(reason(nginx('"status":"OK"')), /^status "OK" is not an HTTP status code/);
    const sized = event(nginx('"status":"200","body_bytes_sent":"9007199254740991"'));
    assert.equal(sized['http.response.body.size'], 9007199254740991, 'sixteen digits fit');
    assert.equal(
      event(nginx('"status":"200","body_bytes_sent":"9007199254740993"'))['http.response.body.size'],
      undefined,
    );
  });

  test('an nginx JSON log_format without escape=json: its \\xHH escapes are read as nginx meant them', () => {
    // escape=default writes `"`, `\` and non-ASCII bytes as \xHH, which is not JSON.
    const line =
      '{"time_iso8601":"2024-03-05T10:15:30+01:00","remote_addr":"192.0.2.1","request_method":"GET",' +
      '"request_uri":"/caf\\xC3\\xA9?q=\\x22x\\x22","status":"200","http_user_agent":"a\\x5Cb \\x22ua\\x22",' +
      '"http_referer":"bad\\xFF","remote_user":"\\u0041lice"}';
    const e = event(parseLine('nginx-json', line));
    assert.equal(e['url.path'], '/café');
    assert.equal(e['url.query'], 'q="x"');
    assert.equal(e['user_agent.original'], 'a\\b "ua"');
    assert.equal(e['http.request.referrer'], 'bad\uFFFD');
    assert.equal(e['user.id'], 'Alice', 'JSON escapes are kept');
    assert.equal(event(parseLine('json', line))['vigil.source.name'], 'nginx-json');
    assertValid(e);
    assert.match(reason(parseLine('nginx-json', '{"a":"\\x22", broken')), /^invalid JSON/);
  });

  test('JSON errors: invalid JSON (position only), not an object, no time, a bad time, not a request', () => {
    const invalid = reason(parseLine('nginx-json', '{"status": "200", "secret": tok'));
    assert.match(invalid, /^invalid JSON/);
    assert.equal(invalid.includes('tok'), false);
    assert.match(reason(parseLine('nginx-json', '[1,2]')), /not a JSON object/);
    assert.match(reason(parseLine('nginx-json', '{"status":"200"}')), /no time: none of time_iso8601/);
    assert.match(reason(parseLine('nginx-json', '{"time_iso8601":"yesterday","status":"200"}')), /time "yesterday"/);
    assert.match(reason(parseLine('nginx-json', '{"time_iso8601":"2024-03-05T10:15:30+01:00"}')), /not a request/);
  });
});

describe('custom JSON mapping', () => {
  const mapping = {
    source: 'gateway',
    time: 'ts',
    timeFormat: 'epoch_ms',
    method: 'req.verb',
    path: 'req.url',
    query: 'req.qs',
    status: ['res.code', 'res.status'],
    responseBytes: 'res.bytes',
    clientAddress: 'peer',
    user: 'auth.sub',
    userAgent: 'req.headers["user-agent"]',
    duration: 'took',
    durationUnit: 'ms',
    fields: { tenant: 'vigil.tenant.id', 'tags[0]': 'vigil.object.type', '["flat.key"]': 'vigil.object.id' },
  } as const;

  test('maps nested paths, array indexes, quoted keys, candidates and extra fields', () => {
    const parse = createLineParser('json', { mapping });
    const e = event(
      parse(
        JSON.stringify({
          ts: 1709630130456,
          req: { verb: 'PATCH', url: '/accounts/17', qs: '?dry=1', headers: { 'user-agent': 'axios/1.6.7' } },
          res: { status: 200, bytes: 77 },
          peer: '[2001:db8::1]:443',
          auth: { sub: 'u-123' },
          took: 12.5,
          tenant: 'acme',
          tags: ['invoice', 'x'],
          'flat.key': '9001',
        }),
      ),
    );
    assert.deepEqual(e, {
      time: 1709630130456,
      type: 'http_request',
      'http.request.method': 'PATCH',
      'url.path': '/accounts/17',
      'url.query': 'dry=1',
      'http.response.status_code': 200,
      'http.response.body.size': 77,
      'client.address': '2001:db8::1',
      'client.port': 443,
      'user.id': 'u-123',
      'user_agent.original': 'axios/1.6.7',
      'http.server.request.duration': 0.0125,
      'vigil.tenant.id': 'acme',
      'vigil.object.type': 'invoice',
      'vigil.object.id': '9001',
      'vigil.source.name': 'gateway',
    });
  });

  test('time formats: epoch seconds, nanoseconds (as text, beyond double precision), CLF, auto', () => {
    const at = (timeFormat: string, ts: unknown) =>
      event(
        parseLine('json', JSON.stringify({ ts, m: 'GET', p: '/' }), {
          mapping: { time: 'ts', timeFormat: timeFormat as 'auto', method: 'm', path: 'p' },
        }),
      ).time;
    const expected = Date.UTC(2024, 2, 5, 9, 15, 30, 123);
    assert.equal(at('epoch_s', 1709630130.123), expected);
    assert.equal(at('epoch_s', '1709630130.123'), expected);
    assert.equal(at('epoch_ms', expected), expected);
    assert.equal(at('epoch_ns', '1709630130123456789'), expected);
    // A nanosecond JSON number is beyond a double's integer precision; the millisecond part survives.
    const nsNumber = parseLine('json', '{"ts":1709630130123456789,"m":"GET","p":"/"}', {
      mapping: { time: 'ts', timeFormat: 'epoch_ns', method: 'm', path: 'p' },
    });
    assert.equal(event(nsNumber).time, expected);
    assert.equal(at('clf', '05/Mar/2024:10:15:30 +0100'), expected - 123);
    assert.equal(at('iso', '2024-03-05T09:15:30.123Z'), expected);
    for (const value of [
      1709630130.123,
      expected,
      expected * 1000,
      '1709630130123456789',
      '2024-03-05T09:15:30.123Z',
    ]) {
      assert.equal(at('auto', value), expected, String(value));
    }
    // An RFC 3339 string is accepted whatever the configured format (Caddy's time_format switch).
    assert.equal(at('epoch_s', '2024-03-05T09:15:30.123Z'), expected);
  });

  test("an ISO time with a +hhmm offset (strftime's %z) is read; one without any offset says it lacks one", () => {
    const parse = createLineParser('json', { mapping: { time: 't', method: 'm', path: 'p' } });
    const at = (t: string) => parse(JSON.stringify({ t, m: 'GET', p: '/' }));
    assert.equal(event(at('2024-03-05T10:15:30+0100')).time, Date.UTC(2024, 2, 5, 9, 15, 30));
    assert.equal(event(at('2024-03-05T10:15:30.250-0230')).time, Date.UTC(2024, 2, 5, 12, 45, 30, 250));
    assert.match(reason(at('2024-03-05T10:15:30')), /has no UTC offset/);
    assert.match(reason(at('2024-02-30T10:15:30+0100')), /is not a valid time/);
  });

  test('Go duration strings carry their own unit', () => {
    const e = event(
      parseLine('json', '{"t":"2024-03-05T09:15:30Z","m":"GET","p":"/","d":"1m2.5s"}', {
        mapping: { time: 't', method: 'm', path: 'p', duration: 'd', durationUnit: 'ns' },
      }),
    );
    assert.equal(e['http.server.request.duration'], 62.5);
  });

  test('a bad mapping stops with a ConfigError naming the key', () => {
    const bad = (mappingValue: unknown, key: RegExp) =>
      assert.throws(
        () => createLineParser('json', { mapping: mappingValue as never, configKey: 'sources.api' }),
        (error: unknown) => error instanceof ConfigError && key.test(error.key),
      );
    bad({ time: 't', verb: 'm' }, /^sources\.api\.verb$/);
    bad({ method: 'm' }, /^sources\.api\.time$/);
    bad({ time: 't', timeFormat: 'rfc2822' }, /^sources\.api\.timeFormat$/);
    bad({ time: 't', durationUnit: 'min' }, /^sources\.api\.durationUnit$/);
    bad({ time: 'a..b' }, /^sources\.api\.time$/);
    bad({ time: 'a[x]' }, /^sources\.api\.time$/);
    bad({ time: 't', fields: { x: 'not a field!' } }, /^sources\.api\.fields\.x$/);
    bad({ time: 't', fields: { x: 'time' } }, /^sources\.api\.fields\.x$/);
    assert.throws(() => createLineParser('combined', { mapping: { time: 't' } }), ConfigError);
  });
});

describe('vigil format', () => {
  test('passes a Vigil wire event through for validation', () => {
    const line = '{"time":"2024-03-05T09:15:30Z","type":"authn_login_fail","user":{"id":"4711"},"ok":false}';
    const e = event(parseLine('vigil', line));
    assert.deepEqual(e, JSON.parse(line));
    assert.match(reason(parseLine('vigil', 'not json')), /not a JSON object/);
  });
});
