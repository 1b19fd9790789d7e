import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  eventually,
  failedLogins,
  type Receiver,
  startReceiver,
  startTestServer,
  type TestServer,
} from '../testing/harness.js';

describe('acknowledging and resolving alerts by hand', () => {
  let server: TestServer;
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
    server = await startTestServer({
      notify: { receivers: [{ type: 'webhook', name: 'r', url: receiver.url, allowPrivateNetwork: true }] },
    });
  });
  after(async () => {
    await server.stop();
    await receiver.close();
  });

  const act = (id: string, action: string, body: unknown) =>
    fetch(`${server.url}/api/v1/alerts/${id}/${action}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('acknowledge, then resolve: recorded with who and when, notified, and a new incident opens a new alert', async () => {
    await server.post('/v1/events', failedLogins(5, '203.0.113.90'), { 'content-type': 'application/x-ndjson' });
    const alert = await eventually(async () => {
      const list = (await (await server.get('/api/v1/alerts?rule=vigil-authn-brute-force')).json()) as {
        alerts: { id: string }[];
      };
      assert.equal(list.alerts.length, 1);
      return list.alerts[0]!;
    });

    assert.equal((await act(alert.id, 'acknowledge', {})).status, 400, 'an actor is required');
    const acked = await act(alert.id, 'acknowledge', { actor: 'alice', comment: 'looking into it' });
    assert.equal(acked.status, 200);
    assert.equal(((await acked.json()) as { status: string }).status, 'acknowledged');

    // New evidence lands on the acknowledged alert.
    await server.post('/v1/events', failedLogins(1, '203.0.113.90', 'more-'), {
      'content-type': 'application/x-ndjson',
    });
    await eventually(async () => {
      const a = (await (await server.get(`/api/v1/alerts/${alert.id}`)).json()) as {
        status: string;
        eventCount: number;
      };
      assert.deepEqual([a.status, a.eventCount], ['acknowledged', 6]);
    });

    const resolved = await act(alert.id, 'resolve', { actor: 'bob' });
    assert.equal(((await resolved.json()) as { status: string }).status, 'resolved');
    assert.equal((await act(alert.id, 'resolve', { actor: 'bob' })).status, 409);
    assert.equal((await act('no-such-alert', 'acknowledge', { actor: 'x' })).status, 404, 'as GET answers');

    const history = (await (await server.get(`/api/v1/alerts/${alert.id}/history`)).json()) as {
      actions: { action: string; actor: string; comment?: string; at: string; tokenId: string }[];
    };
    assert.deepEqual(
      history.actions.map((a) => [a.action, a.actor, a.comment]),
      [
        ['acknowledge', 'alice', 'looking into it'],
        ['resolve', 'bob', undefined],
      ],
    );
    assert.match(history.actions[0]!.tokenId, /^[0-9a-f]{12}$/);
    assert.ok(!JSON.stringify(history).includes(server.apiToken), 'the token itself is never recorded');

    const changes = (await receiver.waitFor(3)).map((r) => JSON.parse(r.body).change);
    assert.deepEqual(changes, ['opened', 'acknowledged', 'resolved']);

    await server.post('/v1/events', failedLogins(5, '203.0.113.90', 'again-'), {
      'content-type': 'application/x-ndjson',
    });
    await eventually(async () => {
      const list = (await (await server.get('/api/v1/alerts?rule=vigil-authn-brute-force')).json()) as {
        alerts: { id: string; status: string }[];
      };
      assert.equal(list.alerts.length, 2);
      assert.ok(list.alerts.some((a) => a.id !== alert.id && a.status === 'firing'));
    });
  });

  test('an ingest token cannot act on alerts', async () => {
    const res = await fetch(`${server.url}/api/v1/alerts/x/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ingestToken}` },
      body: '{"actor":"mallory"}',
    });
    assert.equal(res.status, 403);
  });
});
