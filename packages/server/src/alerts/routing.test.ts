import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { eventually, failedLogins, startReceiver, startTestServer } from '../testing/harness.js';
import type { Alert } from './alert.js';
import { parseMatcher } from './matchers.js';
import { InhibitionIndex, type InhibitRule, route } from './routing.js';

const alert = (labels: Record<string, string>, extra: Partial<Alert> = {}): Alert => ({
  id: `a-${JSON.stringify(labels)}`,
  fingerprint: 'f',
  status: 'firing',
  rule: { id: labels.rule ?? 'r', title: 't' },
  severity: 'high',
  labels,
  tags: ['owasp.api2:2023'],
  startsAt: 0,
  lastSeenAt: 0,
  eventCount: 1,
  summary: 's',
  evidence: [],
  updatedAt: 0,
  createdAt: 0,
  ...extra,
});

const receivers = ['a', 'b', 'c', 'pager'].map((name) => ({ type: 'webhook', name, url: `https://${name}.example/h` }));

describe('matchers', () => {
  test('equal, not equal, anchored regex and negated regex; a missing label is empty', () => {
    assert.equal(parseMatcher('severity="high"').matches({ severity: 'high' }), true);
    assert.equal(parseMatcher('severity!="high"').matches({ severity: 'high' }), false);
    assert.equal(parseMatcher('severity=~"high|critical"').matches({ severity: 'critical' }), true);
    assert.equal(parseMatcher('severity=~"hi"').matches({ severity: 'high' }), false, 'anchored');
    assert.equal(parseMatcher("team!~'pay.*'").matches({ team: 'search' }), true);
    assert.equal(parseMatcher('team=""').matches({}), true);
    assert.throws(() => parseMatcher('severity'), /not a matcher/);
    assert.throws(() => parseMatcher('x=~"("'), /invalid regular expression/);
  });
});

