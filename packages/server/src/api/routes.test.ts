import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULTS } from '../defaults.js';
import { eventually, failedLogins, startTestServer, type TestServer } from '../testing/harness.js';

describe('query parameters of the list routes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ response: { enabled: true } });
    const time = new Date().toISOString();
    const events = [
      { time, type: 'authn_login_fail', 'client.address': '203.0.113.7', 'user.id': 'alice' },
      { time, type: 'authn_login_fail', 'client.address': '203.0.113.8', 'user.id': 'bob' },
    ];
    assert.equal((await server.post('/v1/events', JSON.stringify(events))).status, 200);
  });
  after(() => server.stop());

  async function refusal(path: string): Promise<{ status: number; code: string; message: string }> {
    const res = await server.get(path);
    const body = (await res.json()) as { error?: { code: string; message: string } };
    return { status: res.status, code: body.error?.code ?? '', message: body.error?.message ?? '' };
  }

  test('a misspelt filter is a 400 naming it, not a page of everything', async () => {
    const events = await refusal('/api/v1/events?user=alice');
    assert.equal(events.status, 400);
    assert.equal(events.code, 'invalid_parameter');
    assert.match(events.message, /unknown query parameter "user"; this route takes .*user\.id/);

    const alerts = await refusal('/api/v1/alerts?sev=critical');
    assert.equal(alerts.status, 400);
    assert.match(
      alerts.message,
      /unknown query parameter "sev"; this route takes status, severity, rule, limit, cursor/,
    );

    assert.equal((await refusal('/api/v1/silences?status=active')).status, 400);
    assert.equal((await refusal('/api/v1/decisions?ip=203.0.113.7')).status, 400);
  });

  test('a filter given twice is a 400, not the first value silently', async () => {
    const res = await refusal('/api/v1/events?user.id=alice&user.id=bob');
    assert.equal(res.status, 400);
    assert.match(res.message, /user\.id is given more than once/);
  });

  test('a cursor the server did not issue is a 400 that says it once and what to do', async () => {
    for (const path of ['/api/v1/events', '/api/v1/alerts', '/api/v1/decisions']) {
      const res = await refusal(`${path}?cursor=garbage`);
      assert.equal(res.status, 400, path);
      assert.equal(res.code, 'invalid_parameter');
      assert.equal(res.message, 'cursor: not one this server issued; start again without one', path);
    }
  });

  test('the documented parameters still filter', async () => {
    const res = await server.get('/api/v1/events?user.id=alice&type=authn_login_fail&limit=10');
    assert.equal(res.status, 200);
    const { events } = (await res.json()) as { events: Array<Record<string, unknown>> };
    assert.deepEqual(
      events.map((e) => e['user.id']),
      ['alice'],
    );
    assert.equal((await server.get('/api/v1/alerts?status=firing&limit=5')).status, 200);
    assert.equal((await server.get('/api/v1/silences?state=active')).status, 200);
    assert.equal((await server.get('/api/v1/decisions?active=true&scope=ip&value=203.0.113.7')).status, 200);
  });
});

describe('the size of a page', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test('a page of events as large as ingest allows ends at maxPageChars, and the cursor goes on', async () => {
    // Events as large as ingest takes: 200 fields, each string at ingest.maxStringLength.
    const fat = (n: number) => {
      const event: Record<string, unknown> = {
        time: new Date().toISOString(),
        type: 'authn_login_fail',
        'client.address': '203.0.113.7',
        'user.id': `u${n}`,
      };
      for (let k = 0; k < 196; k++) event[`x.f${k}`] = String(n % 10).repeat(8192);
      return JSON.stringify(event);
    };
    const total = Math.ceil((2 * DEFAULTS.maxPageChars) / (196 * 8192)) + 1;
    for (let sent = 0; sent < total; sent += 3) {
      const lines = [sent, sent + 1, sent + 2].filter((n) => n < total).map(fat);
      const res = await server.post('/v1/events', lines.join('\n'), { 'content-type': 'application/x-ndjson' });
      assert.equal(res.status, 200, await res.text());
    }

    const ids = new Set<string>();
    let pages = 0;
    let cursor: string | undefined;
    do {
      const res = await server.get(`/api/v1/events?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200);
      const text = await res.text();
      // The bound, and the one event that crossed it.
      assert.ok(text.length < DEFAULTS.maxPageChars + 2 * 200 * 8192, `a page of ${text.length} characters`);
      const page = JSON.parse(text) as { events: { id: string }[]; nextCursor?: string };
      assert.ok(page.events.length > 0);
      for (const e of page.events) ids.add(e.id);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(ids.size, total, 'every event is on one of the pages');
    assert.ok(pages >= 2, `${pages} pages`);
  });
});

describe('the alert list filters', () => {
  let server: TestServer;
  let alertId: string;
  before(async () => {
    server = await startTestServer();
    const posted = await server.post('/v1/events', failedLogins(5, '203.0.113.9'), {
      'content-type': 'application/x-ndjson',
    });
    assert.equal(posted.status, 200);
    alertId = await eventually(async () => {
      const { alerts } = (await (await server.get('/api/v1/alerts')).json()) as { alerts: { id: string }[] };
      assert.equal(alerts.length, 1);
      return alerts[0]!.id;
    });
  });
  after(() => server.stop());

  test('alerts filter by open status and by severity', async () => {
    const list = async (query: string) =>
      ((await (await server.get(`/api/v1/alerts?${query}`)).json()) as { alerts: { id: string }[] }).alerts.map(
        (a) => a.id,
      );
    assert.deepEqual(await list('status=open'), [alertId]);
    assert.deepEqual(await list('status=open&severity=high'), [alertId]);
    assert.deepEqual(await list('severity=low'), []);
    assert.equal((await server.get('/api/v1/alerts?severity=urgent')).status, 400);
    const resolved = await fetch(`${server.url}/api/v1/alerts/${alertId}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'bob' }),
    });
    assert.equal(resolved.status, 200);
    assert.deepEqual(await list('status=open'), []);
    assert.deepEqual(await list('status=resolved'), [alertId]);
  });
});
