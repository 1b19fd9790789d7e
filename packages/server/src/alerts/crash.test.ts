/**
 * Crash consistency of the alert path, with real `vigil start` processes killed by SIGKILL at chosen points and real
 * receivers on loopback. Each kill point is reached without timing: detection held back by `latenessMillis`, a
 * receiver that holds the request open, or a write the database refuses (a trigger, as a full disk would) so that
 * the state on disk is the one a crash between two commits leaves.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../store/sqlite.js';
import { eventually, tempDir } from '../testing/harness.js';
import { startVigilProcess, type VigilProcess, verifyDataDir } from '../testing/process.js';
import { type HoldingReceiver, type ScriptedRequest, startHoldingReceiver } from '../testing/receivers.js';
import { fingerprint } from './alert.js';
import { alertId } from './manager.js';

const BRUTE_FORCE = 'vigil-authn-brute-force';

/** Five failed logins from `address` for one user (the brute-force rule's threshold), with ids, ending now. */
function failedLogins(address: string, prefix: string) {
  const end = Date.now();
  return Array.from({ length: 5 }, (_, i) => ({
    id: `${prefix}-${i}`,
    time: end - (4 - i) * 200,
    type: 'authn_login_fail',
    'client.address': address,
    'user.id': `${prefix}-user`,
  }));
}

interface AlertBody {
  id: string;
  fingerprint: string;
  status: string;
  labels: Record<string, string>;
  startsAt: string;
  eventCount: number;
  evidence: string[];
}

function config(receivers: Record<string, unknown>[], detection: Record<string, unknown> = {}) {
  return {
    // Only the snapshot taken at start-up: a restart replays every event stored after it.
    detection: { snapshotIntervalMillis: 86_400_000, ...detection },
    notify: { retryBaseMillis: 20, retryMaxMillis: 100, receivers },
  };
}

function webhook(name: string, receiver: HoldingReceiver) {
  return { type: 'webhook', name, url: receiver.url, allowPrivateNetwork: true };
}

/** The brute-force alerts about `address`, as the API lists them. */
async function alertsAbout(server: VigilProcess, address: string): Promise<AlertBody[]> {
  const res = await server.get('/api/v1/alerts?limit=100');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { alerts: AlertBody[] };
  return body.alerts.filter((a) => a.labels['client.address'] === address && a.labels.rule === BRUTE_FORCE);
}

/** The notifications a receiver got for one alert, in order: change and idempotency key. */
function told(receiver: HoldingReceiver, id: string): { change: string; key: string | undefined }[] {
  return receiver.received
    .map((r: ScriptedRequest) => ({ r, body: JSON.parse(r.body) as { change?: string; alert?: { id: string } } }))
    .filter(({ body }) => body.alert?.id === id)
    .map(({ r, body }) => ({ change: body.change ?? '', key: r.headers['webhook-id'] as string | undefined }));
}

/** Wait until a receiver has had `count` requests about one alert. */
async function toldTimes(receiver: HoldingReceiver, id: string, count: number): Promise<void> {
  await eventually(async () => assert.equal(told(receiver, id).length, count));
}

/** Rows of the notification log for an alert, read from the database file of a stopped server. */
function notificationRows(dataDir: string, id: string): { receiver: string; state: string }[] {
  const db = new Database(join(dataDir, 'vigil.db'), { readonly: true });
  try {
    return db.prepare('SELECT receiver, state FROM notifications WHERE alert_id = ? ORDER BY receiver').all(id) as {
      receiver: string;
      state: string;
    }[];
  } finally {
    db.close();
  }
}

