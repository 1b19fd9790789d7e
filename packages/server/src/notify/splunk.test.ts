import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { startReceiver } from '../testing/harness.js';
import { sampleGroupPayload, samplePayload, startScriptedReceiver } from '../testing/receivers.js';
import { Secret } from './options.js';
import { parseSplunkOptions, SplunkNotifier } from './splunk.js';

interface HecEvent {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: { alert_id: string; change: string; notification_id: string; alert: { fingerprint: string } };
}

const TOKEN = '11111111-2222-3333-4444-555555555555';

/** A Splunk receiver posting to `receiver`'s server (its root, not /hook); `extra` adds or replaces options. */
function splunkTo(receiver: { url: string }, extra: Partial<ConstructorParameters<typeof SplunkNotifier>[0]> = {}) {
  return new SplunkNotifier({
    name: 'splunk',
    url: new URL(receiver.url.replace(/\/hook$/, '/')),
    token: new Secret(TOKEN),
    source: 'vigil',
    sourcetype: 'vigil:alert',
    host: 'vigil-01',
    allowPrivateNetwork: true,
    timeoutMillis: 2000,
    maxAttempts: 3,
    ...extra,
  });
}

describe('Splunk HEC receiver', () => {
  test('posts to /services/collector/event with the Splunk token and the alert inside the event', async () => {
    const receiver = await startReceiver();
    const splunk = splunkTo(receiver, { index: 'security' });
    try {
      await splunk.send(samplePayload('opened'), 'ntf_42');
      const [request] = await receiver.waitFor(1);
      assert.equal(request!.path, '/services/collector/event');
      assert.equal(request!.headers.authorization, `Splunk ${TOKEN}`);
      const event = JSON.parse(request!.body) as HecEvent;
      assert.equal(event.time, Date.parse('2026-11-02T10:00:02.311Z') / 1000);
      assert.equal(event.host, 'vigil-01');
      assert.equal(event.source, 'vigil');
      assert.equal(event.sourcetype, 'vigil:alert');
      assert.equal(event.index, 'security');
      assert.equal(event.event.alert_id, '73f8ec32-07c3-44ec-91d2-6812db8f9a66');
      assert.equal(event.event.notification_id, 'ntf_42');
      assert.equal(event.event.alert.fingerprint, '7aa4fd0a3734d446');
    } finally {
      await splunk.close();
      await receiver.close();
    }
  });

  test('a grouped notification is one HEC event per alert of the group, in one request', async () => {
    const receiver = await startReceiver();
    const splunk = splunkTo(receiver);
    try {
      const payload = sampleGroupPayload(3);
      await splunk.send(payload, 'ntf_7');
      const [request] = await receiver.waitFor(1);
      const events = request!.body.split('\n').map((line) => JSON.parse(line) as HecEvent);
      assert.deepEqual(
        events.map((e) => [e.event.alert_id, e.event.change, e.event.notification_id]),
        payload.group!.alerts.map((a, i) => [a.id, i === 0 ? 'resolved' : 'opened', 'ntf_7']),
      );
    } finally {
      await splunk.close();
      await receiver.close();
    }
  });

  test('health check uses the HEC health endpoint', async () => {
    const receiver = await startScriptedReceiver([{ status: 200, body: '{"text":"HEC is healthy","code":17}' }]);
    const splunk = new SplunkNotifier({
      name: 'splunk',
      url: new URL(receiver.url),
      token: new Secret(TOKEN),
      source: 'vigil',
      sourcetype: 'vigil:alert',
      host: 'h',
      allowPrivateNetwork: true,
      timeoutMillis: 2000,
      maxAttempts: 3,
    });
    try {
      const health = await splunk.healthCheck();
      assert.equal(health.ok, true, health.message);
      assert.equal(receiver.received[0]!.path, '/services/collector/health');
      receiver.answers = [{ status: 503, body: `{"text":"busy ${TOKEN}"}` }];
      const down = await splunk.healthCheck();
      assert.equal(down.ok, false);
      assert.match(down.message, /HTTP 503/);
      assert.ok(!down.message.includes(TOKEN));
    } finally {
      await splunk.close();
      await receiver.close();
    }
  });

  test('bad options name the key', () => {
    assert.throws(
      () => parseSplunkOptions({ url: 'https://s:8088' }, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.token',
    );
    assert.throws(
      () => parseSplunkOptions({ token: TOKEN }, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.url',
    );
    assert.throws(
      () => parseSplunkOptions({ url: 'https://s:8088', token: TOKEN, index: '' }, 'k'),
      (e: unknown) => e instanceof ConfigError && e.key === 'k.index',
    );
  });
});