describe('routing tree', () => {
  const config = buildConfig(
    {
      notify: { receivers },
      alerting: {
        route: {
          receiver: 'a',
          repeatInterval: '4h',
          routes: [
            {
              matchers: ['severity=~"high|critical"'],
              receiver: 'pager',
              continue: true,
              escalate: { after: '15m', receiver: 'c' },
            },
            { matchers: ['tags=~".*api2.*"'], receiver: 'b' },
            { matchers: ['rule="never"'], receiver: 'c' },
          ],
        },
        inhibitRules: [
          {
            sourceMatchers: ['severity="critical"'],
            targetMatchers: ['severity=~"low|medium"'],
            equal: ['client.address'],
          },
        ],
      },
    },
    {},
  );

  test('first match wins unless it continues; unmatched alerts fall back to the parent receiver', () => {
    const high = route(config.alerting.route, alert({ rule: 'x', severity: 'high' }));
    assert.deepEqual(high.receivers.sort(), ['b', 'pager']);
    assert.deepEqual(high.escalations, [{ afterMillis: 900_000, receivers: ['c'] }]);
    assert.equal(high.repeatIntervalMillis, 14_400_000);
    const low = route(config.alerting.route, alert({ rule: 'x', severity: 'low' }, { tags: [] }));
    assert.deepEqual(low.receivers, ['a']);
  });

  test('an escalation is inherited by child routes, as the repeat interval is', () => {
    const parent = buildConfig(
      {
        notify: { receivers },
        alerting: {
          route: {
            receiver: 'a',
            escalate: { after: '10m', receiver: 'c' },
            routes: [
              { matchers: ['severity="high"'], receiver: 'b' },
              { matchers: ['severity="critical"'], receiver: 'pager', escalate: { after: '5m', receiver: 'c' } },
            ],
          },
        },
      },
      {},
    ).alerting.route;
    assert.deepEqual(route(parent, alert({ rule: 'x', severity: 'high' })).escalations, [
      { afterMillis: 600_000, receivers: ['c'] },
    ]);
    assert.deepEqual(route(parent, alert({ rule: 'x', severity: 'critical' })).escalations, [
      { afterMillis: 300_000, receivers: ['c'] },
    ]);
  });

  test('a critical alert inhibits lower ones for the same source only', () => {
    const critical = alert({ severity: 'critical', 'client.address': '192.0.2.1' });
    const medium = alert({ severity: 'medium', 'client.address': '192.0.2.1' });
    const other = alert({ severity: 'medium', 'client.address': '192.0.2.2' });
    const inhibits = (target: Alert, open: Alert[]) =>
      new InhibitionIndex(config.alerting.inhibitRules, open).inhibits(target);
    assert.equal(inhibits(medium, [critical, medium]), true);
    assert.equal(inhibits(other, [critical, other]), false);
    assert.equal(inhibits(critical, [critical, medium]), false);
    assert.equal(
      inhibits(medium, [{ ...critical, status: 'resolved' }, medium]),
      false,
      'a resolved source mutes nothing',
    );
  });

  test('the inhibition index mutes exactly what a look at every open alert would', () => {
    // The reading it must agree with: another open alert that matches a rule's source, with the same `equal`
    // labels (absent counts as empty on both sides), mutes an alert that matches the rule's target.
    const reference = (target: Alert, open: Alert[], rules: readonly InhibitRule[]) =>
      rules.some(
        (rule) =>
          rule.targetMatchers.every((m) => m.matches({ ...target.labels, tags: target.tags.join(',') })) &&
          open.some(
            (other) =>
              other.id !== target.id &&
              other.status !== 'resolved' &&
              rule.sourceMatchers.every((m) => m.matches({ ...other.labels, tags: other.tags.join(',') })) &&
              rule.equal.every((l) => (other.labels[l] ?? '') === (target.labels[l] ?? '')),
          ),
      );
    const rules: InhibitRule[] = [
      {
        sourceMatchers: [parseMatcher('severity="critical"')],
        targetMatchers: [parseMatcher('severity=~"high|medium"')],
        equal: ['client.address', 'service'],
      },
      // Source and target overlap: an alert may match both, and must not mute itself.
      { sourceMatchers: [parseMatcher('rule="outage"')], targetMatchers: [parseMatcher('service="shop"')], equal: [] },
      { sourceMatchers: [parseMatcher('tags=~".*t1110.*"')], targetMatchers: [], equal: ['user.id'] },
    ];
    let seed = 7;
    const pick = <T>(values: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return values[seed % values.length]!;
    };
    for (let round = 0; round < 200; round++) {
      const open = Array.from({ length: 12 }, (_, n) => {
        const labels: Record<string, string> = { severity: pick(['critical', 'high', 'medium', 'low']) };
        for (const [name, values] of [
          ['client.address', ['192.0.2.1', '192.0.2.2', '']],
          ['service', ['shop', 'auth', '']],
          ['user.id', ['u1', 'u2', '']],
          ['rule', ['outage', 'other']],
        ] as const) {
          const value = pick(values);
          if (value !== '') labels[name] = value;
        }
        return alert(labels, {
          id: `r${round}-${n}`,
          status: pick(['firing', 'acknowledged', 'resolved'] as const),
          tags: [pick(['attack.t1110', 'attack.t1190'])],
        });
      });
      const index = new InhibitionIndex(rules, open);
      for (const target of open) {
        assert.equal(index.inhibits(target), reference(target, open, rules), JSON.stringify({ target, open }));
      }
    }
  });

  test('bad routing configuration names the key', () => {
    const bad = (alerting: unknown, key: RegExp) =>
      assert.throws(
        () => buildConfig({ notify: { receivers }, alerting }, {}),
        (e: unknown) => e instanceof ConfigError && key.test(e.key),
      );
    bad({ route: { receiver: 'nobody' } }, /^alerting\.route\.receiver$/);
    bad({ route: { routes: [{ matchers: ['bad'] }] } }, /^alerting\.route\.routes\[0\]\.matchers\[0\]$/);
    bad({ route: { repeatInterval: 'soon' } }, /^alerting\.route\.repeatInterval$/);
    bad({ route: { recievers: ['a'] } }, /^alerting\.route\.recievers$/);
    bad({ inhibitRules: [{ sourceMatchers: ['a="b"'] }] }, /^alerting\.inhibitRules\[0\]$/);
  });
});

