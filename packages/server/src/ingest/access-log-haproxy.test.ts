import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { assertValid, event, reason } from '../testing/line-results.js';
import { createLineParser, parseLine } from './access-log.js';
import { ingestCommand } from './ingest-command.js';

interface Entry {
  client?: string;
  date?: string;
  frontend?: string;
  backend?: string;
  timers?: string;
  status?: string;
  bytes?: string;
  termination?: string;
  /** The `{...}` blocks of captured headers, when captures are configured. */
  captures?: string;
  request?: string;
  /** What `option httpslog` appends after the request. */
  rest?: string;
}

/** HAProxy's text of one request (`option httplog`), with defaults for what a test does not care about. */
function httplog(e: Entry = {}): string {
  return [
    e.client ?? '198.51.100.7:41322',
    `[${e.date ?? '06/Feb/2026:12:14:14.655'}]`,
    e.frontend ?? 'api~',
    e.backend ?? 'orders/srv1',
    e.timers ?? '10/0/30/69/109',
    e.status ?? '200',
    e.bytes ?? '2750',
    '- -',
    e.termination ?? '----',
    '1/1/1/1/0 0/0',
    ...(e.captures === undefined ? [] : [e.captures]),
    e.request ?? '"GET /v1/orders/42?expand=items HTTP/1.1"',
    ...(e.rest === undefined ? [] : [e.rest]),
  ].join(' ');
}

const ACCEPTED = Date.UTC(2026, 1, 6, 12, 14, 14, 655);

