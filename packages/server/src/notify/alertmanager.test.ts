import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import {
  ALERTMANAGER_BINARY,
  type AlertmanagerProcess,
  alertmanagerAvailable,
  samplePayload,
  startAlertmanager,
} from '../testing/receivers.js';
import {
  AlertmanagerNotifier,
  alertmanagerAlert,
  alertmanagerLabelName,
  parseAlertmanagerOptions,
} from './alertmanager.js';

interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
  status: { state: string };
}

describe('Alertmanager payload', () => {
  test('label names are made Alertmanager-safe; alertname is the rule id; resolved carries endsAt', () => {
    assert.equal(alertmanagerLabelName('client.address'), 'client_address');
    assert.equal(alertmanagerLabelName('1x-y'), '_1x_y');
    const now = Date.parse('2026-11-02T10:00:05.000Z');
    const firing = alertmanagerAlert(samplePayload('opened'), { firingTimeoutMillis: 3_600_000 }, now);
    assert.deepEqual(firing.labels, {
      alertname: 'vigil-authn-brute-force',
      client_address: '203.0.113.9',
      http_route: '/login',
      rule: 'vigil-authn-brute-force',
      severity: 'high',
      user_id: 'alice',
    });
    assert.equal(firing.endsAt, new Date(now + 3_600_000).toISOString());
    assert.equal(firing.annotations.summary, '5 failed logins from 203.0.113.9 within 1 min');
    const resolved = alertmanagerAlert(samplePayload('resolved'), { firingTimeoutMillis: 3_600_000 }, now);
    assert.equal(resolved.endsAt, '2026-11-02T10:15:02.000Z');
  });

  test('bad options name the key', () => {
    assert.throws(
      () => parseAlertmanagerOptions({}, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.url',
    );
    assert.throws(
      () => parseAlertmanagerOptions({ url: 'http://am:9093', firingTimeoutMillis: 5 }, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.firingTimeoutMillis',
    );
  });
});

const skip = alertmanagerAvailable()
  ? false
  : `${ALERTMANAGER_BINARY} not found: install Debian's "prometheus-alertmanager" package (apt-get install -y prometheus-alertmanager) or set VIGIL_ALERTMANAGER_BIN`;

describe('a real Prometheus Alertmanager', { skip }, () => {
  let am: AlertmanagerProcess;
  before(async () => {
    am = await startAlertmanager();
  });
  after(async () => {
    await am?.close();
  });

  const list = async (): Promise<GettableAlert[]> =>
    (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as GettableAlert[];

  test('receives the firing alert, then its resolve; the health check reads /-/ready', async () => {
    const notifier = new AlertmanagerNotifier({
      name: 'am',
      url: new URL(am.url),
      dashboardUrl: new URL('https://vigil.example.com'),
      firingTimeoutMillis: 3_600_000,
      allowPrivateNetwork: true,
      timeoutMillis: 3000,
      maxAttempts: 3,
    });
    try {
      const health = await notifier.healthCheck();
      assert.equal(health.ok, true, health.message);

      await notifier.send(samplePayload('opened', { startsAt: new Date(Date.now() - 60_000).toISOString() }), 'ntf_1');
      const alerts = await list();
      const ours = alerts.find((a) => a.labels.alertname === 'vigil-authn-brute-force');
      assert.ok(ours, `alert not found in ${JSON.stringify(alerts)}`);
      assert.equal(ours.labels.client_address, '203.0.113.9');
      assert.equal(ours.labels.severity, 'high');
      assert.equal(ours.annotations.vigil_alert_id, '73f8ec32-07c3-44ec-91d2-6812db8f9a66');
      assert.equal(ours.generatorURL, 'https://vigil.example.com/alerts/73f8ec32-07c3-44ec-91d2-6812db8f9a66');
      assert.equal(ours.status.state, 'active');

      await notifier.send(
        samplePayload('resolved', {
          startsAt: new Date(Date.now() - 60_000).toISOString(),
          endsAt: new Date(Date.now() - 1000).toISOString(),
        }),
        'ntf_2',
      );
      const after = await list();
      assert.equal(
        after.find((a) => a.labels.alertname === 'vigil-authn-brute-force'),
        undefined,
        'a resolved alert is no longer listed as active',
      );

      await notifier.sendTest();
      assert.ok(
        (await list()).some((a) => a.labels.alertname === 'vigil-test-notification' && a.labels.vigil_test === 'true'),
      );
    } finally {
      await notifier.close();
    }
  });
});
