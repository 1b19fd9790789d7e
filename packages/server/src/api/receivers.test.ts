// The receivers' health check and test notification through the API, against a real server and real receivers on
// loopback.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Receiver, startReceiver, startTestServer, type TestServer } from '../testing/harness.js';

/** A loopback port with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('receivers through the API', () => {
  let server: TestServer;
  let up: Receiver;
  let slackPath: string;
  // Takes connections and never answers.
  const held: Socket[] = [];
  const silent: Server = createServer((socket) => held.push(socket));

  before(async () => {
    up = await startReceiver();
    const down = await closedPort();
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    slackPath = '/services/T0001/B0001/s3cr3tSlackHookToken';
    server = await startTestServer({
      notify: {
        receivers: [
          {
            type: 'webhook',
            name: 'ops',
            url: up.url,
            allowPrivateNetwork: true,
            secret: 'whsec_BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=',
          },
          { type: 'webhook', name: 'gone', url: `http://127.0.0.1:${down}/hook`, allowPrivateNetwork: true },
          { type: 'webhook', name: 'internal', url: up.url },
          { type: 'slack', name: 'chat', url: `${up.url}${slackPath}`, allowPrivateNetwork: true },
          {
            type: 'webhook',
            name: 'silent',
            url: `http://127.0.0.1:${silentPort}/hook`,
            allowPrivateNetwork: true,
            timeoutMillis: 1500,
          },
        ],
      },
    });
  });
  after(async () => {
    await server.stop();
    await up.close();
    for (const socket of held) socket.destroy();
    silent.close();
  });

  const post = (path: string, body: unknown = {}, token = server.apiToken) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('the list names each receiver and its type, and nothing of its address or secret', async () => {
    const res = await server.get('/api/v1/receivers');
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.deepEqual(JSON.parse(text), {
      receivers: [
        { name: 'ops', type: 'webhook' },
        { name: 'gone', type: 'webhook' },
        { name: 'internal', type: 'webhook' },
        { name: 'chat', type: 'slack' },
        { name: 'silent', type: 'webhook' },
      ],
    });
    assert.doesNotMatch(text, /127\.0\.0\.1|whsec|s3cr3t/);
  });

  test('a health check says whether the receiver is reachable, and is counted', async () => {
    const ok = (await (await post('/api/v1/receivers/ops/health')).json()) as Record<string, unknown>;
    assert.equal(ok.receiver, 'ops');
    assert.equal(ok.type, 'webhook');
    assert.equal(ok.ok, true, String(ok.message));
    assert.equal(typeof ok.latencyMillis, 'number');
    const failed = (await (await post('/api/v1/receivers/gone/health')).json()) as Record<string, unknown>;
    assert.equal(failed.ok, false);
    assert.match(String(failed.message), /ECONNREFUSED/);
    const refused = (await (await post('/api/v1/receivers/internal/health')).json()) as Record<string, unknown>;
    assert.equal(refused.ok, false, 'a loopback target without allowPrivateNetwork is refused here too');
    assert.match(String(refused.message), /allowPrivateNetwork/);
    assert.equal(server.metrics.receiverChecks.get({ receiver: 'ops', check: 'health', outcome: 'ok' }), 1);
    assert.equal(server.metrics.receiverChecks.get({ receiver: 'gone', check: 'health', outcome: 'failed' }), 1);
    assert.equal(up.received.length, 0, 'a health check sends no notification');
  });

  test('a test notification reaches the receiver, signed and marked as a test, and names who asked', async () => {
    const res = await post('/api/v1/receivers/ops/test', { actor: 'ann', comment: 'after the rotation' });
    assert.equal(res.status, 200);
    const answer = (await res.json()) as Record<string, unknown>;
    assert.equal(answer.delivered, true, String(answer.message));
    const [request] = await up.waitFor(1);
    const payload = JSON.parse(request!.body) as { alert: { rule: { id: string }; summary: string } };
    assert.equal(payload.alert.rule.id, 'vigil-test-notification');
    assert.match(payload.alert.summary, /^TEST: .*receiver "ops"/);
    assert.match(String(request!.headers['webhook-signature']), /^v1,/);
    assert.equal(server.metrics.receiverChecks.get({ receiver: 'ops', check: 'test', outcome: 'ok' }), 1);
    const stored = (await (await server.get('/api/v1/alerts')).json()) as { alerts: unknown[] };
    assert.equal(stored.alerts.length, 0, 'a test is no alert');
  });

  test('a test that cannot be delivered says why, without the secrets of the receiver, and is counted', async () => {
    const gone = (await (await post('/api/v1/receivers/gone/test', { actor: 'ann' })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(gone.delivered, false);
    assert.match(String(gone.message), /ECONNREFUSED|connect/);
    const before = up.received.length;
    const internal = (await (await post('/api/v1/receivers/internal/test', { actor: 'ann' })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(internal.delivered, false);
    assert.match(String(internal.message), /allowPrivateNetwork/);
    up.status = 500;
    try {
      const chat = await (await post('/api/v1/receivers/chat/test', { actor: 'ann' })).text();
      assert.equal((JSON.parse(chat) as { delivered: boolean }).delivered, false, chat);
      assert.match(chat, /answered HTTP 500/);
      assert.doesNotMatch(chat, /s3cr3t|T0001\/B0001/, 'the Slack URL is a secret');
    } finally {
      up.status = 200;
    }
    assert.equal(up.received.length, before, 'nothing was delivered (the receiver keeps only what it answered 2xx)');
    assert.equal(server.metrics.receiverChecks.get({ receiver: 'gone', check: 'test', outcome: 'failed' }), 1);
    assert.equal(server.metrics.receiverChecks.get({ receiver: 'chat', check: 'test', outcome: 'failed' }), 1);
  });

  test('a second test of a receiver while the first still waits for it is refused (409); the first times out', async () => {
    const first = post('/api/v1/receivers/silent/test', { actor: 'ann' });
    // The first holds its connection once the receiver took it: from then on it is running.
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await post('/api/v1/receivers/silent/test', { actor: 'bob' });
    assert.equal(second.status, 409);
    assert.match(((await second.json()) as { error: { message: string } }).error.message, /already running/);
    const health = await post('/api/v1/receivers/silent/health');
    assert.equal(((await health.json()) as { ok: boolean }).ok, true, 'a check of another kind is not held back');
    const answer = (await (await first).json()) as Record<string, unknown>;
    assert.equal(answer.delivered, false);
    assert.match(String(answer.message), /timed out|timeout/i);
    const again = await post('/api/v1/receivers/silent/health');
    assert.equal(again.status, 200, 'the receiver can be checked again once the test ended');
  });

  test('unknown receivers, missing actors and wrong tokens are refused with a clear error', async () => {
    const unknown = await post('/api/v1/receivers/nope/test', { actor: 'ann' });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { error: { message: string } }).error.message, /no receiver named "nope"/);
    const anonymous = await post('/api/v1/receivers/ops/test', {});
    assert.equal(anonymous.status, 400);
    assert.match(((await anonymous.json()) as { error: { message: string } }).error.message, /"actor" is required/);
    assert.equal((await post('/api/v1/receivers/ops/test', { actor: 'ann' }, 'wrong')).status, 401);
    assert.equal((await post('/api/v1/receivers/ops/health', {}, server.ingestToken)).status, 403);
    assert.equal((await server.get('/api/v1/receivers', server.ingestToken)).status, 403);
    assert.equal(up.received.length, 1, 'nothing was sent for a refused request');
  });
});
