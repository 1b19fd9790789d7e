import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
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

  test('gzip bodies are accepted; broken gzip is a 400', async () => {
    const ok = await server.post('/v1/events', gzipSync(JSON.stringify([valid('gz-1')])), {
      'content-encoding': 'gzip',
    });
    assert.equal(ok.status, 200);
    const bad = await server.post('/v1/events', 'not gzip at all', { 'content-encoding': 'gzip' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'bad_encoding');
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
  });

  test('unknown routes are 404, wrong methods 405', async () => {
    assert.equal((await server.get('/nowhere')).status, 404);
    assert.equal((await server.get('/v1/events', server.ingestToken)).status, 405);
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
