import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/harness.js';

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

    const alerts = await refusal('/api/v1/alerts?severity=critical');
    assert.equal(alerts.status, 400);
    assert.match(alerts.message, /unknown query parameter "severity"; this route takes status, rule, limit, cursor/);

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