/** Announced alert changes not yet taken by every listener, read from the database file of a stopped server. */
function pendingAnnouncements(dataDir: string): number {
  const db = new Database(join(dataDir, 'vigil.db'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM alert_announcements').pluck().get() as number;
  } finally {
    db.close();
  }
}

function assertVerifies(dataDir: string): void {
  const { status, output } = verifyDataDir(dataDir);
  assert.equal(status, 0, output);
  assert.match(output, /hash chain intact/);
}

/** A database made ahead of the server's first start, so that a test can install triggers on it. */
async function createStore(dataDir: string): Promise<void> {
  const store = new SqliteStore({ file: join(dataDir, 'vigil.db') });
  await store.close();
}

/** Make the database refuse inserts into `table` (as a full disk would), or accept them again. */
function refuseWrites(dataDir: string, table: string, refuse: boolean, operation = 'INSERT'): void {
  const db = new Database(join(dataDir, 'vigil.db'));
  const trigger = `refuse_${operation.toLowerCase()}_${table}`;
  try {
    db.pragma('busy_timeout = 5000');
    if (refuse) {
      db.exec(
        `CREATE TRIGGER ${trigger} BEFORE ${operation} ON ${table} BEGIN SELECT RAISE(ABORT, 'disk is full'); END`,
      );
    } else db.exec(`DROP TRIGGER ${trigger}`);
  } finally {
    db.close();
  }
}

/** Make the database refuse deletions from `table`, or accept them again. */
function refuseDeletes(dataDir: string, table: string, refuse: boolean): void {
  refuseWrites(dataDir, table, refuse, 'DELETE');
}

test('events acknowledged before detection ran: after a SIGKILL the replay opens the alert once and notifies it', async () => {
  const dataDir = tempDir();
  const receiver = await startHoldingReceiver();
  const address = '203.0.113.21';
  const events = failedLogins(address, 'before-detection');
  // Detection waits an hour behind the wall clock: the events are stored and acknowledged, not yet detected.
  let server = await startVigilProcess(dataDir, config([webhook('hook', receiver)], { latenessMillis: 3_600_000 }));
  try {
    assert.equal((await server.post('/v1/events', events)).status, 200);
    assert.deepEqual(await alertsAbout(server, address), [], 'no alert before the kill');
    await server.kill();
    assertVerifies(dataDir);

    server = await startVigilProcess(dataDir, config([webhook('hook', receiver)], { latenessMillis: 0 }));
    const [alert] = await eventually(async () => {
      const found = await alertsAbout(server, address);
      assert.equal(found.length, 1);
      return found;
    });
    assert.equal(alert!.fingerprint, fingerprint(alert!.labels));
    assert.equal(alert!.id, alertId(alert!.fingerprint, Date.parse(alert!.startsAt)));
    assert.equal(alert!.startsAt, new Date(events[0]!.time).toISOString());
    assert.equal(alert!.eventCount, 5);
    assert.deepEqual([...alert!.evidence].sort(), events.map((e) => e.id).sort());
    await toldTimes(receiver, alert!.id, 1);
    await eventually(async () =>
      assert.deepEqual(notificationRows(dataDir, alert!.id), [{ receiver: 'hook', state: 'delivered' }]),
    );
    await server.kill();
    assert.deepEqual(
      told(receiver, alert!.id).map((t) => t.change),
      ['opened'],
    );
    assertVerifies(dataDir);
  } finally {
    await server.kill();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a SIGKILL while receivers hold the notification, or after one answered 2xx: each gets it again, under the same key', async () => {
  const dataDir = tempDir();
  const holding = await startHoldingReceiver('hold');
  const answered = await startHoldingReceiver('head');
  const pager = await startHoldingReceiver('hold');
  const receivers = [
    webhook('holding', holding),
    webhook('answered', answered),
    { type: 'pagerduty', name: 'pager', url: pager.url, routingKey: 'R'.repeat(32), allowPrivateNetwork: true },
  ];
  const address = '203.0.113.22';
  const pagerEvents = (id: string) =>
    pager.received
      .map((r) => JSON.parse(r.body) as { event_action: string; dedup_key: string })
      .filter((e) => e.dedup_key === id);
  const paged = (id: string, count: number) => eventually(async () => assert.equal(pagerEvents(id).length, count));
  let server = await startVigilProcess(dataDir, config(receivers));
  try {
    assert.equal((await server.post('/v1/events', failedLogins(address, 'held'))).status, 200);
    const [alert] = await eventually(async () => {
      const found = await alertsAbout(server, address);
      assert.equal(found.length, 1);
      return found;
    });
    // Each receiver has the notification; none has let the server record the outcome.
    await Promise.all([toldTimes(holding, alert!.id, 1), toldTimes(answered, alert!.id, 1), paged(alert!.id, 1)]);
    await server.kill();
    assertVerifies(dataDir);
    assert.deepEqual(
      notificationRows(dataDir, alert!.id).map((r) => r.state),
      ['pending', 'pending', 'pending'],
      'the log has not recorded an outcome',
    );

    for (const r of [holding, answered, pager]) r.mode = 'answer';
    // The restart replays the events stored after its start-up snapshot: the alert is open already, nothing opens.
    server = await startVigilProcess(dataDir, config(receivers));
    await Promise.all([toldTimes(holding, alert!.id, 2), toldTimes(answered, alert!.id, 2), paged(alert!.id, 2)]);
    for (const r of [holding, answered]) {
      const [first, second] = told(r, alert!.id);
      assert.equal(first!.change, 'opened');
      assert.deepEqual(second, first, 'the copy carries the same webhook-id');
    }
    const [trigger, again] = pager.received.map(
      (r) => JSON.parse(r.body) as { event_action: string; dedup_key: string },
    );
    assert.equal(trigger!.event_action, 'trigger');
    assert.deepEqual(again, trigger, 'the copy carries the same dedup_key');
    assert.equal(trigger!.dedup_key, alert!.id);
    await eventually(async () =>
      assert.deepEqual(
        notificationRows(dataDir, alert!.id).map((r) => r.state),
        ['delivered', 'delivered', 'delivered'],
      ),
    );
    assert.deepEqual(
      (await alertsAbout(server, address)).map((a) => a.id),
      [alert!.id],
    );
    await server.kill();
    assertVerifies(dataDir);
  } finally {
    await server.kill();
    await Promise.all([holding.close(), answered.close(), pager.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an alert change stored but whose notification was not (a crash between the two writes) is notified after the restart, once', async () => {
  const dataDir = tempDir();
  const receiver = await startHoldingReceiver();
  const address = '203.0.113.23';
  await createStore(dataDir);
  refuseWrites(dataDir, 'notifications', true);
  let server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
  try {
    assert.equal((await server.post('/v1/events', failedLogins(address, 'unannounced'))).status, 200);
    const [alert] = await eventually(async () => {
      const found = await alertsAbout(server, address);
      assert.equal(found.length, 1);
      return found;
    });
    // Acknowledged through the API: stored, and the answer says so; its notification cannot be recorded either.
    const ack = await server.post(`/api/v1/alerts/${alert!.id}/acknowledge`, { actor: 'alice', comment: 'mine' });
    assert.equal(ack.status, 200);
    await server.kill();
    assert.deepEqual(told(receiver, alert!.id), []);
    assert.deepEqual(notificationRows(dataDir, alert!.id), []);
    refuseWrites(dataDir, 'notifications', false);
    assertVerifies(dataDir);

    // This time the changes are told and their notifications delivered, but the server cannot note that it told them
    // (as when it dies in between): the next start tells them again.
    refuseDeletes(dataDir, 'alert_announcements', true);
    server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
    await toldTimes(receiver, alert!.id, 2);
    assert.deepEqual(
      told(receiver, alert!.id).map((t) => t.change),
      ['opened', 'acknowledged'],
    );
    const [after] = await alertsAbout(server, address);
    assert.equal(after!.status, 'acknowledged');
    await eventually(async () =>
      assert.deepEqual(notificationRows(dataDir, alert!.id), [
        { receiver: 'hook', state: 'delivered' },
        { receiver: 'hook', state: 'delivered' },
      ]),
    );
    await server.kill();
    refuseDeletes(dataDir, 'alert_announcements', false);
    assertVerifies(dataDir);

    // Told again before the server listens: recorded once, so nothing is sent again.
    server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
    await server.kill();
    assert.equal(notificationRows(dataDir, alert!.id).length, 2);
    assert.equal(told(receiver, alert!.id).length, 2);
    assert.equal(pendingAnnouncements(dataDir), 0);
    assertVerifies(dataDir);
  } finally {
    await server.kill();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('an escalation due at a crash is sent after the restart, once', async () => {
  const dataDir = tempDir();
  const receiver = await startHoldingReceiver();
  const lead = await startHoldingReceiver();
  const address = '203.0.113.28';
  const escalating = {
    ...config([webhook('hook', receiver), webhook('lead', lead)]),
    alerting: { route: { receiver: 'hook', escalate: { after: '1s', receiver: 'lead' } } },
  };
  const escalations = (id: string) => told(lead, id).filter((t) => t.change === 'escalated');
  await createStore(dataDir);
  refuseWrites(dataDir, 'notifications', true);
  let server = await startVigilProcess(dataDir, escalating);
  try {
    assert.equal((await server.post('/v1/events', failedLogins(address, 'escalate'))).status, 200);
    const [alert] = await eventually(async () => {
      const found = await alertsAbout(server, address);
      assert.equal(found.length, 1);
      return found;
    });
    // The timers have taken the escalation step, and its notification could not be recorded.
    await eventually(async () => assert.match(server.output(), /alert escalated|escalation could not be recorded/));
    await server.kill();
    refuseWrites(dataDir, 'notifications', false);
    assertVerifies(dataDir);

    // This time it is recorded and sent, but the alert's note that it escalated cannot be saved (as when the server
    // dies in between): the next start escalates again, under the same notification id, so nothing is sent twice.
    refuseWrites(dataDir, 'alerts', true, 'UPDATE');
    server = await startVigilProcess(dataDir, escalating);
    await eventually(async () => assert.equal(escalations(alert!.id).length, 1));
    await eventually(async () =>
      assert.deepEqual(
        notificationRows(dataDir, alert!.id).filter((r) => r.receiver === 'lead'),
        [{ receiver: 'lead', state: 'delivered' }],
      ),
    );
    await server.kill();
    refuseWrites(dataDir, 'alerts', false, 'UPDATE');
    assertVerifies(dataDir);

    server = await startVigilProcess(dataDir, escalating);
    await eventually(async () => {
      const res = await server.get(`/api/v1/alerts/${alert!.id}`);
      assert.deepEqual(((await res.json()) as { escalated?: string[] }).escalated, ['lead']);
    });
    await server.kill();
    assert.equal(notificationRows(dataDir, alert!.id).filter((r) => r.receiver === 'lead').length, 1);
    assert.equal(escalations(alert!.id).length, 1);
    assertVerifies(dataDir);
  } finally {
    await server.kill();
    await Promise.all([receiver.close(), lead.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('acknowledge, resolve and silences through the API: after a SIGKILL the state is what the answers said', async () => {
  const dataDir = tempDir();
  const receiver = await startHoldingReceiver();
  const acked = '203.0.113.24';
  const resolved = '203.0.113.25';
  let server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
  const silences = async () =>
    ((await (await server.get('/api/v1/silences')).json()) as { silences: { id: string; state: string }[] }).silences;
  const expire = (id: string) =>
    fetch(`${server.url}/api/v1/silences/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'carol' }),
    });
  const silence = (address: string) => ({
    matchers: [`client.address="${address}"`],
    durationMillis: 3_600_000,
    createdBy: 'carol',
    comment: 'penetration test',
  });
  try {
    const events = [...failedLogins(acked, 'ack'), ...failedLogins(resolved, 'res')];
    assert.equal((await server.post('/v1/events', events)).status, 200);
    const [a, r] = await eventually(async () => {
      const found = [...(await alertsAbout(server, acked)), ...(await alertsAbout(server, resolved))];
      assert.equal(found.length, 2);
      return found;
    });
    await Promise.all([toldTimes(receiver, a!.id, 1), toldTimes(receiver, r!.id, 1)]);
    const kept = await server.post('/api/v1/silences', silence('203.0.113.26'));
    assert.equal(kept.status, 201);
    const { id: keptId } = (await kept.json()) as { id: string };

    // The database refuses the writes: every answer is an error, and asking again must not turn it into a 2xx.
    refuseWrites(dataDir, 'alert_actions', true);
    refuseWrites(dataDir, 'silences', true);
    for (const attempt of [1, 2]) {
      const answers = {
        acknowledge: (await server.post(`/api/v1/alerts/${a!.id}/acknowledge`, { actor: 'alice' })).status,
        resolve: (await server.post(`/api/v1/alerts/${r!.id}/resolve`, { actor: 'bob' })).status,
        'silence creation': (await server.post('/api/v1/silences', silence('203.0.113.27'))).status,
        'silence expiry': (await expire(keptId)).status,
      };
      for (const [what, status] of Object.entries(answers)) {
        assert.ok(status >= 500, `${what} answered ${status} for a write that failed (attempt ${attempt})`);
      }
    }
    await server.kill();
    refuseWrites(dataDir, 'alert_actions', false);
    refuseWrites(dataDir, 'silences', false);
    assertVerifies(dataDir);

    server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
    // Before: nothing the client was refused happened.
    assert.equal((await alertsAbout(server, acked))[0]!.status, 'firing');
    assert.equal((await alertsAbout(server, resolved))[0]!.status, 'firing');
    assert.deepEqual(await silences(), [{ ...(await silences())[0]!, id: keptId, state: 'active' }]);

    // After: each 2xx holds after a SIGKILL, and the notifications the receiver held when it came go out again.
    receiver.mode = 'hold';
    assert.equal((await server.post(`/api/v1/alerts/${a!.id}/acknowledge`, { actor: 'alice' })).status, 200);
    assert.equal((await server.post(`/api/v1/alerts/${r!.id}/resolve`, { actor: 'bob' })).status, 200);
    const created = await server.post('/api/v1/silences', silence('203.0.113.27'));
    assert.equal(created.status, 201);
    const { id: createdId } = (await created.json()) as { id: string };
    assert.equal((await expire(keptId)).status, 200);
    await Promise.all([toldTimes(receiver, a!.id, 2), toldTimes(receiver, r!.id, 2)]);
    await server.kill();
    assertVerifies(dataDir);

    receiver.mode = 'answer';
    server = await startVigilProcess(dataDir, config([webhook('hook', receiver)]));
    assert.equal((await alertsAbout(server, acked))[0]!.status, 'acknowledged');
    assert.equal((await alertsAbout(server, resolved))[0]!.status, 'resolved');
    assert.deepEqual(
      (await silences()).map((s) => [s.id, s.state]).sort(),
      [
        [createdId, 'active'],
        [keptId, 'expired'],
      ].sort(),
    );
    await Promise.all([toldTimes(receiver, a!.id, 3), toldTimes(receiver, r!.id, 3)]);
    const [ackHeld, ackAgain] = told(receiver, a!.id).slice(1);
    assert.equal(ackHeld!.change, 'acknowledged');
    assert.deepEqual(ackAgain, ackHeld);
    const [resolveHeld, resolveAgain] = told(receiver, r!.id).slice(1);
    assert.equal(resolveHeld!.change, 'resolved');
    assert.deepEqual(resolveAgain, resolveHeld);
    await server.kill();
    assertVerifies(dataDir);
  } finally {
    await server.kill();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
