import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertValid, event, reason } from '../testing/line-results.js';
import { createLineParser, type LineResult } from './access-log.js';
import { CLOUDFRONT_FIELDS } from './access-log-w3c.js';

const CLOUDFRONT_HEADER = ['#Version: 1.0', `#Fields: ${CLOUDFRONT_FIELDS.join(' ')}`];

/** A CloudFront standard-log entry (tab-separated, in the standard order), with defaults for what a test ignores. */
function cloudfront(fields: Partial<Record<string, string>>): string {
  const defaults: Record<string, string> = {
    date: '2026-11-02',
    time: '10:00:05',
    'x-edge-location': 'FRA56-P4',
    'sc-bytes': '1045',
    'c-ip': '198.51.100.7',
    'cs-method': 'GET',
    'cs(Host)': 'd111111abcdef8.cloudfront.net',
    'cs-uri-stem': '/v1/orders',
    'sc-status': '200',
    'cs(Referer)': '-',
    'cs(User-Agent)': 'curl/8.5.0',
    'cs-uri-query': '-',
    'cs(Cookie)': '-',
    'x-edge-result-type': 'Miss',
    'x-edge-request-id': 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==',
    'x-host-header': 'api.example.com',
    'cs-protocol': 'https',
    'cs-bytes': '312',
    'time-taken': '0.021',
    'x-forwarded-for': '-',
    'ssl-protocol': 'TLSv1.3',
    'ssl-cipher': 'TLS_AES_128_GCM_SHA256',
    'x-edge-response-result-type': 'Miss',
    'cs-protocol-version': 'HTTP/2.0',
    'fle-status': '-',
    'fle-encrypted-fields': '-',
    'c-port': '41322',
    'time-to-first-byte': '0.020',
    'x-edge-detailed-result-type': 'Miss',
    'sc-content-type': 'application/json',
    'sc-content-len': '812',
    'sc-range-start': '-',
    'sc-range-end': '-',
  };
  return CLOUDFRONT_FIELDS.map((name) => fields[name] ?? defaults[name]!).join('\t');
}

/** Every line through one parser, as a stream is read. */
function readAll(format: 'cloudfront' | 'iis', lines: readonly string[]): LineResult[] {
  const parse = createLineParser(format);
  return lines.map((line) => parse(line));
}

