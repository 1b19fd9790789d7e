import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { startReceiver } from '../testing/harness.js';
import { sampleGroupPayload, samplePayload } from '../testing/receivers.js';
import { Secret } from './options.js';
import { PagerDutyNotifier, pagerDutyAction, parsePagerDutyOptions } from './pagerduty.js';

interface PagerDutyEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: string;
    component?: string;
    class: string;
    timestamp: string;
    custom_details: { labels: Record<string, string>; summary: string; evidence: string[]; fingerprint: string };
  };
}

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';

/** A PagerDuty receiver posting to `receiver`; `extra` adds or replaces options. */
function pagerDutyTo(
  receiver: { url: string },
  extra: Partial<ConstructorParameters<typeof PagerDutyNotifier>[0]> = {},
): PagerDutyNotifier {
  return new PagerDutyNotifier({
    name: 'pd',
    routingKey: new Secret(ROUTING_KEY),
    url: new URL(receiver.url),
    source: 'payments-api',
    allowPrivateNetwork: true,
    timeoutMillis: 2000,
    maxAttempts: 3,
    ...extra,
  });
}

describe('PagerDuty Events API v2 receiver', () => {
  test('trigger on open, acknowledge, resolve — all with the same dedup_key', async () => {
    const receiver = await startReceiver();
    receiver.status = 202;
    const pd = pagerDutyTo(receiver, { component: 'login' });
    try {
      await pd.send(samplePayload('opened'), 'ntf_1');
      await pd.send(samplePayload('acknowledged'), 'ntf_2');
      await pd.send(samplePayload('resolved'), 'ntf_3');
      const [trigger, ack, resolve] = (await receiver.waitFor(3)).map((r) => JSON.parse(r.body) as PagerDutyEvent);
      assert.equal(trigger!.event_action, 'trigger');
      assert.equal(trigger!.routing_key, ROUTING_KEY);
      assert.equal(trigger!.dedup_key, '73f8ec32-07c3-44ec-91d2-6812db8f9a66');
      assert.equal(trigger!.payload!.severity, 'error');
      assert.equal(trigger!.payload!.source, 'payments-api');
      assert.equal(trigger!.payload!.component, 'login');
      assert.equal(trigger!.payload!.class, 'vigil-authn-brute-force');
      assert.equal(trigger!.payload!.timestamp, '2026-11-02T10:00:00.000Z');
      assert.match(trigger!.payload!.summary, /^Repeated failed logins: 5 failed logins/);
      assert.equal(trigger!.payload!.custom_details.labels['client.address'], '203.0.113.9');
      assert.equal(trigger!.payload!.custom_details.summary, '5 failed logins from 203.0.113.9 within 1 min');
      assert.deepEqual(trigger!.payload!.custom_details.evidence, ['ev1', 'ev2', 'ev3', 'ev4', 'ev5']);
      assert.equal(trigger!.payload!.custom_details.fingerprint, '7aa4fd0a3734d446');
      assert.deepEqual(ack, { routing_key: ROUTING_KEY, event_action: 'acknowledge', dedup_key: trigger!.dedup_key });
      assert.deepEqual(resolve, { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: trigger!.dedup_key });
    } finally {
      await pd.close();
      await receiver.close();
    }
  });

  test('severity mapping and the routing key never in an error message', async () => {
    assert.equal(pagerDutyAction(samplePayload('opened')), 'trigger');
    const receiver = await startReceiver();
    receiver.status = 400;
    const pd = new PagerDutyNotifier({
      name: 'pd',
      routingKey: new Secret(ROUTING_KEY),
      url: new URL(receiver.url),
      source: 'vigil',
      allowPrivateNetwork: true,
      timeoutMillis: 2000,
      maxAttempts: 3,
    });
    try {
      await assert.rejects(pd.send(samplePayload('opened', { severity: 'critical' }), 'n'), (e: Error) => {
        assert.match(e.message, /HTTP 400/);
        assert.ok(!e.message.includes(ROUTING_KEY));
        return true;
      });
    } finally {
      await pd.close();
      await receiver.close();
    }
  });

  test('sendTest triggers and resolves one test incident', async () => {
    const receiver = await startReceiver();
    const pd = new PagerDutyNotifier({
      name: 'pd',
      routingKey: new Secret(ROUTING_KEY),
      url: new URL(receiver.url),
      source: 'vigil',
      allowPrivateNetwork: true,
      timeoutMillis: 2000,
      maxAttempts: 3,
    });
    try {
      await pd.sendTest();
      const [a, b] = (await receiver.waitFor(2)).map((r) => JSON.parse(r.body) as PagerDutyEvent);
      assert.equal(a!.event_action, 'trigger');
      assert.match(a!.payload!.summary, /TEST/);
      assert.equal(b!.event_action, 'resolve');
      assert.equal(a!.dedup_key, b!.dedup_key);
    } finally {
      await pd.close();
      await receiver.close();
    }
  });

  test('options: routing key required and well-formed, never echoed; default endpoint', () => {
    const key = 'notify.receivers[2]';
    assert.throws(
      () => parsePagerDutyOptions({}, key),
      (e: unknown) => e instanceof ConfigError && e.key === `${key}.routingKey`,
    );
    assert.throws(
      () => parsePagerDutyOptions({ routingKey: 'short-secret-value' }, key),
      (e: unknown) =>
        e instanceof ConfigError && e.key === `${key}.routingKey` && !e.message.includes('short-secret-value'),
    );
    const options = parsePagerDutyOptions({ routingKey: { env: 'PD_KEY' } }, key, { PD_KEY: ROUTING_KEY });
    assert.equal(options.url.href, 'https://events.pagerduty.com/v2/enqueue');
    assert.equal(options.source, 'vigil');
  });

  test('a grouped notification sends one event per alert of the group, each by its own status', async () => {
    const receiver = await startReceiver();
    receiver.status = 202;
    const pd = pagerDutyTo(receiver);
    try {
      const payload = sampleGroupPayload(3);
      await pd.send(payload, 'ntf_1');
      const events = (await receiver.waitFor(3)).map((r) => JSON.parse(r.body) as PagerDutyEvent);
      assert.deepEqual(
        events.map((e) => [e.dedup_key, e.event_action]),
        payload.group!.alerts.map((a, i) => [a.id, i === 0 ? 'resolve' : 'trigger']),
      );
      assert.equal(events[1]!.payload!.custom_details.labels['client.address'], '203.0.113.11');
    } finally {
      await pd.close();
      await receiver.close();
    }
  });
});
