/**
 * The conformance suite every receiver runs: configuration through the registry, SSRF refusal for every HTTP
 * receiver, the test notification and the health check against a real receiver on loopback.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { startReceiver } from '../testing/harness.js';
import { samplePayload } from '../testing/receivers.js';
import { createNotifier, parseReceiverConfig, RECEIVER_TYPES } from './receivers.js';

const KEY = 'notify.receivers[2]';
const ENV = {
  PD_KEY: 'R0UT1NGKEY0123456789abcdefABCDEF',
  HEC_TOKEN: '11111111-2222-3333-4444-555555555555',
  SMTP_PASS: 'smtp-password-from-env',
};

/** A minimal valid entry of each HTTP receiver type pointing at `url`. */
function httpEntry(type: string, url: string): Record<string, unknown> {
  const base = url.replace(/\/hook$/, '');
  switch (type) {
    case 'webhook':
      return { type, url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
    case 'slack':
    case 'teams':
      return { type, url };
    case 'pagerduty':
      return { type, routingKey: { env: 'PD_KEY' }, url };
    case 'alertmanager':
      return { type, url: base };
    case 'splunk':
      return { type, url: base, token: { env: 'HEC_TOKEN' } };
    default:
      throw new Error(type);
  }
}
const HTTP_TYPES = ['webhook', 'slack', 'teams', 'pagerduty', 'alertmanager', 'splunk'];

const VALID: Record<string, Record<string, unknown>> = {
  ...Object.fromEntries(HTTP_TYPES.map((t) => [t, httpEntry(t, 'https://receiver.example.com/hook')])),
  email: {
    type: 'email',
    host: 'smtp.example.com',
    from: 'vigil@example.com',
    to: ['a@example.com'],
    auth: { user: 'u', pass: { env: 'SMTP_PASS' } },
  },
  syslog: { type: 'syslog', host: 'siem.example.com' },
};

describe('receiver registry', () => {
  test('every type parses with the common options and their defaults', () => {
    assert.deepEqual(Object.keys(VALID).sort(), [...RECEIVER_TYPES].sort());
    for (const type of RECEIVER_TYPES) {
      const config = parseReceiverConfig(VALID[type], KEY, ENV);
      assert.equal(config.type, type);
      assert.equal(config.name, type, 'the name defaults to the type');
      assert.equal(config.allowPrivateNetwork, false);
      assert.equal(config.timeoutMillis, 5000);
      assert.equal(config.maxAttempts, 8);
      const shown = JSON.stringify(config);
      for (const secret of Object.values(ENV)) assert.ok(!shown.includes(secret), `${type} leaks a secret in JSON`);
      const notifier = createNotifier(config);
      assert.equal(notifier.type, type);
      assert.equal(notifier.name, type);
      void notifier.close();
    }
    const named = parseReceiverConfig(
      { ...VALID.slack, name: 'secops', timeoutMillis: 1000, maxAttempts: 3, allowPrivateNetwork: true },
      KEY,
    );
    assert.equal(named.name, 'secops');
    assert.equal(named.timeoutMillis, 1000);
    assert.equal(named.maxAttempts, 3);
    assert.equal(named.allowPrivateNetwork, true);
  });

  test('bad entries throw a ConfigError naming the exact key', () => {
    const cases: [unknown, string][] = [
      ['slack', KEY],
      [{}, `${KEY}.type`],
      [{ type: 'carrier-pigeon' }, `${KEY}.type`],
      [{ ...VALID.slack, timeoutMillis: 0 }, `${KEY}.timeoutMillis`],
      [{ ...VALID.slack, maxAttempts: 'many' }, `${KEY}.maxAttempts`],
      [{ ...VALID.slack, allowPrivateNetwork: 'yes' }, `${KEY}.allowPrivateNetwork`],
      [{ ...VALID.slack, name: '' }, `${KEY}.name`],
      [{ ...VALID.webhook, secret: 'not-a-whsec-secret-value' }, `${KEY}.secret`],
      // 12 bytes: the documented minimum is 24.
      [{ ...VALID.webhook, secret: 'whsec_AAAAAAAAAAAAAAAA' }, `${KEY}.secret`],
      // Credentials in a URL: no request can be made from it, and they would be in every error about it.
      [{ ...VALID.webhook, url: 'https://admin:Sup3rS3cret@hooks.example.com/vigil' }, `${KEY}.url`],
      [{ ...VALID.alertmanager, url: 'https://admin:Sup3rS3cret@am.example.com:9093' }, `${KEY}.url`],
      [{ type: 'pagerduty' }, `${KEY}.routingKey`],
      [{ type: 'pagerduty', routingKey: { env: 'MISSING_VAR' } }, `${KEY}.routingKey`],
      [{ type: 'pagerduty', routingKey: { env: 'PD_KEY', file: 'x' } }, `${KEY}.routingKey.file`],
      [{ ...VALID.splunk, token: undefined }, `${KEY}.token`],
      [{ ...VALID.alertmanager, url: 'not a url' }, `${KEY}.url`],
      [{ ...VALID.email, to: [] }, `${KEY}.to`],
      [{ ...VALID.syslog, port: 0 }, `${KEY}.port`],
      [{ ...VALID.teams, typo: true }, `${KEY}.typo`],
    ];
    for (const [raw, expected] of cases) {
      assert.throws(
        () => parseReceiverConfig(raw, KEY, ENV),
        (e: unknown) => e instanceof ConfigError && e.key === expected,
        `expected a ConfigError for ${expected} from ${JSON.stringify(raw)}`,
      );
    }
    // The message of a bad secret never holds the secret.
    try {
      parseReceiverConfig({ type: 'pagerduty', routingKey: 'tooshort-but-secret' }, KEY);
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(!(error as Error).message.includes('tooshort-but-secret'));
    }
  });
});

for (const type of HTTP_TYPES) {
  describe(`${type} receiver: SSRF, test notification, health`, () => {
    test('a loopback target is refused unless allowPrivateNetwork: true', async () => {
      const receiver = await startReceiver();
      const literal = createNotifier(parseReceiverConfig(httpEntry(type, receiver.url), KEY, ENV));
      const named = createNotifier(
        parseReceiverConfig(httpEntry(type, receiver.url.replace('127.0.0.1', 'localhost')), KEY, ENV),
      );
      const allowed = createNotifier(
        parseReceiverConfig({ ...httpEntry(type, receiver.url), allowPrivateNetwork: true }, KEY, ENV),
      );
      try {
        for (const n of [literal, named]) {
          await assert.rejects(n.send(samplePayload(), 'ntf_1'), (e: Error & { code?: string }) => {
            assert.equal(e.code, 'ssrf_refused', e.message);
            assert.match(e.message, /allowPrivateNetwork/);
            return true;
          });
          const health = await n.healthCheck();
          assert.equal(health.ok, false);
          assert.match(health.message, /not a public address/);
        }
        assert.equal(receiver.received.length, 0, 'nothing reached the loopback receiver');
        await allowed.send(samplePayload(), 'ntf_1');
        await receiver.waitFor(1);
      } finally {
        await Promise.all([literal.close(), named.close(), allowed.close()]);
        await receiver.close();
      }
    });

    test('sendTest delivers a synthetic alert marked as a test', async () => {
      const receiver = await startReceiver();
      const notifier = createNotifier(
        parseReceiverConfig({ ...httpEntry(type, receiver.url), allowPrivateNetwork: true, name: 'ops' }, KEY, ENV),
      );
      try {
        await notifier.sendTest();
        const [request] = await receiver.waitFor(1);
        assert.match(request!.body, /vigil-test-notification|TEST/);
        assert.match(request!.body, /test notification/i);
      } finally {
        await notifier.close();
        await receiver.close();
      }
    });
  });
}

describe('health checks', () => {
  test('TCP reachability for webhook-style receivers; a closed port is reported', async () => {
    const receiver = await startReceiver();
    const url = receiver.url;
    const notifier = createNotifier(
      parseReceiverConfig({ type: 'slack', url, allowPrivateNetwork: true, timeoutMillis: 1000 }, KEY),
    );
    try {
      const up = await notifier.healthCheck();
      assert.equal(up.ok, true, up.message);
      await receiver.close();
      const down = await notifier.healthCheck();
      assert.equal(down.ok, false);
      assert.match(down.message, /ECONNREFUSED/);
    } finally {
      await notifier.close();
    }
  });
});
