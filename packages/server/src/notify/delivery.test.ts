import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { isNonPublicAddress, parseCidr, parseIp } from '../net/ip.js';
import { SqliteStore } from '../store/sqlite.js';
import { eventually, failedLogins, startReceiver, startTestServer, tempDir } from '../testing/harness.js';
import { sampleAlert } from '../testing/receivers.js';
import { Dispatcher } from './dispatcher.js';
import { HttpSender } from './http.js';
import type { Notifier } from './notifier.js';
import { WebhookNotifier } from './webhook.js';

const payload = {
  version: 1 as const,
  change: 'opened' as const,
  alert: {} as never,
};

describe('SSRF protection', () => {
  test('classifies special-purpose addresses', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
    ]) {
      assert.equal(isNonPublicAddress(a), true, a);
    }
    for (const a of ['::1', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe']) {
      assert.equal(isNonPublicAddress(a), true, a);
    }
    // IPv6 addresses that lead to an IPv4 one: 6to4 is judged by the address it carries; IPv4-compatible addresses
    // and Teredo are refused whatever they carry.
    for (const a of ['2002:7f00:1::', '2002:a9fe:a9fe::1', '::127.0.0.1', '::a9fe:a9fe', '2001:0:4136:e378::1']) {
      assert.equal(isNonPublicAddress(a), true, a);
    }
    for (const a of ['3fff::1', 'fec0::1', '2001:2::1']) assert.equal(isNonPublicAddress(a), true, a);
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2002:808:808::1']) {
      assert.equal(isNonPublicAddress(a), false, a);
    }
    assert.equal(isNonPublicAddress('not-an-ip'), true);
    assert.equal(parseIp('2001:db8::1')!.value, 0x20010db8000000000000000000000001n);
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
  });

  test('a webhook to a loopback literal or a name resolving to loopback is refused unless allowed', async () => {
    const receiver = await startReceiver();
    try {
      const literal = new WebhookNotifier({
        name: 'lit',
        url: receiver.url,
        allowPrivateNetwork: false,
        timeoutMillis: 2000,
        maxAttempts: 1,
      });
      await assert.rejects(literal.send(payload, 'id-1'), /not a public address.*allowPrivateNetwork/);
      const named = new WebhookNotifier({
        name: 'named',
        url: receiver.url.replace('127.0.0.1', 'localhost'),
        allowPrivateNetwork: false,
        timeoutMillis: 2000,
        maxAttempts: 1,
      });
      await assert.rejects(named.send(payload, 'id-2'), /refused to connect to localhost/);
      assert.equal(receiver.received.length, 0);
      const allowed = new WebhookNotifier({
        name: 'ok',
        url: receiver.url.replace('127.0.0.1', 'localhost'),
        allowPrivateNetwork: true,
        timeoutMillis: 2000,
        maxAttempts: 1,
      });
      await allowed.send(payload, 'id-3');
      assert.equal(receiver.received.length, 1);
      await Promise.all([literal.close(), named.close(), allowed.close()]);
    } finally {
      await receiver.close();
    }
  });

  test('a refused receiver dead-letters at once and is counted', async () => {
    const receiver = await startReceiver();
    const server = await startTestServer({
      notify: { receivers: [{ type: 'webhook', name: 'internal', url: receiver.url }] },
    });
    try {
      await server.post('/v1/events', failedLogins(5, '203.0.113.50'), { 'content-type': 'application/x-ndjson' });
      // The counter moves when the refusal is known, the store's dead letter a moment later (its own write): wait
      // for both, up to 10 s on a loaded machine.
      await eventually(async () => {
        assert.equal(server.metrics.notifications.get({ receiver: 'internal', outcome: 'refused' }), 1);
        assert.equal(await server.store.countNotifications('dead'), 1);
      }, 10_000);
      assert.equal(receiver.received.length, 0);
    } finally {
      await server.stop();
      await receiver.close();
    }
  });
});

