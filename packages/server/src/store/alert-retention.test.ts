/**
 * Retention of alerts, decisions and silences (`storage.alertRetentionDays`): what goes, what stays, batch by batch.
 * Real SQLite files, read back by hand to see that no row of a deleted alert is left behind.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Alert, AlertStatus } from '../alerts/alert.js';
import { Silences } from '../alerts/silences.js';
import { DATABASE_FILE } from '../app.js';
import type { Decision } from '../decisions/decision.js';
import { silentLogger } from '../log.js';
import { eventually, startTestServer, tempDir } from '../testing/harness.js';
import { sampleAlert } from '../testing/receivers.js';
import { deleteEndedAlertsBatch } from './alert-retention.js';
import { SqliteStore } from './sqlite.js';
import type { NotificationRecord, NotificationState } from './store.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20);
const CUTOFF = NOW - 30 * DAY;
const OLD = CUTOFF - 5 * DAY;
const RECENT = CUTOFF + 5 * DAY;

function alert(n: number, status: AlertStatus, updatedAt: number, endsAt = updatedAt): Alert {
  return {
    ...sampleAlert(n),
    status,
    startsAt: updatedAt - DAY,
    lastSeenAt: updatedAt - DAY,
    ...(status === 'resolved' ? { endsAt } : {}),
    updatedAt,
    createdAt: updatedAt - DAY,
  };
}

let notificationCount = 0;
function notification(alertId: string, state: NotificationState, groupKey?: string): NotificationRecord {
  notificationCount++;
  return {
    id: `ntf-${notificationCount}`,
    alertId,
    receiver: 'hook',
    payload: '{}',
    state,
    attempts: state === 'pending' ? 0 : 1,
    nextAttemptAt: OLD,
    createdAt: OLD,
    ...(groupKey ? { groupKey } : {}),
  };
}

/** The rows left in a table, by one column. */
function rows(file: string, sql: string): unknown[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare(sql).pluck().all();
  } finally {
    raw.close();
  }
}

