// A receiver down for five minutes, on a fake clock: the dispatcher's timing (backoff, due times) runs on the
// injected clock, so five minutes pass in milliseconds. Real SQLite store, real HTTP receivers on loopback.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import { eventually, startReceiver, tempDir } from '../testing/harness.js';
import { sampleAlert } from '../testing/receivers.js';
import { Dispatcher, MAX_IN_FLIGHT_PER_RECEIVER } from './dispatcher.js';
import { WebhookNotifier } from './webhook.js';

const alert = (n: number) => sampleAlert(n);

/** A webhook receiver on the test's clock. */
const webhook = (name: string, url: string, now: () => number, maxAttempts = 100, timeoutMillis = 2000) =>
  new WebhookNotifier({ name, url, allowPrivateNetwork: true, timeoutMillis, maxAttempts }, now);

/** A dispatcher on the test's clock, retrying from 1 s up to 1 min. */
function dispatcherOf(
  store: SqliteStore,
  notifiers: WebhookNotifier[],
  now: () => number,
  maxAttempts = 100,
  metrics = createMetrics(),
): Dispatcher {
  return new Dispatcher({
    store,
    notifiers,
    maxAttempts: () => maxAttempts,
    retryBaseMillis: 1000,
    retryMaxMillis: 60_000,
    log: silentLogger,
    metrics,
    now,
  });
}

test('a receiver down for 5 minutes then back gets every notification exactly once; the other is not re-sent to', async () => {
  const down = await startReceiver();
  const up = await startReceiver();
  down.status = 503;
  let now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const store = new SqliteStore({ file: join(tempDir(), 'outage.db') });
  const metrics = createMetrics();
  const clock = () => now;
  const dispatcher = dispatcherOf(
    store,
    [webhook('down', down.url, clock), webhook('up', up.url, clock)],
    clock,
    100,
    metrics,
  );
  try {
    for (let n = 1; n <= 3; n++) await dispatcher.enqueue(alert(n), 'opened');
    const step = async (millis: number) => {
      now += millis;
      dispatcher.kick();
      await dispatcher.idle();
    };
    // Five minutes of outage, in 5-second steps of the fake clock.
    for (let t = 0; t < 300_000; t += 5000) await step(5000);
    assert.equal(down.received.length, 0);
    assert.equal(up.received.length, 3);
    // The gauge follows the backlog (counted at most once a second, on the passes that run every half second).
    await eventually(async () => {
      const pending = await store.countNotifications('pending');
      assert.ok(pending > 0);
      assert.equal(metrics.notificationsPending.get(), pending);
    });
    const failures = metrics.notifications.get({ receiver: 'down', outcome: 'failed' });
    assert.ok(failures >= 3 * 5 && failures <= 3 * 20, `backoff bounds the retries (${failures} failures)`);

    down.status = 200;
    for (let t = 0; t < 180_000; t += 5000) await step(5000);
    assert.equal(down.received.length, 3, 'each notification arrives once when the receiver is back');
    assert.deepEqual(new Set(down.received.map((r) => r.headers['webhook-id'])).size, 3);
    assert.equal(up.received.length, 3, 'the healthy receiver was never re-sent to');
    assert.equal(await store.countNotifications('pending'), 0);
    assert.equal(await store.countNotifications('dead'), 0);
    await eventually(async () => assert.equal(metrics.notificationsPending.get(), 0));
  } finally {
    await dispatcher.close();
    await store.close();
    await down.close();
    await up.close();
  }
});

