import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../testing/harness.js';

const now = () => new Date().toISOString();
const valid = (user: string) => ({ time: now(), type: 'authn_login_success', 'user.id': user });

async function storedUsers(server: TestServer): Promise<string[]> {
  const res = await server.get('/api/v1/events?type=authn_login_success&limit=1000');
  const body = (await res.json()) as { events: { 'user.id': string }[] };
  return body.events.map((e) => e['user.id']);
}

describe('POST /v1/events', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ ingest: { maxBodyBytes: 64 * 1024 } });
  });
  after(() => server.stop());

  test('accepts a JSON array, flat and nested fields alike, and stores them', async () => {
    const res = await server.post(
      '/v1/events',
      JSON.stringify([valid('flat-1'), { time: now(), type: 'authn_login_success', user: { id: 'nested-1' } }]),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: 2, duplicates: 0, rejected: [] });
    const users = await storedUsers(server);
    assert.ok(users.includes('flat-1') && users.includes('nested-1'));
  });

  test('accepts NDJSON and rejects a malformed line by index, keeping the others', async () => {
    const body = `${JSON.stringify(valid('nd-1'))}\n{"time": oops\n${JSON.stringify(valid('nd-2'))}\n`;
    const res = await server.post('/v1/events', body, { 'content-type': 'application/x-ndjson' });
    assert.equal(res.status, 200);
    const result = (await res.json()) as {
      accepted: number;
      rejected: { index: number; issues: { code: string }[] }[];
    };
    assert.equal(result.accepted, 2);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.index, 1);
    assert.equal(result.rejected[0]!.issues[0]!.code, 'malformed_json');
    const users = await storedUsers(server);
    assert.ok(users.includes('nd-1') && users.includes('nd-2'));
  });

  test('malformed JSON is a 400 that says what is wrong', async () => {
    const res = await server.post('/v1/events', '{"time": nope');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'malformed_json');
    assert.match(body.error.message, /malformed JSON/);
  });

  test('the answer to malformed JSON never repeats the text around the error, which may be the secret', async () => {
    // A hand-built document that quotes its values as Python prints them: the JSON breaks right at the secret.
    const secret = "'Hunter2x'";
    const event = `{"time": "${now()}", "type": "authn_login_fail", "password": ${secret}}`;
    const whole = await server.post('/v1/events', `[${event}]`);
    assert.equal(whole.status, 400);
    const line = await server.post('/v1/events', `${JSON.stringify(valid('nd-3'))}\n${event}\n`, {
      'content-type': 'application/x-ndjson',
    });
    assert.equal(line.status, 200);
    const otlp = await server.post('/v1/logs', `{"resourceLogs": [{"password": ${secret}}]}`);
    assert.equal(otlp.status, 400);
    for (const answer of [await whole.text(), await line.text(), await otlp.text()]) {
      assert.match(answer, /malformed/);
      assert.ok(!answer.includes('Hunter2'), answer);
    }
    // A message that quotes nothing is answered as it is.
    const cut = (await (await server.post('/v1/events', '[{"time": "x')).json()) as { error: { message: string } };
    assert.match(cut.error.message, /Unterminated string in JSON at position 12/);
  });

  test('a missing token is a 401, a wrong token a 401, an API token a 403; nothing is stored', async () => {
    const payload = JSON.stringify([valid('auth-should-not-store')]);
    const missing = await fetch(`${server.url}/v1/events`, { method: 'POST', body: payload });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer');
    assert.match(((await missing.json()) as { error: { message: string } }).error.message, /missing bearer token/);
    const wrong = await server.post('/v1/events', payload, { authorization: 'Bearer not-a-real-token-at-all' });
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: { message: string } }).error.message, /unknown token/);
    const api = await server.post('/v1/events', payload, { authorization: `Bearer ${server.apiToken}` });
    assert.equal(api.status, 403);
    assert.match(((await api.json()) as { error: { message: string } }).error.message, /ingest token/);
    assert.ok(!(await storedUsers(server)).includes('auth-should-not-store'));
    assert.ok(server.metrics.authFailures.get({ reason: 'unauthorized' }) >= 2);
    assert.ok(server.metrics.authFailures.get({ reason: 'forbidden' }) >= 1);
  });

  test('an ingest token cannot read', async () => {
    const res = await server.get('/api/v1/events', server.ingestToken);
    assert.equal(res.status, 403);
    assert.equal((await server.get('/api/v1/alerts', server.ingestToken)).status, 403);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('an oversized body is a 413 naming the limit, also when it only inflates past it', async () => {
    const big = JSON.stringify(Array.from({ length: 2000 }, (_, i) => valid(`big-${i}`)));
    assert.ok(big.length > 64 * 1024);
    const res = await server.post('/v1/events', big);
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /ingest\.maxBodyBytes/);
    const zipped = await server.post('/v1/events', gzipSync(big), { 'content-encoding': 'gzip' });
    assert.equal(zipped.status, 413);
    assert.match(((await zipped.json()) as { error: { message: string } }).error.message, /after decompression/);
    assert.ok(server.metrics.ingestRequestsRejected.get({ reason: 'body_too_large' }) >= 2);
  });

  test('deflate bodies are accepted; another encoding is a 415 that names the ones there are', async () => {
    const ok = await server.post('/v1/events', deflateSync(JSON.stringify([valid('deflate-1')])), {
      'content-encoding': 'deflate',
    });
    assert.equal(ok.status, 200);
    const refused = await server.post('/v1/events', JSON.stringify([valid('br-1')]), { 'content-encoding': 'br' });
    assert.equal(refused.status, 415);
    const { error } = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'unsupported_encoding');
    assert.match(error.message, /use gzip, deflate or none/);
  });

  test('gzip bodies are accepted; broken gzip is a 400', async () => {
    const ok = await server.post('/v1/events', gzipSync(JSON.stringify([valid('gz-1')])), {
      'content-encoding': 'gzip',
    });
    assert.equal(ok.status, 200);
    const bad = await server.post('/v1/events', 'not gzip at all', { 'content-encoding': 'gzip' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'bad_encoding');
    // Found broken before the rest of the body arrived: the same 400, not a 500.
    const { port } = new URL(server.url);
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/events',
      headers: { authorization: `Bearer ${server.ingestToken}`, 'content-encoding': 'gzip' },
    });
    req.write(Buffer.alloc(64 * 1024, 'x'));
    const [early] = (await once(req, 'response')) as [IncomingMessage];
    req.destroy();
    assert.equal(early.statusCode, 400);
  });

  test('unknown type, missing required field and wrong field type are rejected by index; valid ones kept', async () => {
    const batch = [
      valid('mixed-ok-1'),
      { time: now(), type: 'authn_teleport', 'user.id': 'x' },
      { time: now(), type: 'authn_login_success' },
      { time: now(), type: 'authn_login_success', 'user.id': 'y', 'http.response.status_code': '401' },
      { type: 'authn_login_success', 'user.id': 'z' },
      valid('mixed-ok-2'),
    ];
    const res = await server.post('/v1/events', JSON.stringify(batch));
    assert.equal(res.status, 200);
    const result = (await res.json()) as {
      accepted: number;
      rejected: { index: number; issues: { field: string; code: string; message: string }[] }[];
    };
    assert.equal(result.accepted, 2);
    const byIndex = new Map(result.rejected.map((r) => [r.index, r.issues[0]!]));
    assert.deepEqual([...byIndex.keys()], [1, 2, 3, 4]);
    assert.equal(byIndex.get(1)!.code, 'unknown_type');
    assert.match(byIndex.get(1)!.message, /authn_teleport/);
    assert.deepEqual([byIndex.get(2)!.field, byIndex.get(2)!.code], ['user.id', 'missing']);
    assert.deepEqual([byIndex.get(3)!.field, byIndex.get(3)!.code], ['http.response.status_code', 'wrong_type']);
    assert.match(byIndex.get(3)!.message, /integer/);
    assert.deepEqual([byIndex.get(4)!.field, byIndex.get(4)!.code], ['time', 'missing']);
    const users = await storedUsers(server);
    assert.ok(users.includes('mixed-ok-1') && users.includes('mixed-ok-2'));
    assert.ok(server.metrics.eventsRejected.get({ source: 'http', reason: 'unknown_type' }) >= 1);
    assert.ok(server.metrics.eventsRejected.get({ source: 'http', reason: 'missing' }) >= 2);
    assert.ok(server.metrics.eventsRejected.get({ source: 'http', reason: 'wrong_type' }) >= 1);
  });

  test('a batch where every event is invalid is a 422 that still lists each reason', async () => {
    const res = await server.post('/v1/events', JSON.stringify([{ time: now(), type: 'nope' }]));
    assert.equal(res.status, 422);
    const body = (await res.json()) as { error: { code: string }; rejected: unknown[] };
    assert.equal(body.error.code, 'all_events_invalid');
    assert.equal(body.rejected.length, 1);
  });

  test('an unsupported content type is a 415; an empty body a 400', async () => {
    const res = await server.post('/v1/events', 'a,b', { 'content-type': 'text/csv' });
    assert.equal(res.status, 415);
    const empty = await server.post('/v1/events', '');
    assert.equal(empty.status, 400);
  });

  test('resending an event with the same id stores it once', async () => {
    const event = { ...valid('dup-1'), id: 'client-chosen-id-1' };
    const first = (await (await server.post('/v1/events', JSON.stringify([event]))).json()) as { accepted: number };
    const second = (await (await server.post('/v1/events', JSON.stringify([event]))).json()) as {
      accepted: number;
      duplicates: number;
    };
    assert.equal(first.accepted, 1);
    assert.deepEqual([second.accepted, second.duplicates], [0, 1]);
  });

  test('/metrics exposes the counters in Prometheus text format', async () => {
    const res = await server.get('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /# TYPE vigil_events_accepted_total counter/);
    assert.match(text, /vigil_events_accepted_total\{source="http"\} \d+/);
    assert.match(text, /vigil_events_rejected_total\{reason="unknown_type",source="http"\} \d+/);
    assert.match(text, /vigil_ingest_requests_rejected_total\{reason="body_too_large"\} \d+/);
    assert.match(text, /vigil_engine_tracked_keys\{rule="vigil-authn-brute-force"\} \d+/);
    // The orderer's counts: events detected out of order, or released early, are visible.
    assert.match(text, /^vigil_ordering_late_events_total \d+$/m);
    assert.match(text, /^vigil_ordering_forced_releases_total 0$/m);
    assert.match(text, /^vigil_ordering_buffered_events \d+$/m);
  });

  test('a path written with empty segments (//v1/events, //api/...) is counted as what it is routed to', async () => {
    const refused = server.metrics.ingestRequestsRejected.get({ reason: 'unauthorized' });
    const api = server.metrics.apiRequests.get({ status: '200' });
    const anonymous = await fetch(`${server.url}//v1/events`, { method: 'POST', body: '[]' });
    assert.equal(anonymous.status, 401);
    assert.equal((await server.get('//api/v1/events')).status, 200);
    assert.equal(server.metrics.ingestRequestsRejected.get({ reason: 'unauthorized' }), refused + 1);
    assert.equal(server.metrics.apiRequests.get({ status: '200' }), api + 1);
  });

  test('unknown routes are 404, wrong methods 405 naming the methods there are; HEAD is GET without the body', async () => {
    assert.equal((await server.get('/nowhere')).status, 404);
    const wrong = await server.get('/v1/events', server.ingestToken);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  test('a request target that is no path is a 400, and the server goes on', async () => {
    for (const target of ['http://a:99999/', 'http://[/']) {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      let answer = '';
      for await (const chunk of socket) answer += chunk;
      assert.match(answer, /^HTTP\/1\.1 400/, target);
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('metrics name routes by their pattern, never the path a client sent', async () => {
    await server.get('/v1/secret-token-in-the-path-0123456789');
    const text = await (await server.get('/metrics')).text();
    assert.ok(!text.includes('secret-token-in-the-path'));
    assert.match(text, /vigil_ingest_requests_total\{route="unmatched",status="404"\} \d+/);
    assert.match(text, /vigil_ingest_requests_total\{route="\/v1\/events",status="200"\} \d+/);
  });

  test('an event nested too deeply is rejected alone; the others of its batch are stored', async () => {
    // Written as text: building it as an object would overflow this test's own stack first.
    const deep = `${'{"a":'.repeat(5000)}{"leaf":1}${'}'.repeat(5000)}`;
    const body = [
      JSON.stringify(valid('deep-before')),
      `{"time":"${now()}","type":"authn_login_success","user.id":"deep","x":${deep}}`,
      JSON.stringify(valid('deep-after')),
    ].join('\n');
    const res = await server.post('/v1/events', body, { 'content-type': 'application/x-ndjson' });
    assert.equal(res.status, 200);
    const result = (await res.json()) as { accepted: number; rejected: { index: number }[] };
    assert.equal(result.accepted, 2);
    assert.deepEqual(
      result.rejected.map((r) => r.index),
      [1],
    );
  });

  test('a compressed body sent without its length is bounded as sent, not only once inflated', async () => {
    // Little to inflate, much to send: one event, then 200 KiB of bytes after the compressed data.
    const body = Buffer.concat([gzipSync(JSON.stringify([valid('padded')])), Buffer.alloc(200 * 1024)]);
    const res = await fetch(`${server.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${server.ingestToken}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
  });

  test('uploads abandoned mid-body give their ingest slot back (gzip included)', async () => {
    const port = Number(new URL(server.url).port);
    const abandoned = Array.from({ length: 70 }, async () => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.ingestToken}\r\n` +
          'Content-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '14\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03abcdefghij\r\n',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
    });
    await Promise.all(abandoned);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const res = await server.post('/v1/events', JSON.stringify([valid('after-abandoned')]));
    assert.equal(res.status, 200, 'not 503 overloaded: the 64 slots came back');
    const text = await (await server.get('/metrics')).text();
    assert.match(text, /vigil_ingest_requests_rejected_total\{reason="client_closed"\} \d+/);
    assert.doesNotMatch(text, /vigil_ingest_requests_rejected_total\{reason="internal"\}/);
  });

  test('a refused body is not drained: the answer closes the connection, so a trickled upload cannot hold it', async () => {
    const port = Number(new URL(server.url).port);
    /** Send the head of a request and a little of its body; the answer's head, and whether the server closed. */
    const refusedUpload = async (token: string) => {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n[{"a":1},',
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      return { socket, head: () => text.split('\r\n\r\n')[0] ?? '' };
    };
    const wrong = await refusedUpload('not-a-real-token-at-all');
    await once(wrong.socket, 'data');
    assert.match(wrong.head(), /^HTTP\/1\.1 401/);
    assert.match(wrong.head(), /\r\nconnection: close/i);
    await once(wrong.socket, 'end'); // closed by the server, with most of its body still unsent
    wrong.socket.destroy();

    // Refused because every ingest slot is taken by an upload still under way: closed too.
    const held: Awaited<ReturnType<typeof refusedUpload>>[] = [];
    let refused: Awaited<ReturnType<typeof refusedUpload>> | undefined;
    while (refused === undefined && held.length < 80) {
      const upload = await refusedUpload(server.ingestToken);
      const answered = await Promise.race([
        once(upload.socket, 'data').then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
      ]);
      if (answered) refused = upload;
      else held.push(upload);
    }
    assert.ok(refused, 'an upload beyond the ingest slots is answered at once');
    assert.match(refused.head(), /^HTTP\/1\.1 503/);
    assert.match(refused.head(), /\r\nconnection: close/i);
    await once(refused.socket, 'end');
    for (const upload of [refused, ...held]) upload.socket.destroy();

    // A request without a body, refused, keeps its connection for the next one.
    const { statusCode, headers } = await new Promise<IncomingMessage>((resolve, reject) =>
      request(
        { host: '127.0.0.1', port, path: '/metrics', headers: { authorization: 'Bearer wrong-token-x' } },
        resolve,
      )
        .on('error', reject)
        .end(),
    );
    assert.equal(statusCode, 401);
    assert.notEqual(headers.connection, 'close');
  });

  test('a connection that never finishes its headers is closed soon after the 10 s it is given', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    await once(socket, 'connect');
    const opened = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); // and nothing more
    socket.resume();
    // Node checks its timeouts every `connectionsCheckingInterval` (30 s unless set): the close came 30-40 s late.
    const closed = await Promise.race([
      once(socket, 'close').then(() => Date.now() - opened),
      new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 20_000).unref()),
    ]);
    socket.destroy();
    assert.notEqual(closed, 'open', 'still open after 20 s');
  });

  test('a time range that ends before it starts is a 400, not an empty page', async () => {
    const res = await server.get('/api/v1/events?from=2026-11-02T10:00:00Z&to=2026-11-01T10:00:00Z');
    assert.equal(res.status, 400);
    assert.match(await res.text(), /from .* after to/);
    assert.equal((await server.get('/api/v1/events?from=2026-11-01T10:00:00Z&to=2026-11-01T10:00:00Z')).status, 200);
  });

  test('forged cursors are a 400 naming the parameter', async () => {
    for (const text of ['[1,true]', '[1,{}]', '["a","b"]', '[]', '[1e400,"x"]']) {
      const cursor = Buffer.from(text).toString('base64url');
      const res = await server.get(`/api/v1/events?cursor=${cursor}`);
      assert.equal(res.status, 400, text);
      assert.doesNotMatch(await res.text(), /SQLite|parameter values/i);
    }
  });
});

test('a store that cannot take the events is a 503 that says nothing was stored, counted and logged', async () => {
  const errors: string[] = [];
  const log = {
    debug() {},
    info() {},
    warn() {},
    error(message: string, fields?: Record<string, unknown>) {
      errors.push(`${message} ${JSON.stringify(fields)}`);
    },
  };
  const server = await startTestServer({}, { log });
  try {
    await server.store.close(); // the writer thread is gone: every append fails
    const res = await server.post('/v1/events', JSON.stringify([valid('lost')]));
    assert.equal(res.status, 503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'storage_unavailable');
    assert.match(body.error.message, /nothing was acknowledged.*retry/);
    assert.equal(server.metrics.ingestRequestsRejected.get({ reason: 'storage_unavailable' }), 1);
    assert.ok(errors.some((e) => e.startsWith('storing events failed') && /closed/.test(e)));
  } finally {
    await server.stop();
  }
});