describe('cloudfront', () => {
  test('reads an entry into the event fields; directives are no events and no bad lines', () => {
    const results = readAll('cloudfront', [
      ...CLOUDFRONT_HEADER,
      cloudfront({
        'cs-method': 'POST',
        'cs-uri-stem': '/v1/orders/7',
        'cs-uri-query': 'page=2&sort=desc',
        'cs(Referer)': 'https://app.example.com/cart',
        'cs(User-Agent)': 'Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20Firefox/132.0',
        'sc-status': '201',
      }),
    ]);
    assert.deepEqual(results.slice(0, 2), [
      { ok: true, directive: true },
      { ok: true, directive: true },
    ]);
    const e = event(results[2]!);
    assert.equal(e['trace.id'], undefined, 'the edge request id is no W3C trace id');
    assertValid(e);
    assert.deepEqual(e, {
      time: Date.UTC(2026, 10, 2, 10, 0, 5),
      type: 'http_request',
      'http.request.method': 'POST',
      'url.path': '/v1/orders/7',
      'url.query': 'page=2&sort=desc',
      'http.response.status_code': 201,
      'http.request.body.size': 312,
      'http.response.body.size': 1045,
      'http.server.request.duration': 0.021,
      'client.address': '198.51.100.7',
      'client.port': 41322,
      'server.address': 'api.example.com',
      'network.protocol.version': '2',
      'url.scheme': 'https',
      'user_agent.original': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0',
      'http.request.referrer': 'https://app.example.com/cart',
      'http.request.id': 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==',
      'vigil.source.name': 'cloudfront',
    });
  });

  test('a user agent encoded twice (%2520 for a space) is decoded twice; one with spaces once', () => {
    const [, , twice, once, literal] = readAll('cloudfront', [
      ...CLOUDFRONT_HEADER,
      cloudfront({ 'cs(User-Agent)': 'Tiny%2520Tiny%2520RSS/23.04%2520(https://tt-rss.org/)' }),
      cloudfront({ 'cs(User-Agent)': 'Slackbot%201.0%20(+https://api.slack.com/robots)%20100%25' }),
      cloudfront({ 'cs(User-Agent)': 'caf%C3%A9-client/1.0%20%E2%80%94%20beta' }),
    ]);
    assert.equal(event(twice!)['user_agent.original'], 'Tiny Tiny RSS/23.04 (https://tt-rss.org/)');
    assert.equal(event(once!)['user_agent.original'], 'Slackbot 1.0 (+https://api.slack.com/robots) 100%');
    assert.equal(event(literal!)['user_agent.original'], 'café-client/1.0 — beta');
  });

  test('- is no value; a status 000 (no response) sets no status; the distribution domain stands in for a missing Host', () => {
    const e = event(
      readAll('cloudfront', [
        cloudfront({
          'sc-status': '000',
          'cs(User-Agent)': '-',
          'x-host-header': '-',
          'c-port': '-',
          'cs-protocol-version': '-',
          'time-taken': '-',
          'sc-bytes': '-',
        }),
      ])[0]!,
    );
    for (const field of [
      'http.response.status_code',
      'user_agent.original',
      'client.port',
      'network.protocol.version',
      'http.server.request.duration',
      'http.response.body.size',
      'url.query',
      'http.request.referrer',
    ]) {
      assert.equal(e[field], undefined, field);
    }
    assert.equal(e['server.address'], 'd111111abcdef8.cloudfront.net');
    assertValid(e);
  });

  test('without a #Fields: line, the standard order is read (a stream picked up in the middle)', () => {
    const e = event(readAll('cloudfront', [cloudfront({ 'cs-uri-stem': '/health' })])[0]!);
    assert.equal(e['url.path'], '/health');
    assert.equal(e['http.request.id'], 'SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==');
  });

  test('an older file with fewer fields is read by its #Fields: line', () => {
    const fields = CLOUDFRONT_FIELDS.slice(0, 24);
    const line = cloudfront({ 'cs-uri-stem': '/old' }).split('\t').slice(0, 24).join('\t');
    const [, e] = readAll('cloudfront', [`#Fields: ${fields.join(' ')}`, line]);
    assert.equal(event(e!)['url.path'], '/old');
    assert.equal(event(e!)['client.port'], undefined);
  });

  test('a line whose field count does not match is a bad line saying so', () => {
    const line = cloudfront({});
    const results = readAll('cloudfront', [
      ...CLOUDFRONT_HEADER,
      `${line}\textra`,
      line.replaceAll('\t', ' '),
      line.split('\t').slice(0, 30).join('\t'),
    ]);
    assert.equal(reason(results[2]!), 'has 34 fields where the #Fields: directive names 33');
    assert.equal(
      reason(results[3]!),
      'has 1 fields where the #Fields: directive names 33; fields are separated by tabs',
    );
    assert.equal(reason(results[4]!), 'has 30 fields where the #Fields: directive names 33');
    const headless = readAll('cloudfront', [`${line}\textra`])[0]!;
    assert.equal(reason(headless), "has 34 fields where CloudFront's standard log has 33");
  });

  test('an impossible date or a status that is none is a bad line', () => {
    const results = readAll('cloudfront', [cloudfront({ date: '2026-02-30' }), cloudfront({ 'sc-status': '2000' })]);
    assert.match(reason(results[0]!), /date and time 2026-02-30 10:00:05 are not yyyy-mm-dd hh:mm:ss/);
    assert.match(reason(results[1]!), /status 2000 is not an HTTP status code/);
  });
});

const IIS_FIELDS =
  '#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken';

