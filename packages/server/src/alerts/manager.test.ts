/**
 * The alert manager's listeners (notifications, decisions) each hear of every change, whatever another one does.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Detection } from '@vigil/engine';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import { tempDir } from '../testing/harness.js';
import { AlertManager, type AlertManagerOptions } from './manager.js';

const detection = (address: string): Detection => ({
  ruleId: 'vigil-authn-brute-force',
  ruleTitle: 'Repeated failed logins',
  severity: 'high',
  groupLabels: { 'client.address': address },
  eventIds: [`e-${address}`],
  firstTime: Date.UTC(2026, 10, 27, 9),
  lastTime: Date.UTC(2026, 10, 27, 9),
  eventCount: 5,
  summary: `5 failed logins from ${address}`,
  tags: [],
});

/** An alert manager on `store` that keeps 3 evidence ids per alert and logs nothing, unless `options` say otherwise. */
const managerOn = (store: SqliteStore, options: Partial<AlertManagerOptions> = {}) =>
  new AlertManager({
    store,
    log: silentLogger,
    metrics: createMetrics(),
    resolveAfterMillis: 600_000,
    maxEvidence: 3,
    ...options,
  });

test('a listener that fails is logged and counted; the next one still hears of the change', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const metrics = createMetrics();
  const errors: string[] = [];
  const manager = managerOn(store, {
    log: { ...silentLogger, error: (msg, fields) => errors.push(`${msg}: ${fields?.error}`) },
    metrics,
    maxEvidence: 10,
  });
  const heard: string[] = [];
  manager.onChange(async (alert) => {
    if (alert.labels['client.address'] === '198.51.100.9') throw new Error('the notification store is locked');
  });
  manager.onChange((alert, change) => {
    heard.push(`${change} ${alert.labels['client.address']}`);
  });
  try {
    // Two alerts opened in one batch: the first one's failure stops neither its decision nor the second alert.
    await manager.handle([detection('198.51.100.9'), detection('198.51.100.77')]);
    assert.deepEqual(heard, ['opened 198.51.100.9', 'opened 198.51.100.77']);
    assert.deepEqual(errors, ['acting on an alert change failed: the notification store is locked']);
    assert.match(metrics.registry.render(), /vigil_alert_listener_failures_total\{change="opened"\} 1/);
    assert.equal((await store.openAlerts()).length, 2, 'both alerts are saved');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a change a listener failed on stays stored and is told again, to every listener, before the later changes of its alert', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const manager = managerOn(store);
  let failing = true;
  const heard: string[] = [];
  manager.onChange((alert, change) => {
    if (failing && change === 'opened' && alert.labels['client.address'] === '198.51.100.9') {
      throw new Error('the notification store is full');
    }
    heard.push(`${change} ${alert.labels['client.address']}`);
  });
  try {
    await manager.handle([detection('198.51.100.9'), detection('198.51.100.77')]);
    const [first] = manager.openAlerts();
    await manager.acknowledge(first!.id, { name: 'alice', tokenId: 't' });
    // The acknowledgement waits behind its alert's opening; the other alert is told at once.
    assert.deepEqual(heard, ['opened 198.51.100.77']);
    assert.deepEqual(
      (await store.pendingAnnouncements()).map((a) => `${a.change} ${a.alert.status}`),
      ['opened firing', 'acknowledged acknowledged'],
    );
    assert.equal(manager.unannounced, 2);

    failing = false;
    await manager.announcePending();
    assert.deepEqual(heard, ['opened 198.51.100.77', 'opened 198.51.100.9', 'acknowledged 198.51.100.9']);
    assert.deepEqual(await store.pendingAnnouncements(), []);
    assert.equal(manager.unannounced, 0);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('changes told to no listener before a restart are told by the next manager on the store, in order', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  try {
    // The first manager stores changes and dies before any listener took them (it has none).
    const first = managerOn(store);
    first.onChange(() => {
      throw new Error('killed');
    });
    await first.handle([detection('198.51.100.9')]);
    const [alert] = first.openAlerts();
    await first.resolve(alert!.id, { name: 'bob', tokenId: 't' });

    const second = managerOn(store);
    const heard: string[] = [];
    second.onChange((a, change) => {
      heard.push(`${change} ${a.id === alert!.id} ${a.status}`);
    });
    assert.equal(await second.restore(), 0);
    await second.announcePending();
    assert.deepEqual(heard, ['opened true firing', 'resolved true resolved']);
    assert.deepEqual(await store.pendingAnnouncements(), []);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An alert manager that holds at most 10 open alerts. */
const boundedManager = (store: SqliteStore, metrics: ReturnType<typeof createMetrics>) =>
  managerOn(store, { metrics, maxEvidence: 10, maxOpenAlerts: 10 });

test('open alerts are bounded: a flood of new ones resolves the least recently seen early, counted and told', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const metrics = createMetrics();
  const manager = boundedManager(store, metrics);
  const heard: string[] = [];
  manager.onChange((alert, change) => {
    heard.push(`${change} ${alert.labels['client.address']}`);
  });
  try {
    // An incident under way (seen again after every few new alerts), and a flood of one-event alerts.
    const incident = (n: number): Detection => ({ ...detection('203.0.113.1'), eventIds: [`incident-${n}`] });
    await manager.handle([incident(0)]);
    for (let i = 0; i < 40; i++) {
      await manager.handle([detection(`198.51.100.${i}`)]);
      if (i % 5 === 4) await manager.handle([incident(i)]);
    }
    assert.equal(manager.openAlerts().length, 10);
    assert.ok(
      manager.openAlerts().some((a) => a.labels['client.address'] === '203.0.113.1'),
      'the incident still seen is not the one resolved',
    );
    const evicted = metrics.alertsEvicted.get({ rule: 'vigil-authn-brute-force' });
    assert.equal(evicted, 31, '41 opened, 10 still open');
    assert.equal(heard.filter((h) => h.startsWith('resolved')).length, evicted, 'receivers hear of each resolution');
    assert.ok(heard.includes('resolved 198.51.100.0'), 'the first of the flood went first');
    const stored = await store.listAlerts({ status: 'resolved', limit: 100 });
    assert.equal(stored.items.length, evicted);
    for (const alert of stored.items) assert.equal(alert.endsAt, alert.lastSeenAt, 'ended in event time');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch that opens more alerts than the bound tells every opening; the next batch brings it back', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const metrics = createMetrics();
  const manager = boundedManager(store, metrics);
  const heard: string[] = [];
  manager.onChange((_alert, change) => {
    heard.push(change);
  });
  try {
    await manager.handle(Array.from({ length: 15 }, (_, i) => detection(`198.51.100.${i}`)));
    assert.equal(heard.filter((c) => c === 'opened').length, 15);
    assert.equal(heard.filter((c) => c === 'resolved').length, 0);
    await manager.handle([detection('203.0.113.1')]);
    assert.equal(manager.openAlerts().length, 10);
    assert.equal(heard.filter((c) => c === 'resolved').length, 6);
    assert.equal(metrics.alertsRaised.get({ rule: 'vigil-authn-brute-force', severity: 'high' }), 16);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evidence ids remembered for de-duplication are bounded over all open alerts', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const warnings: string[] = [];
  const manager = managerOn(store, {
    log: { ...silentLogger, warn: (msg) => warnings.push(msg) },
    maxEvidence: 10,
    maxRememberedEvidence: 5,
  });
  const seen = (address: string, ids: string[]): Detection => ({ ...detection(address), eventIds: ids, eventCount: 1 });
  const count = (address: string) =>
    manager.openAlerts().find((a) => a.labels['client.address'] === address)?.eventCount;
  try {
    await manager.handle([seen('198.51.100.1', ['a1', 'a2', 'a3'])]);
    await manager.handle([seen('198.51.100.2', ['b1', 'b2', 'b3'])]);
    assert.equal(manager.rememberedEvidence, 5, 'b3 is beyond the bound');
    assert.equal(warnings.filter((w) => w.includes('evidence ids')).length, 1);
    // A remembered id is not counted again; one beyond the bound is assumed new each time it comes.
    await manager.handle([seen('198.51.100.2', ['b1'])]);
    assert.equal(count('198.51.100.2'), 1);
    await manager.handle([seen('198.51.100.2', ['b3'])]);
    await manager.handle([seen('198.51.100.2', ['b3'])]);
    assert.equal(count('198.51.100.2'), 3);
    // Resolving an alert forgets its ids and makes room.
    const first = manager.openAlerts().find((a) => a.labels['client.address'] === '198.51.100.1');
    assert.ok(first);
    await manager.resolve(first.id, { name: 'alice', tokenId: 't1' });
    assert.equal(manager.rememberedEvidence, 2);
    await manager.handle([seen('198.51.100.2', ['b4'])]);
    await manager.handle([seen('198.51.100.2', ['b4'])]);
    assert.equal(count('198.51.100.2'), 4, 'b4 is remembered now');
    assert.equal(manager.rememberedEvidence, 3);
    await manager.resolveQuiet(Date.UTC(2026, 10, 28));
    assert.equal(manager.rememberedEvidence, 0);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('a resolved alert seen again', () => {
  const brute = (ids: string[], first: number, last = first): Detection => ({
    ...detection('198.51.100.9'),
    eventIds: ids,
    firstTime: first,
    lastTime: last,
    eventCount: ids.length,
  });
  const T = Date.UTC(2026, 10, 27, 9);

  async function withManager(run: (manager: AlertManager, store: SqliteStore) => Promise<void>) {
    const dir = tempDir();
    const store = new SqliteStore({ file: join(dir, 'vigil.db') });
    const manager = managerOn(store);
    try {
      await run(manager, store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('its own evidence again opens nothing; new evidence from the same moment opens an alert of its own', async () => {
    await withManager(async (manager, store) => {
      const opened: string[] = [];
      manager.onChange((alert, change) => {
        if (change === 'opened') opened.push(alert.id);
      });
      await manager.handle([brute(['e1', 'e2', 'e3'], T)]);
      const [first] = opened;
      await manager.resolve(first!, { name: 'bob', tokenId: 't' });
      await manager.handle([brute(['e1', 'e2', 'e3'], T)]);
      assert.deepEqual(opened, [first], 'the closed incident is not reopened by its own evidence');
      // A further failure stamped with the same second as the first one: a new incident.
      await manager.handle([brute(['e1', 'e2', 'e3', 'e4'], T)]);
      assert.equal(opened.length, 2);
      assert.notEqual(opened[1], first, 'an id of its own');
      const closed = await store.getAlert(first!);
      assert.deepEqual(
        [closed?.status, closed?.eventCount],
        ['resolved', 3],
        'the resolved incident is kept as it was',
      );
    });
  });

  test('catching up after a crash: a resolved alert stays resolved, an open one does not count its events twice', async () => {
    await withManager(async (manager, store) => {
      await manager.handle([brute(['a1', 'a2', 'a3'], T, T + 1000)]);
      const resolvedId = (await store.openAlerts())[0]!.id;
      await manager.resolve(resolvedId, { name: 'bob', tokenId: 't' });
      const other = { ...detection('198.51.100.10'), firstTime: T, lastTime: T + 5000 };
      await manager.handle([{ ...other, eventIds: ['b1', 'b2', 'b3', 'b4', 'b5'], eventCount: 5 }]);
      const opened: string[] = [];
      manager.onChange((alert, change) => {
        opened.push(`${change} ${alert.id}`);
      });
      // The same events, detected again from the store after a restart (with more ids than maxEvidence kept).
      manager.replaying = true;
      await manager.handle([brute(['a1', 'a2', 'a3'], T, T + 1000)]);
      await manager.handle([{ ...other, eventIds: ['b4', 'b5', 'b6'], eventCount: 3 }]);
      manager.replaying = false;
      assert.deepEqual(opened, []);
      assert.equal((await store.getAlert(resolvedId))?.status, 'resolved');
      const open = (await store.openAlerts()).find((a) => a.labels['client.address'] === '198.51.100.10');
      assert.equal(open?.eventCount, 5);
    });
  });
});

test('an acknowledgement racing a resolve answers and notifies "acknowledged", the store ends resolved', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const manager = managerOn(store);
  const heard: string[] = [];
  manager.onChange((alert, change) => {
    heard.push(`${change}:${alert.status}`);
  });
  try {
    await manager.handle([detection('198.51.100.9')]);
    const [alert] = await store.openAlerts();
    // The resolve runs while the acknowledgement is being stored.
    const [acked, resolved] = await Promise.all([
      manager.acknowledge(alert!.id, { name: 'alice', tokenId: 't' }),
      manager.resolve(alert!.id, { name: 'bob', tokenId: 't' }),
    ]);
    assert.equal(acked.status, 'acknowledged');
    assert.equal(resolved.status, 'resolved');
    assert.deepEqual(heard, ['opened:firing', 'acknowledged:acknowledged', 'resolved:resolved']);
    assert.equal((await store.getAlert(alert!.id))?.status, 'resolved');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