describe('routing, silences, repeats and escalation on a running server', () => {
  test('routes by severity, silences by API, repeats and escalates on timers', async () => {
    const team = await startReceiver();
    const pager = await startReceiver();
    const boss = await startReceiver();
    const server = await startTestServer(
      {
        notify: {
          receivers: [
            { type: 'webhook', name: 'team', url: team.url, allowPrivateNetwork: true },
            { type: 'webhook', name: 'pager', url: pager.url, allowPrivateNetwork: true },
            { type: 'webhook', name: 'boss', url: boss.url, allowPrivateNetwork: true },
          ],
        },
        alerting: {
          route: {
            receiver: 'team',
            routes: [
              {
                matchers: ['severity="high"'],
                receiver: 'pager',
                repeatInterval: '400ms',
                escalate: { after: '300ms', receiver: 'boss' },
              },
            ],
          },
        },
      },
      { timerMillis: 50 },
    );
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    try {
      // A silence for one source: its alert is raised but nobody is told.
      const created = await api('POST', '/api/v1/silences', {
        matchers: ['client.address="203.0.113.101"'],
        durationMillis: 60_000,
        createdBy: 'carol',
        comment: 'pen test from this address until noon',
      });
      assert.equal(created.status, 201);
      const silence = (await created.json()) as { id: string; state: string };
      assert.equal(silence.state, 'active');
      assert.equal(
        (await api('POST', '/api/v1/silences', { matchers: ['bad'], durationMillis: 1, createdBy: 'x', comment: 'y' }))
          .status,
        400,
      );

      await server.post('/v1/events', failedLogins(5, '203.0.113.101', 'u', Date.now() - 1000), {
        'content-type': 'application/x-ndjson',
      });
      await eventually(async () => {
        const list = (await (await server.get('/api/v1/alerts?rule=vigil-authn-brute-force')).json()) as {
          alerts: unknown[];
        };
        assert.equal(list.alerts.length, 1);
      });
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(pager.received.length + team.received.length + boss.received.length, 0, 'silenced');
      assert.ok(server.metrics.notificationsSuppressed.get({ reason: 'silenced' }) >= 1);

      // A high alert from another source goes to the pager only, repeats, and escalates to the boss once.
      await server.post('/v1/events', failedLogins(5, '203.0.113.102', 'v', Date.now() - 1000), {
        'content-type': 'application/x-ndjson',
      });
      await pager.waitFor(2, 5000);
      await boss.waitFor(1, 5000);
      assert.deepEqual(
        pager.received.slice(0, 2).map((r) => JSON.parse(r.body).change),
        ['opened', 'repeat'],
      );
      assert.equal(JSON.parse(boss.received[0]!.body).change, 'escalated');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(boss.received.length, 1, 'escalated once');
      assert.equal(team.received.length, 0);

      // Expiring the silence early is recorded.
      const expired = await api('DELETE', `/api/v1/silences/${silence.id}`, { actor: 'carol' });
      const body = (await expired.json()) as { state: string; expiredBy: string };
      assert.deepEqual([body.state, body.expiredBy], ['expired', 'carol']);
      const listed = (await (await api('GET', '/api/v1/silences?state=expired')).json()) as { silences: unknown[] };
      assert.equal(listed.silences.length, 1);
    } finally {
      await server.stop();
      await Promise.all([team.close(), pager.close(), boss.close()]);
    }
  });
});

