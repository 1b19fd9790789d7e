/**
 * The notification policy's timers look at every open alert each second: each alert is routed once per routing
 * tree, not on every pass, and inhibition reads the manager's open alerts without a copy.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Detection } from '@vigil/engine';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import { tempDir } from '../testing/harness.js';
import type { Alert } from './alert.js';
import { AlertManager } from './manager.js';
import { type Matcher, parseMatcher } from './matchers.js';
import { NotificationPolicy } from './policy.js';
import type { RouteConfig } from './routing.js';
import { Silences } from './silences.js';

const HOUR = 3_600_000;

/** A matcher (`severity="high"` unless told) that counts how often it is asked. */
function countingMatcher(text = 'severity="high"'): Matcher & { calls: number } {
  const inner = parseMatcher(text);
  const counting = {
    ...inner,
    calls: 0,
    matches(labels: Readonly<Record<string, string>>) {
      counting.calls++;
      return inner.matches(labels);
    },
  };
  return counting;
}

/** Run `fn` with a store in a directory of its own, removed afterwards. */
async function withStore(fn: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  try {
    await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function tree(matcher: Matcher, receiver: string, repeatIntervalMillis: number): RouteConfig {
  return {
    matchers: [],
    receivers: ['ops'],
    continue: false,
    routes: [{ matchers: [matcher], receivers: [receiver], continue: false, repeatIntervalMillis, routes: [] }],
  };
}

function alert(n: number, createdAt: number): Alert {
  return {
    id: `alert-${n}`,
    fingerprint: `fp-${n}`,
    status: 'firing',
    rule: { id: 'vigil-authn-brute-force', title: 'Repeated failed logins' },
    severity: 'high',
    labels: { rule: 'vigil-authn-brute-force', severity: 'high', 'client.address': `198.51.100.${n}` },
    tags: ['attack.t1110'],
    startsAt: createdAt,
    lastSeenAt: createdAt,
    eventCount: 1,
    summary: 'Repeated failed logins',
    evidence: [],
    updatedAt: createdAt,
    createdAt,
  };
}

const AT = Date.UTC(2026, 10, 27, 9);

/** A detection of `ruleId` for one client address, at AT. */
function detection(ruleId: string, address: string, severity: 'critical' | 'medium' = 'medium'): Detection {
  return {
    ruleId,
    ruleTitle: ruleId,
    severity,
    groupLabels: { 'client.address': address },
    eventIds: [`${ruleId}-${address}`],
    firstTime: AT,
    lastTime: AT,
    eventCount: 1,
    summary: ruleId,
    tags: [],
  };
}

/** An alert manager on `store`, and its metrics. */
function managed(store: SqliteStore): { metrics: ReturnType<typeof createMetrics>; manager: AlertManager } {
  const metrics = createMetrics();
  return {
    metrics,
    manager: new AlertManager({ store, log: silentLogger, metrics, resolveAfterMillis: 600_000, maxEvidence: 10 }),
  };
}

test('the timers route each open alert once per routing tree, and a new tree applies at once', () =>
  withStore(async (store) => {
    let now = Date.UTC(2026, 10, 27, 9);
    const first = countingMatcher();
    const policy = new NotificationPolicy({
      root: tree(first, 'security', 0),
      inhibitRules: [],
      silences: new Silences(store, () => now),
      store,
      metrics: createMetrics(),
      log: silentLogger,
      now: () => now,
    });
    const open = Array.from({ length: 20 }, (_, n) => alert(n, now));
    for (let pass = 0; pass < 5; pass++) {
      now += 1000;
      assert.deepEqual(await policy.due(open), [], 'no repeat interval: nothing due');
    }
    assert.equal(first.calls, 20, 'one routing per alert over five passes');

    const second = countingMatcher();
    policy.setRouting({ route: tree(second, 'pager', HOUR), inhibitRules: [] });
    now += HOUR;
    const due = await policy.due(open);
    assert.equal(second.calls, 20);
    assert.equal(due.length, 20, 'the new tree repeats every alert');
    assert.deepEqual(
      due.map((d) => d.targets.map((t) => t.receiver).join()),
      Array(20).fill('pager'),
    );
  }));

test("inhibition reads the manager's open alerts for every rule, without a copy", () =>
  withStore(async (store) => {
    const { metrics, manager } = managed(store);
    const policy = new NotificationPolicy({
      root: { matchers: [], receivers: ['ops'], continue: false, routes: [] },
      inhibitRules: [
        // The first rule reads every open alert and mutes nothing; the second must still see them all.
        {
          sourceMatchers: [parseMatcher('severity="critical"')],
          targetMatchers: [parseMatcher('severity="high"')],
          equal: [],
        },
        {
          sourceMatchers: [parseMatcher('rule="vigil-outage"')],
          targetMatchers: [parseMatcher('severity="high"')],
          equal: ['client.address'],
        },
      ],
      silences: new Silences(store),
      store,
      metrics,
      log: silentLogger,
    });
    await manager.handle([detection('vigil-outage', '198.51.100.7'), detection('vigil-other', '198.51.100.8')]);
    const muted = { ...alert(7, AT), id: 'muted' };
    const heard = { ...alert(9, AT), id: 'heard' };
    assert.deepEqual(await policy.targetsFor(muted, 'opened', manager.openView), []);
    assert.deepEqual(
      (await policy.targetsFor(heard, 'opened', manager.openView)).map((t) => t.receiver),
      ['ops'],
    );
    assert.equal(metrics.notificationsSuppressed.get({ reason: 'inhibited' }), 1);
  }));

test('inhibition looks at each open alert once per rule and pass, not once per alert it checks', () =>
  withStore(async (store) => {
    const metrics = createMetrics();
    let now = Date.UTC(2026, 10, 27, 9);
    const source = countingMatcher('severity="critical"');
    const policy = new NotificationPolicy({
      root: tree(parseMatcher('severity="high"'), 'security', HOUR),
      inhibitRules: [
        { sourceMatchers: [source], targetMatchers: [parseMatcher('severity="high"')], equal: ['client.address'] },
      ],
      silences: new Silences(store, () => now),
      store,
      metrics,
      log: silentLogger,
      now: () => now,
    });
    // 400 high alerts, one address each; a critical one for every fourth address mutes that address's high alert.
    const open = Array.from({ length: 400 }, (_, n) => alert(n, now));
    for (let n = 0; n < 400; n += 4) {
      open.push({
        ...alert(n, now),
        id: `critical-${n}`,
        fingerprint: `critical-${n}`,
        labels: { ...alert(n, now).labels, severity: 'critical' },
      });
    }
    now += HOUR;
    const due = await policy.due(open);
    // Before, each of the 400 checks read every open alert: 200 000 calls of the source matcher.
    assert.ok(source.calls <= open.length, `${source.calls} source matcher calls for ${open.length} open alerts`);
    assert.deepEqual(
      due.map((d) => d.alert.id),
      open.filter((a, n) => a.labels.severity === 'high' && n % 4 !== 0).map((a) => a.id),
      'every fourth address muted, the others repeated',
    );
    assert.equal(metrics.notificationsSuppressed.get({ reason: 'inhibited' }), 100);
  }));

test("one index serves the alert changes of one generation of the manager's open alerts, and a change makes a new one", () =>
  withStore(async (store) => {
    const { metrics, manager } = managed(store);
    const source = countingMatcher('severity="critical"');
    const policy = new NotificationPolicy({
      root: { matchers: [], receivers: ['ops'], continue: false, routes: [] },
      inhibitRules: [
        { sourceMatchers: [source], targetMatchers: [parseMatcher('severity="high"')], equal: ['client.address'] },
      ],
      silences: new Silences(store),
      store,
      metrics,
      log: silentLogger,
    });
    await manager.handle([
      detection('rule-critical', '198.51.100.7', 'critical'),
      ...Array.from({ length: 30 }, (_, n) => detection('rule-medium', `203.0.113.${n}`)),
    ]);
    const high = (n: number) => ({ ...alert(n, AT), id: `high-${n}` });
    for (let n = 0; n < 50; n++) await policy.targetsFor(high(n), 'opened', manager.openView);
    assert.equal(source.calls, 31, 'the 31 open alerts were read once for 50 checks');
    assert.deepEqual(await policy.targetsFor(high(7), 'opened', manager.openView), [], 'muted by the critical one');

    // The critical alert is resolved: the next check reads the open alerts again, and no longer finds it.
    const critical = manager.openAlerts().find((a) => a.severity === 'critical')!;
    await manager.resolve(critical.id, { name: 'ann', tokenId: 'test' });
    assert.deepEqual(
      (await policy.targetsFor(high(7), 'opened', manager.openView)).map((t) => t.receiver),
      ['ops'],
    );
    assert.equal(source.calls, 31 + 30);
  }));