describe('alert retention', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('resolved alerts that ended before the cutoff go with their history and notifications; the rest stays', async () => {
    const file = join(dir, 'alerts.db');
    const store = new SqliteStore({ file });
    const alerts = [
      alert(1, 'resolved', OLD), // goes
      alert(2, 'resolved', OLD), // goes: its notifications are delivered and dead
      alert(3, 'firing', OLD), // open: stays
      alert(4, 'acknowledged', OLD), // open: stays
      alert(5, 'resolved', RECENT), // ended inside the window: stays
      alert(6, 'resolved', RECENT, OLD), // acted on after it resolved: kept from its last change
      alert(7, 'resolved', OLD, RECENT), // ends (event time) inside the window: stays
      alert(8, 'resolved', OLD), // a notification of it is still pending: stays
      alert(9, 'resolved', OLD), // joined a group whose notification is still pending: stays
    ];
    await store.saveAlerts(alerts);
    await store.recordAlertAction(alerts[0]!, {
      alertId: 'alert-1',
      action: 'resolve',
      actor: 'alice',
      tokenId: 't',
      at: OLD,
    });
    await store.recordAlertAction(alerts[3]!, {
      alertId: 'alert-4',
      action: 'acknowledge',
      actor: 'bob',
      tokenId: 't',
      at: OLD,
    });
    const pendingGroup = notification('alert-3', 'pending', 'g');
    await store.addNotifications([
      notification('alert-1', 'delivered'),
      notification('alert-2', 'delivered'),
      notification('alert-2', 'dead'),
      notification('alert-5', 'delivered'),
      notification('alert-8', 'delivered'),
      notification('alert-8', 'pending'),
      pendingGroup,
    ]);
    await store.addNotificationMember(pendingGroup.id, 'alert-9');

    const result = await store.deleteEndedBefore(CUTOFF);
    assert.deepEqual(result, { alerts: 2, notifications: 3, decisions: 0, silences: 0 });
    assert.deepEqual(rows(file, 'SELECT id FROM alerts ORDER BY id'), [
      'alert-3',
      'alert-4',
      'alert-5',
      'alert-6',
      'alert-7',
      'alert-8',
      'alert-9',
    ]);
    assert.equal(await store.getAlert('alert-1'), undefined);
    assert.deepEqual(await store.alertActions('alert-1'), []);
    assert.equal((await store.alertActions('alert-4')).length, 1);
    assert.deepEqual(rows(file, 'SELECT DISTINCT alert_id FROM notifications ORDER BY alert_id'), [
      'alert-3',
      'alert-5',
      'alert-8',
    ]);
    assert.equal(await store.countNotifications('pending'), 2);
    assert.deepEqual(rows(file, 'SELECT alert_id FROM notification_members'), ['alert-9']);
    // A second run finds nothing more.
    assert.deepEqual(await store.deleteEndedBefore(CUTOFF), { alerts: 0, notifications: 0, decisions: 0, silences: 0 });
    await store.close();
  });

  test('a grouped notification stays while an alert it tells of is stored, and goes with the last one', async () => {
    const file = join(dir, 'group.db');
    const store = new SqliteStore({ file });
    await store.saveAlerts([alert(1, 'resolved', OLD), alert(2, 'firing', OLD)]);
    const group = notification('alert-1', 'delivered', 'g');
    await store.addNotifications([group]);
    await store.addNotificationMember(group.id, 'alert-2');

    assert.equal((await store.deleteEndedBefore(CUTOFF)).alerts, 1);
    assert.equal(await store.getAlert('alert-1'), undefined);
    // The open alert's resolve still goes to the receiver that heard of its opening.
    assert.deepEqual(await store.notifiedReceivers('alert-2'), ['hook']);
    assert.deepEqual(await store.notifiedReceivers('alert-1'), ['hook']);

    await store.saveAlerts([alert(2, 'resolved', OLD + DAY)]);
    assert.deepEqual(await store.deleteEndedBefore(CUTOFF), { alerts: 1, notifications: 1, decisions: 0, silences: 0 });
    assert.deepEqual(rows(file, 'SELECT id FROM notifications'), []);
    assert.deepEqual(rows(file, 'SELECT alert_id FROM notification_members'), []);
    assert.deepEqual(await store.notifiedReceivers('alert-2'), []);
    await store.close();
  });

  test('in batches: each examines at most its size and goes on past the alerts it keeps', async () => {
    const file = join(dir, 'batches.db');
    const store = new SqliteStore({ file });
    // The 10 resolved first are held by pending notifications; 15 more after them go.
    const held = Array.from({ length: 10 }, (_, k) => alert(100 + k, 'resolved', OLD - DAY + k));
    const ended = Array.from({ length: 15 }, (_, k) => alert(200 + k, 'resolved', OLD + k));
    await store.saveAlerts([...held, ...ended]);
    await store.addNotifications(held.map((a) => notification(a.id, 'pending')));
    await store.close();

    const raw = new Database(file);
    try {
      const first = raw.transaction(() => deleteEndedAlertsBatch(raw, CUTOFF, undefined, 10))();
      assert.deepEqual(
        { alerts: first.alerts, next: first.next },
        { alerts: 0, next: { updatedAt: OLD - DAY + 9, id: 'alert-109' } },
      );
      const second = raw.transaction(() => deleteEndedAlertsBatch(raw, CUTOFF, first.next, 10))();
      assert.equal(second.alerts, 10);
      const third = raw.transaction(() => deleteEndedAlertsBatch(raw, CUTOFF, second.next, 10))();
      assert.deepEqual({ alerts: third.alerts, next: third.next }, { alerts: 5, next: undefined });
    } finally {
      raw.close();
    }

    // The store's run goes batch by batch to the end the same way.
    const again = new SqliteStore({ file });
    await again.saveAlerts(Array.from({ length: 23 }, (_, k) => alert(300 + k, 'resolved', OLD + k)));
    assert.equal((await again.deleteEndedBefore(CUTOFF, { batchRows: 4 })).alerts, 23);
    assert.equal(rows(file, 'SELECT id FROM alerts').length, 10);
    // Stopped (the server closing), a run deletes nothing more.
    await again.saveAlerts([alert(400, 'resolved', OLD)]);
    const stop = new AbortController();
    stop.abort();
    assert.equal((await again.deleteEndedBefore(CUTOFF, { signal: stop.signal })).alerts, 0);
    await again.close();
  });

  test('decisions that ended before the cutoff go; one in force never does; versions never go back', async () => {
    const file = join(dir, 'decisions.db');
    const store = new SqliteStore({ file });
    const decision = (n: number, createdAt: number, expiresAt: number): Decision => ({
      id: `dec-${n}`,
      action: 'block',
      scope: 'ip',
      value: `192.0.2.${n}`,
      reason: { ruleId: 'r', alertId: `alert-${n}`, responseRule: 0, summary: 's' },
      createdAt,
      expiresAt,
      level: 0,
      version: 0,
    });
    const list = [
      decision(1, OLD - DAY, OLD), // expired before the cutoff: goes
      decision(2, OLD, NOW + DAY), // in force: stays
      decision(3, OLD, RECENT), // expired inside the window: stays
      decision(4, OLD - DAY, NOW + 400 * DAY), // revoked before the cutoff: goes
      decision(5, OLD, NOW + 400 * DAY), // revoked inside the window: stays
      decision(6, OLD - DAY, OLD - 1), // expired before the cutoff, the latest version: goes
    ];
    for (const d of list) assert.equal(await store.insertDecision(d), true);
    await store.revokeDecision({ ...list[3]!, revoked: { at: OLD, actor: 'carol', tokenId: 't' } });
    await store.revokeDecision({ ...list[4]!, revoked: { at: RECENT, actor: 'carol', tokenId: 't' } });
    await store.revokeDecision({ ...list[5]!, revoked: { at: OLD - DAY, actor: 'carol', tokenId: 't' } });
    const { version } = await store.decisionClock(NOW);
    assert.equal(version, 9);

    assert.equal((await store.deleteEndedBefore(CUTOFF)).decisions, 3);
    assert.deepEqual(rows(file, 'SELECT id FROM decisions ORDER BY id'), ['dec-2', 'dec-3', 'dec-5']);
    assert.equal(await store.getDecision('dec-6'), undefined);
    // The latest version was deleted: the counter still goes on from it, and the clock tells of the cut.
    assert.deepEqual(await store.decisionClock(NOW), { version: 9, nextExpiry: NOW + DAY, deletedBefore: CUTOFF });
    assert.equal(await store.insertDecision(decision(7, NOW, NOW + DAY)), true);
    assert.equal((await store.getDecision('dec-7'))!.version, 10);
    await store.close();
  });

  test('silences that ended before the cutoff go, from the store and from the server memory', async () => {
    const file = join(dir, 'silences.db');
    const store = new SqliteStore({ file });
    const silences = new Silences(store, () => NOW);
    const make = async (startsAt: number, endsAt: number) =>
      (
        await silences.create({
          matchers: ['client.address="192.0.2.1"'],
          startsAt,
          endsAt,
          createdBy: 'a',
          comment: 'c',
        })
      ).id;
    await make(OLD - DAY, OLD); // ended before the cutoff: goes
    const recent = await make(OLD, RECENT);
    const active = await make(OLD, NOW + DAY);
    const pending = await make(NOW + DAY, NOW + 2 * DAY);

    assert.equal((await store.deleteEndedBefore(CUTOFF)).silences, 1);
    silences.forgetEndedBefore(CUTOFF);
    const kept = [recent, active, pending].sort();
    assert.deepEqual((await store.listSilences()).map((s) => s.id).sort(), kept);
    assert.deepEqual(
      silences
        .list()
        .map((s) => s.id)
        .sort(),
      kept,
    );
    await store.close();
  });
});