test("a receiver's Retry-After is honoured up to retryMaxMillis; a store that fails to write does not end the server", async () => {
  const receiver = await startReceiver();
  let now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const store = new SqliteStore({ file: join(tempDir(), 'retry-after.db') });
  // A year: without the cap the notification would wait that long, neither retried nor dead-lettered.
  const server = createServer((_req, res) => res.writeHead(429, { 'retry-after': '31536000' }).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const dispatcher = dispatcherOf(store, [webhook('busy', url, () => now)], () => now);
  try {
    await dispatcher.enqueue(alert(1), 'opened');
    await dispatcher.idle();
    const [pending] = await store.dueNotifications(now + 366 * 86_400_000, 10);
    assert.ok(pending!.nextAttemptAt <= now + 60_000, `next attempt in ${pending!.nextAttemptAt - now} ms`);

    // The store refuses writes (a full disk): the attempt's failure is logged, and nothing is thrown at the process.
    const original = store.updateNotification.bind(store);
    store.updateNotification = () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    now += 61_000;
    dispatcher.kick();
    await dispatcher.idle();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    store.updateNotification = original;
    assert.deepEqual(unhandled, []);
  } finally {
    await dispatcher.close();
    await store.close();
    await receiver.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a receiver that hangs holds at most its share of attempts; another receiver is notified at once', async () => {
  // Takes every request and answers none until the test ends: every request that arrived is still in flight.
  const held: import('node:http').ServerResponse[] = [];
  let released = false;
  const hanging = createServer((_req, res) => {
    if (released) res.writeHead(503).end();
    else held.push(res);
  });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
  const up = await startReceiver();
  const now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const store = new SqliteStore({ file: join(tempDir(), 'hanging.db') });
  const dispatcher = dispatcherOf(
    store,
    // The hanging one's timeout outlasts the test: its attempts stay in flight.
    [webhook('hanging', hangingUrl, () => now, 100, 30_000), webhook('up', up.url, () => now)],
    () => now,
  );
  try {
    // A backlog for the hanging receiver, all due before the other receiver's one notification.
    for (let n = 1; n <= 100; n++) await dispatcher.enqueue(alert(n), 'opened', ['hanging']);
    await dispatcher.enqueue(alert(200), 'opened', ['up']);
    dispatcher.kick();
    const [got] = await up.waitFor(1, 10_000);
    assert.match(got!.body, /alert-200/);
    await eventually(async () => assert.equal(held.length, MAX_IN_FLIGHT_PER_RECEIVER));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(held.length, MAX_IN_FLIGHT_PER_RECEIVER, 'the hanging receiver holds its share of attempts, no more');
  } finally {
    released = true;
    for (const res of held) res.writeHead(503).end();
    await dispatcher.close();
    await store.close();
    await up.close();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
  }
});

test('an alert that joins a group as its notification is being leased goes out exactly once, merged or on its own', async () => {
  const team = await startReceiver();
  const now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const target = { receiver: 'team', groupBy: ['rule'], groupWaitMillis: 0, groupIntervalMillis: 0 };
  for (const when of ['before', 'after'] as const) {
    team.received.length = 0;
    const store = new SqliteStore({ file: join(tempDir(), `merge-${when}.db`) });
    const dispatcher = dispatcherOf(store, [webhook('team', team.url, () => now, 3)], () => now, 3);
    // The second alert arrives exactly as the first attempt writes its lease: just before it (the merge lands in the
    // pending record, which the attempt re-reads) or just after (the merge misses, and it starts one of its own).
    const lease = store.updateNotification.bind(store);
    let joined: Promise<void> | undefined;
    store.updateNotification = async (record) => {
      if (joined === undefined && record.attempts === 1) {
        if (when === 'before') {
          joined = dispatcher.enqueue(alert(2), 'opened', [target]);
          await joined;
          return lease(record);
        }
        await lease(record);
        joined = dispatcher.enqueue(alert(2), 'opened', [target]);
        await joined;
        return;
      }
      return lease(record);
    };
    try {
      await dispatcher.enqueue(alert(1), 'opened', [target]);
      dispatcher.kick();
      await new Promise((resolve) => setTimeout(resolve, 50));
      await dispatcher.idle();
      dispatcher.kick();
      await dispatcher.idle();
      const sent = team.received.flatMap((r) =>
        (JSON.parse(r.body) as { group: { alerts: { id: string }[] } }).group.alerts.map((a) => a.id),
      );
      assert.deepEqual(sent.sort(), ['alert-1', 'alert-2'], `${when} the lease: each alert once (${sent})`);
    } finally {
      await dispatcher.close();
      await store.close();
    }
  }
  await team.close();
});

test('an alert that opens and resolves within groupWait is notified as resolved, not as an opening', async () => {
  const team = await startReceiver();
  let now = Date.UTC(2026, 10, 2, 10, 0, 0);
  const clock = () => now;
  const target = { receiver: 'team', groupBy: ['rule'], groupWaitMillis: 60_000, groupIntervalMillis: 60_000 };
  const store = new SqliteStore({ file: join(tempDir(), 'open-resolve.db') });
  const dispatcher = dispatcherOf(store, [webhook('team', team.url, clock, 3)], clock, 3);
  try {
    const opened = alert(1);
    await dispatcher.enqueue(opened, 'opened', [target]);
    now += 1000;
    await dispatcher.enqueue({ ...opened, status: 'resolved', endsAt: now, updatedAt: now }, 'resolved', [target]);
    now += 60_000;
    dispatcher.kick();
    await dispatcher.idle();
    await eventually(async () => assert.equal(team.received.length, 1));
    const sent = JSON.parse(team.received[0]!.body) as { change: string; alert: { status: string } };
    assert.deepEqual([sent.change, sent.alert.status], ['resolved', 'resolved']);
  } finally {
    await dispatcher.close();
    await store.close();
    await team.close();
  }
});