describe('delivery that loses nothing', () => {
  test('a receiver that is down gets the notification exactly once when back; the other receiver once', async () => {
    const down = await startReceiver();
    const up = await startReceiver();
    down.status = 503;
    const server = await startTestServer({
      notify: {
        retryBaseMillis: 20,
        retryMaxMillis: 100,
        receivers: [
          { type: 'webhook', name: 'down', url: down.url, allowPrivateNetwork: true, maxAttempts: 50 },
          { type: 'webhook', name: 'up', url: up.url, allowPrivateNetwork: true },
        ],
      },
    });
    try {
      await server.post('/v1/events', failedLogins(5, '203.0.113.60'), { 'content-type': 'application/x-ndjson' });
      await up.waitFor(1);
      // Let the down receiver fail a few times.
      for (let i = 0; i < 500 && server.metrics.notifications.get({ receiver: 'down', outcome: 'failed' }) < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(server.metrics.notifications.get({ receiver: 'down', outcome: 'failed' }) >= 3);
      down.status = 200;
      await down.waitFor(1);
      await new Promise((r) => setTimeout(r, 300));
      await server.dispatcher.idle();
      assert.equal(down.received.length, 1);
      assert.equal(up.received.length, 1, 'the healthy receiver is not re-sent to');
      assert.equal(down.received[0]!.headers['webhook-id'], down.received[0]!.headers['webhook-id']);
    } finally {
      await server.stop();
      await down.close();
      await up.close();
    }
  });

  test('notifications pending at shutdown are delivered after a restart', async () => {
    const receiver = await startReceiver();
    receiver.status = 500;
    const dataDir = tempDir();
    const config = {
      notify: {
        retryBaseMillis: 20,
        retryMaxMillis: 50,
        receivers: [{ type: 'webhook', name: 'r', url: receiver.url, allowPrivateNetwork: true, maxAttempts: 100 }],
      },
    };
    const first = await startTestServer(config, { dataDir, keepData: true });
    await first.post('/v1/events', failedLogins(5, '203.0.113.70'), { 'content-type': 'application/x-ndjson' });
    for (let i = 0; i < 100 && first.metrics.notifications.get({ receiver: 'r', outcome: 'failed' }) < 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await first.stop();
    assert.equal(receiver.received.length, 0);

    receiver.status = 200;
    const second = await startTestServer(config, { dataDir });
    try {
      const [delivery] = await receiver.waitFor(1);
      assert.equal(JSON.parse(delivery!.body).change, 'opened');
      const alerts = (await (await second.get('/api/v1/alerts')).json()) as { alerts: unknown[] };
      assert.equal(alerts.alerts.length, 1, 'the alert survived the restart');
      assert.equal(second.alerts.openAlerts().length, 1, 'and is open again in memory');
    } finally {
      await second.stop();
      await receiver.close();
    }
  });
});

test('a change told again (after a crash) is recorded and sent once, grouped or not; a repeat or a later change still goes out', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const sent: { change: string; alerts: string[]; key: string }[] = [];
  const notifier: Notifier = {
    name: 'r',
    send: async (payload, key) => {
      sent.push({ change: payload.change, alerts: (payload.group?.alerts ?? [payload.alert]).map((a) => a.id), key });
      return {};
    },
    close: async () => {},
  };
  const dispatcher = new Dispatcher({
    store,
    notifiers: [notifier],
    maxAttempts: () => 3,
    retryBaseMillis: 10,
    retryMaxMillis: 10,
    log: silentLogger,
    metrics: createMetrics(),
    // The group's notification is due only when the test moves the clock: the second alert joins it first.
    now: () => clock,
  });
  let clock = Date.UTC(2026, 10, 27);
  const grouped = { receiver: 'r', groupBy: ['rule'], groupWaitMillis: 1000, groupIntervalMillis: 1000 };
  try {
    const [alone, inGroup, joining] = [sampleAlert(1), sampleAlert(2, { rule: 'g' }), sampleAlert(3, { rule: 'g' })];
    for (const alert of [alone, inGroup, joining]) alert.updatedAt = Date.UTC(2026, 10, 27);
    await dispatcher.enqueue(alone, 'opened', ['r']);
    await dispatcher.enqueue(inGroup, 'opened', [grouped]);
    await dispatcher.enqueue(joining, 'opened', [grouped]); // joins the group's pending notification
    clock += 1000;
    dispatcher.kick();
    await eventually(async () => assert.equal(await store.countNotifications('delivered'), 2));
    await dispatcher.idle();
    // Each told again, as a restart does with changes whose telling a crash interrupted.
    for (const [alert, targets] of [
      [alone, ['r']],
      [inGroup, [grouped]],
      [joining, [grouped]],
    ] as const) {
      await dispatcher.enqueue({ ...alert }, 'opened', targets, { retold: true });
    }
    dispatcher.kick();
    await dispatcher.idle();
    assert.equal(sent.length, 2, JSON.stringify(sent));
    assert.equal(await store.countNotifications('pending'), 0);
    // A repeat leaves the alert as it was told, and still goes out.
    await dispatcher.enqueue(inGroup, 'repeat', [grouped]);
    clock += 1000;
    dispatcher.kick();
    await eventually(async () => assert.equal(await store.countNotifications('delivered'), 3));
    await dispatcher.idle();
    assert.deepEqual(sent[2], { ...sent[2]!, change: 'repeat', alerts: ['alert-2'] });
    // A later change of a grouped alert is news, and goes out.
    await dispatcher.enqueue({ ...joining, status: 'resolved', updatedAt: joining.updatedAt + 1 }, 'resolved', [
      grouped,
    ]);
    clock += 1000;
    dispatcher.kick();
    await eventually(async () => assert.equal(await store.countNotifications('delivered'), 4));
    await dispatcher.idle();
    assert.deepEqual(sent[3], { ...sent[3]!, change: 'resolved', alerts: ['alert-3'] });
  } finally {
    await dispatcher.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an alert open at shutdown still resolves after a restart, and the resolve is delivered', async () => {
  const receiver = await startReceiver();
  const dataDir = tempDir();
  const config = {
    alerting: { resolveAfterMillis: 1500 },
    notify: { receivers: [{ type: 'webhook', name: 'r', url: receiver.url, allowPrivateNetwork: true }] },
  };
  const first = await startTestServer(config, { dataDir, keepData: true });
  await first.post('/v1/events', failedLogins(5, '203.0.113.80', 'u', Date.now() - 1000), {
    'content-type': 'application/x-ndjson',
  });
  await receiver.waitFor(1);
  await first.stop();

  const second = await startTestServer(config, { dataDir });
  try {
    const [, resolved] = await receiver.waitFor(2, 8000);
    const payload = JSON.parse(resolved!.body) as { change: string; alert: { status: string; endsAt?: string } };
    assert.equal(payload.change, 'resolved');
    assert.equal(payload.alert.status, 'resolved');
    assert.ok(payload.alert.endsAt);
  } finally {
    await second.stop();
    await receiver.close();
  }
});

test("errors name no URL's password or query: a library quoting the URL it refused leaks nothing", () => {
  const sender = new HttpSender({ allowPrivateNetwork: true, timeoutMillis: 1000, secrets: [], userAgent: 'test' });
  const message = sender.scrub(
    'POST 127.0.0.1:1: cannot be constructed from a URL that includes credentials: ' +
      'http://admin:Sup3rS3cretPw@127.0.0.1:1/api/v2/alerts?token=t0k3n#x and https://h.example/p?key=k',
  );
  assert.ok(!/Sup3rS3cretPw|t0k3n|key=k/.test(message), message);
  assert.match(message, /http:\/\/127\.0\.0\.1:1\/api\/v2\/alerts/);
});