describe('alert retention on the server', () => {
  /** A data directory whose store holds an alert resolved 40 days ago, with its notification, and an open one. */
  async function dataDirWithOldAlerts(): Promise<string> {
    const dataDir = tempDir();
    const now = Date.now();
    const store = new SqliteStore({ file: join(dataDir, DATABASE_FILE) });
    await store.appendEvents([{ id: 'e1', time: now - 40 * DAY, type: 'authn_login_fail', attributes: {} }]);
    await store.saveAlerts([alert(1, 'resolved', now - 40 * DAY), alert(2, 'resolved', now - 40 * DAY)]);
    await store.saveAlerts([alert(3, 'firing', now - 40 * DAY)]);
    await store.addNotifications([notification('alert-1', 'delivered')]);
    await store.close();
    return dataDir;
  }

  test('storage.retentionDays alone ages out alerts too: deleted at start-up, counted, logged, gone from the API', async () => {
    const dataDir = await dataDirWithOldAlerts();
    const infos: [string, Record<string, unknown> | undefined][] = [];
    const log = { ...silentLogger, info: (msg: string, fields?: Record<string, unknown>) => infos.push([msg, fields]) };
    const server = await startTestServer({ storage: { retentionDays: 30 } }, { dataDir, log });
    try {
      await eventually(async () => assert.equal(server.metrics.alertsDeleted.get(), 2));
      assert.equal(server.metrics.eventsDeleted.get(), 1);
      const runs = infos.filter(([msg]) => msg === 'retention deleted ended alerts, decisions and silences');
      assert.equal(runs.length, 1);
      assert.deepEqual(
        { ...runs[0]![1], cutoff: undefined },
        {
          alerts: 2,
          notifications: 1,
          decisions: 0,
          silences: 0,
          cutoff: undefined,
        },
      );
      for (const path of ['/api/v1/alerts/alert-1', '/api/v1/alerts/alert-1/history']) {
        const res = await server.get(path);
        assert.equal(res.status, 404, path);
        assert.match(((await res.json()) as { error: { message: string } }).error.message, /no alert with id/);
      }
      const ack = await fetch(`${server.url}/api/v1/alerts/alert-2/acknowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor: 'alice' }),
      });
      assert.equal(ack.status, 404);
      const list = await server.get('/api/v1/alerts');
      assert.equal(list.status, 200);
      assert.deepEqual(
        ((await list.json()) as { alerts: { id: string }[] }).alerts.map((a) => a.id),
        ['alert-3'],
      );
    } finally {
      await server.stop();
    }
  });

  test('storage.alertRetentionDays alone deletes the alerts and keeps every event', async () => {
    const dataDir = await dataDirWithOldAlerts();
    const server = await startTestServer({ storage: { alertRetentionDays: 30 } }, { dataDir, keepData: true });
    await eventually(async () => assert.equal(server.metrics.alertsDeleted.get(), 2));
    await server.stop();
    const file = join(dataDir, DATABASE_FILE);
    assert.deepEqual(rows(file, 'SELECT id FROM events'), ['e1']);
    assert.deepEqual(rows(file, 'SELECT id FROM alerts'), ['alert-3']);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('without either key every alert is kept', async () => {
    const dataDir = await dataDirWithOldAlerts();
    const server = await startTestServer({}, { dataDir, keepData: true });
    await server.stop();
    assert.equal(server.metrics.alertsDeleted.get(), 0);
    assert.equal(rows(join(dataDir, DATABASE_FILE), 'SELECT id FROM alerts').length, 3);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