describe('haproxy format (option httplog)', () => {
  test('a line through syslog (RFC 3164 header): every field read', () => {
    const e = event(parseLine('haproxy', `Feb  6 12:14:15 lb1 haproxy[14389]: ${httplog()}`));
    assert.deepEqual(e, {
      time: ACCEPTED,
      type: 'http_request',
      'http.request.method': 'GET',
      'network.protocol.version': '1.1',
      'url.path': '/v1/orders/42',
      'url.query': 'expand=items',
      'url.scheme': 'https',
      'http.response.status_code': 200,
      'http.response.body.size': 2750,
      'client.address': '198.51.100.7',
      'client.port': 41322,
      'http.server.request.duration': 0.109,
      'vigil.source.name': 'haproxy',
    });
    assertValid(e);
  });

  test('the same request without a header (stdout), or behind RFC 5424, <PRI>, ISO-time or host-less headers', () => {
    const bare = event(parseLine('haproxy', httplog()));
    for (const prefix of [
      '<134>1 2026-02-06T12:14:15.002+01:00 lb1 haproxy 14389 - - ',
      '<134>1 2026-02-06T12:14:15.002Z lb1 haproxy 14389 - [meta sequenceId="7" note="a \\] b"] \uFEFF',
      '<134>',
      '<134>Feb  6 12:14:15 haproxy[14389]: ',
      '2026-02-06T12:14:15.002345+01:00 lb1 haproxy[14389]: ',
      '2026-02-06T12:14:15+0100 lb1 haproxy[14389]: ',
      'Feb 16 12:14:15 lb1.example.com haproxy[1]: ',
    ]) {
      assert.deepEqual(event(parseLine('haproxy', prefix + httplog())), bare, prefix);
    }
    assert.equal(bare.time, ACCEPTED, "the accept date, never the syslog header's time");
  });

  test('an IPv6 client (logged without brackets), a plain-HTTP frontend, HAProxy 1.x timers (Tq/Tw/Tc/Tr/Tt)', () => {
    const e = event(
      parseLine('haproxy', httplog({ client: '2001:db8::7:50412', frontend: 'www', timers: '0/0/1/4/5' })),
    );
    assert.equal(e['client.address'], '2001:db8::7');
    assert.equal(e['client.port'], 50412);
    assert.equal(e['url.scheme'], undefined, 'no ~: not known to be https (TLS may end before HAProxy)');
    assert.equal(e['http.server.request.duration'], 0.005);
    const mapped = event(parseLine('haproxy', httplog({ client: '::ffff:192.0.2.9:443' })));
    assert.equal(mapped['client.address'], '::ffff:192.0.2.9');
  });

  test('captured request and response headers, with spaces, | and braces in them, are skipped', () => {
    const captures = '{api.example.com|Mozilla/5.0 (X11; Linux x86_64) {beta}|203.0.113.9, 10.0.0.1} {nginx|}';
    const e = event(parseLine('haproxy', httplog({ captures, request: '"POST /login HTTP/1.1"' })));
    assert.equal(e['http.request.method'], 'POST');
    assert.equal(e['url.path'], '/login');
    assert.equal(e['user_agent.original'], undefined, 'the log does not say which capture is which header');
    assert.equal(event(parseLine('haproxy', httplog({ captures: '{}' })))['url.path'], '/v1/orders/42');
  });

  test('option httpslog: the TLS fields after the request are read past', () => {
    const rest = '0/0/0/0/0 api.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384';
    assert.deepEqual(event(parseLine('haproxy', httplog({ rest }))), event(parseLine('haproxy', httplog())));
  });

  test('HTTP/2: the absolute URL HAProxy logs gives the path, the host and the scheme', () => {
    const e = event(
      parseLine('haproxy', httplog({ request: '"GET https://api.example.com/v1/orders?page=2 HTTP/2.0"' })),
    );
    assert.equal(e['network.protocol.version'], '2');
    assert.equal(e['url.path'], '/v1/orders');
    assert.equal(e['url.query'], 'page=2');
    assert.equal(e['server.address'], 'api.example.com');
    assert.equal(e['url.full'], 'https://api.example.com/v1/orders?page=2');
  });

  test('<BADREQ>: a malformed-request event with HAProxy’s answer and the termination state', () => {
    const e = event(
      parseLine(
        'haproxy',
        httplog({
          backend: 'api/<NOSRV>',
          timers: '-1/-1/-1/-1/0',
          status: '400',
          bytes: '187',
          termination: 'PR--',
          request: '"<BADREQ>"',
        }),
      ),
    );
    assert.equal(e['http.request.method'], '-');
    assert.equal(e['url.path'], '-');
    assert.equal(e['vigil.request.malformed'], true);
    assert.equal(e['vigil.request.line'], undefined, "HAProxy's placeholder, not the client's bytes");
    assert.equal(e['http.response.status_code'], 400);
    assert.equal(e['vigil.proxy.termination_state'], 'PR--');
    assert.equal(e['http.server.request.duration'], 0);
    assertValid(e);
  });

  test('an aborted request: -1 timers and status give no duration and no status; the termination state says why', () => {
    const e = event(
      parseLine('haproxy', httplog({ timers: '-1/-1/-1/-1/30001', status: '-1', bytes: '0', termination: 'cR--' })),
    );
    assert.equal(e['http.response.status_code'], undefined);
    assert.equal(e['http.response.body.size'], 0);
    assert.equal(e['http.server.request.duration'], 30.001, 'Ta is known even when the request never came whole');
    assert.equal(e['vigil.proxy.termination_state'], 'cR--');
    const noTa = event(parseLine('haproxy', httplog({ timers: '5/0/0/-1/-1', status: '-1', termination: 'CD--' })));
    assert.equal(noTa['http.server.request.duration'], undefined);
    assertValid(noTa);
  });

  test('option logasap: Ta and the byte count marked + are read, but Ta is no duration of the whole request', () => {
    const e = event(parseLine('haproxy', httplog({ timers: '9/0/7/14/+30', bytes: '+243' })));
    assert.equal(e['http.response.body.size'], 243);
    assert.equal(e['http.server.request.duration'], undefined);
  });

  test('a normal end (----, or only persistence-cookie flags such as --NI) sets no termination state', () => {
    assert.equal(event(parseLine('haproxy', httplog()))['vigil.proxy.termination_state'], undefined);
    assert.equal(
      event(parseLine('haproxy', httplog({ termination: '--NI' })))['vigil.proxy.termination_state'],
      undefined,
    );
    assert.equal(
      event(parseLine('haproxy', httplog({ termination: 'sH--', status: '504' })))['vigil.proxy.termination_state'],
      'sH--',
    );
  });

  test("HAProxy's #XX escapes in the request line are decoded, runs of them as UTF-8", () => {
    const e = event(parseLine('haproxy', httplog({ request: '"GET /search/caf#C3#A9?q=#22x#22 HTTP/1.1"' })));
    assert.equal(e['url.path'], '/search/café');
    assert.equal(e['url.query'], 'q="x"');
  });

  test('a request line cut by the log length (no closing quote) keeps what is there, marked truncated', () => {
    const long = `/v1/search?q=${'a'.repeat(900)}`;
    const e = event(parseLine('haproxy', httplog({ request: `"GET ${long}` })));
    assert.equal(e['url.path'], '/v1/search');
    assert.equal(e['url.query'], `q=${'a'.repeat(900)}`);
    assert.equal(e['network.protocol.version'], undefined);
    assert.equal(e['vigil.truncated'], true);
    assertValid(e);
  });

  test('status: 0 is no status, a value that is no status refuses the line', () => {
    assert.equal(event(parseLine('haproxy', httplog({ status: '0' })))['http.response.status_code'], undefined);
    assert.match(reason(parseLine('haproxy', httplog({ status: '2000' }))), /^status 2000 is not an HTTP status code/);
  });

  test('the accept date is read as UTC unless a time zone is given: an offset, or an IANA zone with its DST', () => {
    const line = (date: string) => httplog({ date });
    assert.equal(event(parseLine('haproxy', line('06/Feb/2026:12:14:14.655'))).time, ACCEPTED);
    const offset = createLineParser('haproxy', { timeZone: '-05:00' });
    assert.equal(event(offset(line('06/Feb/2026:12:14:14.655'))).time, ACCEPTED + 5 * 3_600_000);
    const paris = createLineParser('haproxy', { timeZone: 'Europe/Paris' });
    assert.equal(event(paris(line('06/Feb/2026:12:14:14.655'))).time, Date.UTC(2026, 1, 6, 11, 14, 14, 655));
    assert.equal(event(paris(line('06/Jul/2026:12:14:14.655'))).time, Date.UTC(2026, 6, 6, 10, 14, 14, 655));
    // Clocks go back at 03:00 on 25 October 2026: 02:30 happens twice, and is read as its first occurrence.
    assert.equal(event(paris(line('25/Oct/2026:02:30:00.000'))).time, Date.UTC(2026, 9, 25, 0, 30));
    assert.equal(event(paris(line('25/Oct/2026:03:30:00.000'))).time, Date.UTC(2026, 9, 25, 2, 30));
    // Clocks go forward at 02:00 on 29 March 2026: 01:59 is still winter time, 03:00 summer time.
    assert.equal(event(paris(line('29/Mar/2026:01:59:00.000'))).time, Date.UTC(2026, 2, 29, 0, 59));
    assert.equal(event(paris(line('29/Mar/2026:03:00:00.000'))).time, Date.UTC(2026, 2, 29, 1, 0));
    // 02:30 that day is shown by no clock; it is read with the offset from before the change.
    assert.equal(event(paris(line('29/Mar/2026:02:30:00.000'))).time, Date.UTC(2026, 2, 29, 1, 30));
    const india = createLineParser('haproxy', { timeZone: 'Asia/Kolkata' });
    assert.equal(event(india(line('06/Feb/2026:12:14:14.655'))).time, ACCEPTED - 5.5 * 3_600_000);
  });

  test('a time zone that is none, or one given to another format, is a configuration error', () => {
    for (const timeZone of ['Mars/Olympus', 'CET+1', '+25:00', '+01', '', 'utc ']) {
      assert.throws(() => createLineParser('haproxy', { timeZone }), ConfigError, timeZone);
    }
    assert.throws(() => createLineParser('combined', { timeZone: 'UTC' }), /applies to the haproxy format only/);
    for (const timeZone of ['UTC', 'Z', '+0530', '-00:00', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) {
      assert.doesNotThrow(() => createLineParser('haproxy', { timeZone }), timeZone);
    }
  });

  test('lines that are no HAProxy HTTP log say why, without quoting the line', () => {
    const cases: [string, RegExp][] = [
      ['', /^empty line$/],
      [
        '203.0.113.7 - - [06/Feb/2026:12:14:14 +0000] "GET /secret-token HTTP/1.1" 200 1',
        /no CLIENT:PORT \[accept date\]/,
      ],
      // option tcplog, or a proxy in tcp mode: three timers, a two-letter state, no request.
      [
        'Feb  6 12:14:15 lb1 haproxy[14389]: 198.51.100.7:41322 [06/Feb/2026:12:14:14.655] db db/pg1 0/0/5007 212 -- 1/1/1/1/0 0/0',
        /^a TCP log line \(option tcplog/,
      ],
      ['198.51.100.7:41322 [06/Feb/2026:12:14:14.655] api~/1: SSL handshake failure', /not a request log/],
      [httplog({ timers: '10/0/30/69' }), /the timers must be five numbers/],
      [httplog({ timers: '10/0/x/69/109' }), /the timers must be five numbers/],
      [httplog({ status: 'OK' }), /followed by a status \(or -1\) and a byte count/],
      [httplog({ request: '' }).replace(/ $/, ''), /no quoted request line/],
      [`anything at all ${httplog()}`, /the text before the client address is not a syslog header/],
      [httplog({ termination: 'PR' }), /does not match HAProxy's HTTP log format/],
      [httplog({ date: '31/Feb/2026:12:14:14.655' }), /^accept date \[31\/Feb\/2026:12:14:14\.655\] is not a possible/],
      [httplog({ date: '06/Feb/2026:12:14:14' }), /no CLIENT:PORT \[accept date\] with milliseconds/],
    ];
    for (const [line, expected] of cases) {
      const why = reason(parseLine('haproxy', line));
      assert.match(why, expected, line);
      assert.doesNotMatch(why, /secret-token|v1\/orders/, 'the reason never quotes the line');
    }
  });

  test('vigil ingest --time-zone: with another format, or a zone that is none, is bad usage (exit 2)', async () => {
    const messages: string[] = [];
    const stderr = { write: (text: string) => messages.push(text) };
    const env = { VIGIL_INGEST_TOKEN: 'unused' };
    assert.equal(await ingestCommand(['-', '--format', 'combined', '--time-zone', 'UTC'], { env, stderr }), 2);
    assert.match(messages.join(''), /^vigil ingest: --time-zone applies to --format haproxy only/);
    messages.length = 0;
    assert.equal(await ingestCommand(['-', '--format', 'haproxy', '--time-zone', 'Paris'], { env, stderr }), 2);
    assert.match(messages.join(''), /^vigil ingest: --time-zone "Paris" is not a time zone: give UTC, an offset/);
  });
});