describe('grouping', () => {
  test('alerts sharing the group-by labels go out together after groupWait; later ones wait for groupInterval', async () => {
    const team = await startReceiver();
    const server = await startTestServer({
      notify: { receivers: [{ type: 'webhook', name: 'team', url: team.url, allowPrivateNetwork: true }] },
      alerting: { route: { receiver: 'team', groupBy: ['rule'], groupWait: '400ms', groupInterval: '1500ms' } },
    });
    const fail = (...sources: [address: string, prefix: string][]) =>
      server.post(
        '/v1/events',
        sources.map(([address, prefix]) => failedLogins(5, address, prefix, Date.now() - 1000)).join('\n'),
        { 'content-type': 'application/x-ndjson' },
      );
    try {
      const started = Date.now();
      // Both sources in one request: sent one after the other, a busy machine could put groupWait between them.
      await fail(['203.0.113.151', 'a'], ['203.0.113.152', 'b']);
      const [first] = await team.waitFor(1, 5000);
      assert.ok(first!.at - started >= 350, 'the group waited for more alerts');
      const payload = JSON.parse(first!.body) as {
        change: string;
        group: { labels: Record<string, string>; alerts: { labels: Record<string, string> }[] };
      };
      assert.deepEqual(payload.group.labels, { rule: 'vigil-authn-brute-force' });
      assert.deepEqual(
        payload.group.alerts.map((a) => a.labels['client.address']).sort(),
        ['203.0.113.151', '203.0.113.152'],
        'one notification for both alerts',
      );
      await fail(['203.0.113.153', 'c']);
      const [, second] = await team.waitFor(2, 5000);
      // The interval runs from when the first was due (groupWait after the alerts, so after `started`), not from when
      // it arrived: a first notification held up on a busy machine leaves less than groupInterval between arrivals.
      assert.ok(second!.at - started >= 400 + 1500, `groupInterval respected (${second!.at - started} ms)`);
      const later = JSON.parse(second!.body) as { group: { alerts: { labels: Record<string, string> }[] } };
      assert.deepEqual(
        later.group.alerts.map((a) => a.labels['client.address']),
        ['203.0.113.153'],
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(team.received.length, 2);
    } finally {
      await server.stop();
      await team.close();
    }
  });

  test('an alert that joined a group notification hears of its own resolve too', async () => {
    const team = await startReceiver();
    const server = await startTestServer({
      notify: { receivers: [{ type: 'webhook', name: 'team', url: team.url, allowPrivateNetwork: true }] },
      alerting: { route: { receiver: 'team', groupBy: ['rule'], groupWait: '300ms', groupInterval: '0ms' } },
    });
    try {
      // Both sources in one request: sent one after the other, a busy machine could put groupWait between them.
      const end = Date.now() - 1000;
      await server.post(
        '/v1/events',
        `${failedLogins(5, '203.0.113.171', 'j', end)}\n${failedLogins(5, '203.0.113.172', 'k', end)}`,
        { 'content-type': 'application/x-ndjson' },
      );
      await team.waitFor(1, 5000);
      const opened = JSON.parse(team.received[0]!.body) as { group: { alerts: { id: string }[] } };
      assert.equal(opened.group.alerts.length, 2, 'both alerts in one notification');
      // Resolve the alert that joined the group (not the one the notification was made for).
      for (const alert of opened.group.alerts) {
        const res = await fetch(`${server.url}/api/v1/alerts/${alert.id}/resolve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ actor: 'alice' }),
        });
        assert.equal(res.status, 200);
      }
      await server.dispatcher.idle();
      for (let i = 0; i < 100 && team.received.length < 2; i++) await new Promise((r) => setTimeout(r, 30));
      await new Promise((r) => setTimeout(r, 300));
      await server.dispatcher.idle();
      const resolvedIds = team.received
        .slice(1)
        .flatMap(
          (r) =>
            (JSON.parse(r.body) as { change: string; group: { alerts: { id: string; status: string }[] } }).group
              .alerts,
        )
        .filter((a) => a.status === 'resolved')
        .map((a) => a.id);
      for (const alert of opened.group.alerts) assert.ok(resolvedIds.includes(alert.id), `resolve of ${alert.id} sent`);
    } finally {
      await server.stop();
      await team.close();
    }
  });
});

describe('inhibition', () => {
  test('an inhibited alert does not escalate either', async () => {
    const team = await startReceiver();
    const lead = await startReceiver();
    const server = await startTestServer(
      {
        notify: {
          receivers: [
            { type: 'webhook', name: 'team', url: team.url, allowPrivateNetwork: true },
            { type: 'webhook', name: 'lead', url: lead.url, allowPrivateNetwork: true },
          ],
        },
        alerting: {
          // Only the target escalates: the source would too if it were not acknowledged within 300 ms, which a busy
          // machine does not promise.
          route: {
            receiver: 'team',
            routes: [
              {
                matchers: ['client.address="198.51.100.11"'],
                receiver: 'team',
                escalate: { after: '300ms', receiver: 'lead' },
              },
            ],
          },
          inhibitRules: [
            {
              sourceMatchers: ['client.address="198.51.100.10"'],
              targetMatchers: ['client.address="198.51.100.11"'],
              equal: ['rule'],
            },
          ],
        },
      },
      { timerMillis: 50 },
    );
    const alertFrom = (address: string) =>
      eventually(async () => {
        const { alerts } = (await (await server.get('/api/v1/alerts')).json()) as {
          alerts: { id: string; labels: Record<string, string> }[];
        };
        const found = alerts.find((a) => a.labels['client.address'] === address);
        assert.ok(found);
        return found;
      }, 5000);
    try {
      await server.post('/v1/events', failedLogins(5, '198.51.100.10', 'a', Date.now() - 1000), {
        'content-type': 'application/x-ndjson',
      });
      const source = await alertFrom('198.51.100.10');
      // The source is taken care of (acknowledged), and it stays open.
      const ack = await fetch(`${server.url}/api/v1/alerts/${source.id}/acknowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ actor: 'alice' }),
      });
      assert.equal(ack.status, 200);
      await server.post('/v1/events', failedLogins(5, '198.51.100.11', 'b', Date.now() - 1000), {
        'content-type': 'application/x-ndjson',
      });
      await alertFrom('198.51.100.11');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const escalated = lead.received.map((r) => JSON.parse(r.body) as { alert: { labels: Record<string, string> } });
      assert.deepEqual(
        escalated.map((p) => p.alert.labels['client.address']),
        [],
        'the inhibited alert paged nobody',
      );
    } finally {
      await server.stop();
      await Promise.all([team.close(), lead.close()]);
    }
  });
});