describe('iis', () => {
  test('reads a log with directives and a second #Fields: line mid-file (a restart with other fields)', () => {
    const results = readAll('iis', [
      '#Software: Microsoft Internet Information Services 10.0',
      '#Version: 1.0',
      '#Date: 2026-11-02 10:00:00',
      IIS_FIELDS,
      '2026-11-02 10:00:01 10.0.0.4 GET /api/orders id=7&x=1 443 CORP\\jdoe 198.51.100.7 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) https://app.example.com/ 200 0 0 15',
      '2026-11-02 10:00:02 10.0.0.4 POST /api/login - 443 - 2001:db8::7 - - 401 1 2148074254 1234',
      '#Software: Microsoft Internet Information Services 10.0',
      '#Version: 1.0',
      '#Date: 2026-11-02 11:00:00',
      '#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status sc-bytes cs-bytes time-taken cs-version cs-host',
      '2026-11-02 11:00:01 203.0.113.9 GET /api/items - 404 512 230 7 HTTP/1.1 api.example.com:8443',
    ]);
    assert.equal(results.filter((r) => r.ok && r.directive).length, 8);
    const first = event(results[4]!);
    assertValid(first);
    assert.deepEqual(first, {
      time: Date.UTC(2026, 10, 2, 10, 0, 1),
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': '/api/orders',
      'url.query': 'id=7&x=1',
      'http.response.status_code': 200,
      'http.server.request.duration': 0.015,
      'client.address': '198.51.100.7',
      'user_agent.original': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
      'http.request.referrer': 'https://app.example.com/',
      'user.id': 'CORP\\jdoe',
      'vigil.source.name': 'iis',
    });
    const login = event(results[5]!);
    assert.equal(login['client.address'], '2001:db8::7');
    assert.equal(login['http.response.status_code'], 401);
    assert.equal(login['http.server.request.duration'], 1.234, 'IIS logs milliseconds');
    for (const field of ['url.query', 'user.id', 'user_agent.original', 'http.request.referrer']) {
      assert.equal(login[field], undefined, field);
    }
    const after = event(results[10]!);
    assert.deepEqual(
      [after['url.path'], after['http.response.status_code'], after['http.response.body.size']],
      ['/api/items', 404, 512],
    );
    assert.deepEqual(
      [
        after['http.request.body.size'],
        after['network.protocol.version'],
        after['server.address'],
        after['server.port'],
      ],
      [230, '1.1', 'api.example.com', 8443],
    );
    assert.equal(after['http.server.request.duration'], 0.007);
    assertValid(after);
  });

  test('a line before any #Fields: line is a bad line: IIS fields are chosen per site', () => {
    const results = readAll('iis', ['#Version: 1.0', '2026-11-02 10:00:01 198.51.100.7 GET /api/orders - 200 15']);
    assert.deepEqual(results[0], { ok: true, directive: true });
    assert.match(reason(results[1]!), /^no #Fields: directive before this line, so its columns are unknown/);
  });

  test('a line whose field count does not match the #Fields: line is a bad line', () => {
    const results = readAll('iis', [
      '#Fields: date time c-ip cs-method cs-uri-stem sc-status',
      '2026-11-02 10:00:01 198.51.100.7 GET /a 200',
      '2026-11-02 10:00:01 198.51.100.7 GET /a b 200',
    ]);
    assert.equal(event(results[1]!)['url.path'], '/a');
    assert.equal(reason(results[2]!), 'has 7 fields where the #Fields: directive names 6');
  });

  test('a log without a date field takes the date of its #Date: directive', () => {
    const results = readAll('iis', [
      '#Date: 2026-11-02 00:00:00',
      '#Fields: time c-ip cs-method cs-uri-stem sc-status',
      '23:59:59 198.51.100.7 GET /a 200',
    ]);
    assert.equal(event(results[2]!).time, Date.UTC(2026, 10, 2, 23, 59, 59));
  });

  test('each parser has its own columns: one stream does not change another', () => {
    const a = createLineParser('iis');
    const b = createLineParser('iis');
    a('#Fields: date time c-ip cs-method cs-uri-stem sc-status');
    assert.match(reason(b('2026-11-02 10:00:01 198.51.100.7 GET /a 200')), /no #Fields: directive/);
    assert.equal(event(a('2026-11-02 10:00:01 198.51.100.7 GET /a 200'))['url.path'], '/a');
  });
});
