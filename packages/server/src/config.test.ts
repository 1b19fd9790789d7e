import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildConfig, loadConfig, loadOfflineConfig } from './config.js';
import { resolveCredentials } from './credentials.js';
import { ConfigError } from './errors.js';
import { redactSecrets, Secret } from './notify/options.js';
import { createNotifier } from './notify/receivers.js';
import { tempDir } from './testing/harness.js';

const fails = (raw: unknown, env: NodeJS.ProcessEnv, key: string, message: RegExp) =>
  assert.throws(
    () => buildConfig(raw, env),
    (e: unknown) => e instanceof ConfigError && e.key === key && message.test(e.message),
  );

const webhookReceiver = { type: 'webhook', name: 'hook', url: 'https://hooks.example.com/vigil' };

describe('configuration', () => {
  test('defaults, then the file, then the environment', () => {
    const c = buildConfig({ server: { port: 8080 }, ingest: { maxBodyBytes: 2048 } }, { VIGIL_PORT: '9090' });
    assert.equal(c.server.port, 9090);
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.ingest.maxBodyBytes, 2048);
    assert.equal(c.detection.bruteForce.threshold, 5);
    assert.equal(buildConfig({}, {}).server.port, 7070);
    assert.deepEqual(buildConfig({}, {}).enrich.geo, { enabled: true, mmdb: [] });
    assert.deepEqual(buildConfig({}, {}).enrich.trustedProxies, []);
    const enrich = buildConfig(
      { enrich: { trustedProxies: ['10.0.0.0/8', ' 2001:db8::1 '], geo: { enabled: false } } },
      {},
    ).enrich;
    assert.deepEqual(enrich.trustedProxies, ['10.0.0.0/8', '2001:db8::1']);
    assert.equal(enrich.geo.enabled, false);
    // VIGIL_HOST and VIGIL_DATA_DIR over a file that sets the same keys (as the documented example does).
    const overridden = buildConfig(
      { server: { host: '127.0.0.1', port: 8080 }, dataDir: '/tmp/from-file' },
      { VIGIL_HOST: '::1', VIGIL_DATA_DIR: '/tmp/from-env' },
    );
    assert.equal(overridden.server.host, '::1');
    assert.equal(overridden.dataDir, '/tmp/from-env');
  });

  test('storage.retentionDays: none by default, else a whole number of days from 1', () => {
    assert.equal(buildConfig({}, {}).storage.retentionDays, undefined);
    assert.equal(buildConfig({ storage: { retentionDays: 90 } }, {}).storage.retentionDays, 90);
    for (const bad of [0, -1, 1.5, '30d', 36_501]) {
      fails({ storage: { retentionDays: bad } }, {}, 'storage.retentionDays', /integer from 1 to 36500/);
    }
  });

  test('dashboard sessions: 1 h idle, 12 h in all, 1000 at once by default; a bad value names its key', () => {
    assert.deepEqual(buildConfig({}, {}).dashboard, {
      sessionIdleMillis: 3_600_000,
      sessionLifetimeMillis: 43_200_000,
      maxSessions: 1000,
    });
    assert.equal(buildConfig({ dashboard: { maxSessions: 5 } }, {}).dashboard.maxSessions, 5);
    fails({ dashboard: { maxSessions: 0 } }, {}, 'dashboard.maxSessions', /integer from 1/);
    fails({ dashboard: { sessionIdleMillis: 10 } }, {}, 'dashboard.sessionIdleMillis', /integer from 60000/);
    fails({ dashboard: { sessionLifetime: 10 } }, {}, 'dashboard.sessionLifetime', /unknown/);
  });

  test('storage.alertRetentionDays: retentionDays by default, else its own whole number of days from 1', () => {
    assert.equal(buildConfig({}, {}).storage.alertRetentionDays, undefined);
    assert.equal(buildConfig({ storage: { retentionDays: 90 } }, {}).storage.alertRetentionDays, 90);
    const alone = buildConfig({ storage: { alertRetentionDays: 30 } }, {}).storage;
    assert.equal(alone.alertRetentionDays, 30);
    assert.equal(alone.retentionDays, undefined);
    const longer = buildConfig({ storage: { retentionDays: 7, alertRetentionDays: 365 } }, {}).storage;
    assert.deepEqual([longer.retentionDays, longer.alertRetentionDays], [7, 365]);
    const shorter = buildConfig({ storage: { retentionDays: 90, alertRetentionDays: 14 } }, {}).storage;
    assert.deepEqual([shorter.retentionDays, shorter.alertRetentionDays], [90, 14]);
    for (const bad of [0, -1, 1.5, '30d', 36_501]) {
      fails({ storage: { alertRetentionDays: bad } }, {}, 'storage.alertRetentionDays', /integer from 1 to 36500/);
      fails(
        { storage: { retentionDays: 30, alertRetentionDays: bad } },
        {},
        'storage.alertRetentionDays',
        /integer from 1 to 36500/,
      );
    }
  });

  test('a bad value stops start-up naming the key', () => {
    fails({ server: { port: 'eighty' } }, {}, 'server.port', /integer from 0 to 65535/);
    fails({}, { VIGIL_PORT: '70000' }, 'VIGIL_PORT', /port number/);
    fails({ ingest: { maxBodyBytes: -1 } }, {}, 'ingest.maxBodyBytes', /integer/);
    fails({ storage: { synchronous: 'OFF' } }, {}, 'storage.synchronous', /FULL, NORMAL/);
    fails({ ingets: {} }, {}, 'ingets', /unknown key/);
    fails({ detection: { bruteForce: { treshold: 3 } } }, {}, 'detection.bruteForce.treshold', /unknown key/);
    fails({ auth: { ingestTokens: ['short'] } }, {}, 'auth.ingestTokens[0]', /at least 16/);
    fails({}, { VIGIL_API_TOKEN: 'x' }, 'VIGIL_API_TOKEN', /at least 16/);
    fails({ notify: { receivers: [{ type: 'webhook', url: 'ftp://x' }] } }, {}, 'notify.receivers[0].url', /http/);
    fails(
      { notify: { receivers: [{ type: 'webhook', url: 'https://a.example', secret: 'hunter2' }] } },
      {},
      'notify.receivers[0].secret',
      /whsec_/,
    );
    fails('just a string', {}, '(file)', /mapping/);
    fails({ enrich: { trustedProxies: ['10.0.0.0/33'] } }, {}, 'enrich.trustedProxies[0]', /CIDR/);
    fails({ enrich: { trustedProxies: 'a' } }, {}, 'enrich.trustedProxies', /list/);
    fails({ enrich: { geo: { enabled: 'yes' } } }, {}, 'enrich.geo.enabled', /true or false/);
    fails({ enrich: { geo: { mmdb: ['/no/such/GeoLite2-ASN.mmdb'] } } }, {}, 'enrich.geo.mmdb[0]', /not found/);
    fails({ enrich: { geo: { mmdbs: [] } } }, {}, 'enrich.geo.mmdbs', /unknown key/);
    fails({ detection: { baselines: { timeZone: 'Mars/Olympus' } } }, {}, 'detection.baselines.timeZone', /IANA/);
    const routed = (alerting: Record<string, unknown>) => ({ notify: { receivers: [webhookReceiver] }, alerting });
    fails(
      routed({ inhibitRules: [{ sourceMatchers: ['severity="critical"'], targetMatchers: ['x="1"'], equals: ['a'] }] }),
      {},
      'alerting.inhibitRules[0].equals',
      /unknown key/,
    );
    fails(
      routed({ route: { receiver: 'hook', escalate: { after: '5m', receiver: 'hook', afterr: 1 } } }),
      {},
      'alerting.route.escalate.afterr',
      /unknown key/,
    );
    const zoned = buildConfig({ detection: { baselines: { timeZone: 'Europe/Berlin' } } }, {});
    assert.equal(zoned.detection.baselines.timeZone, 'Europe/Berlin');
    assert.equal(buildConfig({}, {}).detection.baselines.timeZone, undefined);
  });

  test('paths: a rule directory (or file) that is not there, a data directory that is a file, each named by its key', () => {
    const dir = tempDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    fails({ detection: { rules: { dirs: [join(dir, 'rules-typo')] } } }, {}, 'detection.rules.dirs[0]', /not found/);
    assert.deepEqual(buildConfig({ detection: { rules: { dirs: [file] } } }, {}).detection.rules.dirs, [file]);
    fails({}, { VIGIL_DATA_DIR: file }, 'VIGIL_DATA_DIR', /not a directory/);
    fails({ dataDir: file }, {}, 'dataDir', /not a directory/);
    assert.deepEqual(buildConfig({ detection: { rules: { dirs: [dir] } } }, {}).detection.rules.dirs, [dir]);
    assert.equal(buildConfig({}, { VIGIL_DATA_DIR: join(dir, 'not-yet') }).dataDir, join(dir, 'not-yet'));
  });

  test('the same token for ingest and API is refused', () => {
    const t = 'the-same-token-for-both-0123';
    fails({}, { VIGIL_INGEST_TOKEN: t, VIGIL_API_TOKEN: t }, 'auth', /must not also be an API token/);
  });

  test('reads vigil.config.yaml, and reports YAML errors with the line', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'vigil.config.yaml'), 'server:\n  port: 7171\n');
    assert.equal(loadConfig({}, dir).server.port, 7171);
    writeFileSync(join(dir, 'bad.yaml'), 'server:\n  port: [1,\n');
    assert.throws(() => loadConfig({ VIGIL_CONFIG: 'bad.yaml' }, dir), /not valid YAML at line/);
    assert.throws(() => loadConfig({ VIGIL_CONFIG: 'missing.yaml' }, dir), /VIGIL_CONFIG: file not found/);
  });

  test('without configured tokens, random ones are generated once into the data directory', () => {
    const dir = tempDir();
    const config = buildConfig({}, { VIGIL_DATA_DIR: dir });
    const first = resolveCredentials(config);
    assert.ok(first.generatedFile);
    assert.match(first.ingestTokens[0]!, /^vigil_ingest_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(first.ingestTokens[0], first.apiTokens[0]);
    const second = resolveCredentials(config);
    assert.equal(second.generatedFile, undefined, 'not generated again');
    assert.deepEqual(second.ingestTokens, first.ingestTokens);
    const other = resolveCredentials(buildConfig({}, { VIGIL_DATA_DIR: tempDir() }));
    assert.notEqual(other.ingestTokens[0], first.ingestTokens[0], 'no fixed default');
    // A data directory made here is the owner's alone: it holds the tokens, and the store's user ids and addresses.
    const made = join(tempDir(), 'new', 'data');
    resolveCredentials(buildConfig({}, { VIGIL_DATA_DIR: made }));
    assert.equal(statSync(made).mode & 0o777, 0o700);
  });

  test('tokens: characters a bearer token cannot carry, and a credentials file that is not what it should be', () => {
    fails({ auth: { apiTokens: ['correct horse battery staple'] } }, {}, 'auth.apiTokens[0]', /letters, digits/);
    fails({}, { VIGIL_API_TOKEN: 'pässwörd-pässwörd-1234' }, 'VIGIL_API_TOKEN', /letters, digits/);
    for (const [content, message] of [
      ['null', /must hold an object/],
      ['"x"', /must hold an object/],
      ['{"ingestToken":"short"}', /ingestToken: must be a string of at least 16/],
    ] as const) {
      const dir = tempDir();
      writeFileSync(join(dir, 'credentials.json'), content);
      assert.throws(() => resolveCredentials(buildConfig({}, { VIGIL_DATA_DIR: dir })), message, content);
    }
  });
});

describe('configuration for commands that send nothing (unset secret variables left unresolved)', () => {
  const offline = (raw: unknown, env: NodeJS.ProcessEnv = {}) => buildConfig(raw, env, undefined, 'unresolved');
  /** One receiver of each type that has a secret, each secret from a variable; the key, the variable, a good value. */
  const receivers: [Record<string, unknown>, string, string, string][] = [
    [
      { type: 'webhook', url: 'https://hooks.example.com/vigil', secret: { env: 'VIGIL_WEBHOOK_SECRET' } },
      'secret',
      'VIGIL_WEBHOOK_SECRET',
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    ],
    [{ type: 'slack', url: { env: 'SLACK_WEBHOOK_URL' } }, 'url', 'SLACK_WEBHOOK_URL', 'https://hooks.slack.com/x'],
    [{ type: 'teams', url: { env: 'TEAMS_URL' } }, 'url', 'TEAMS_URL', 'https://teams.example.com/workflow'],
    [
      { type: 'pagerduty', routingKey: { env: 'PAGERDUTY_ROUTING_KEY' } },
      'routingKey',
      'PAGERDUTY_ROUTING_KEY',
      'R0UT1NGKEY0123456789abcdefABCDEF',
    ],
    [
      {
        type: 'email',
        host: 'smtp.example.com',
        from: 'vigil@example.com',
        to: ['secops@example.com'],
        auth: { user: 'vigil', pass: { env: 'SMTP_PASSWORD' } },
      },
      'auth.pass',
      'SMTP_PASSWORD',
      'smtp-password',
    ],
    [
      { type: 'splunk', url: 'https://splunk.example.com:8088', token: { env: 'SPLUNK_HEC_TOKEN' } },
      'token',
      'SPLUNK_HEC_TOKEN',
      '11111111-2222-3333-4444-555555555555',
    ],
    [
      { type: 'alertmanager', url: 'https://am.example.com:9093', bearerToken: { env: 'AM_TOKEN' } },
      'bearerToken',
      'AM_TOKEN',
      'am-bearer-token',
    ],
  ];
  const secretAt = (receiver: object, path: string): Secret =>
    path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], receiver) as Secret;

  test('vigil start refuses a variable that is not set; offline, the secret is unresolved and cannot be revealed', () => {
    for (const [receiver, path, variable] of receivers) {
      const key = `notify.receivers[0].${path}`;
      const raw = { notify: { receivers: [receiver] } };
      fails(raw, {}, key, new RegExp(`environment variable ${variable} is not set`));
      fails(raw, { [variable]: '' }, key, new RegExp(`environment variable ${variable} is not set`));
      const config = offline(raw);
      const [parsed] = config.notify.receivers;
      const secret = secretAt(parsed!, path);
      assert.ok(secret instanceof Secret, key);
      assert.equal(secret.resolved, false, key);
      const unresolved = new RegExp(
        `${key.replace(/[.[\]]/g, '\\$&')}: the secret in environment variable ${variable} was not resolved`,
      );
      assert.throws(() => secret.reveal(), unresolved);
      // Nothing can be built to send with it; printing it, or redacting a message with it, still works.
      assert.throws(() => createNotifier(parsed!), unresolved);
      assert.match(JSON.stringify(config.notify.receivers), /"\[redacted\]"/);
      assert.equal(redactSecrets('delivery failed', [secret]), 'delivery failed');
    }
  });

  test('offline, a variable that is set is read and checked as for vigil start', () => {
    for (const [receiver, path, variable, value] of receivers) {
      const [parsed] = offline({ notify: { receivers: [receiver] } }, { [variable]: value }).notify.receivers;
      const secret = secretAt(parsed!, path);
      assert.equal(secret.resolved, true);
      assert.equal(secret.reveal(), value);
    }
    const [webhook, , , pagerduty] = receivers;
    for (const [env, key, message] of [
      [{ VIGIL_WEBHOOK_SECRET: 'not-a-signing-secret' }, 'secret', /Standard Webhooks secret/],
      [{ PAGERDUTY_ROUTING_KEY: 'short' }, 'routingKey', /32-character integration key/],
    ] as const) {
      const raw = { notify: { receivers: [key === 'secret' ? webhook![0] : pagerduty![0]] } };
      assert.throws(
        () => offline(raw, env),
        (e: unknown) => e instanceof ConfigError && e.key === `notify.receivers[0].${key}` && message.test(e.message),
      );
    }
    assert.throws(
      () => offline({ notify: { receivers: [receivers[1]![0]] } }, { SLACK_WEBHOOK_URL: 'ftp://hooks.example.com' }),
      (e: unknown) =>
        e instanceof ConfigError && e.key === 'notify.receivers[0].url' && /http or https/.test(e.message),
    );
  });

  test('everything but an unset variable is refused offline exactly as for vigil start', () => {
    const hook = { type: 'webhook', name: 'hook', url: 'https://hooks.example.com/vigil' };
    const cases: [unknown, string, RegExp][] = [
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'S' }, sekret: 1 }] } },
        'notify.receivers[0].sekret',
        /unknown key/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'S', file: 'f' } }] } },
        'notify.receivers[0].secret.file',
        /unknown key/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'not a name' } }] } },
        'notify.receivers[0].secret.env',
        /must name/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'S' }, url: 'nope' }] } },
        'notify.receivers[0].url',
        /valid URL/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: 'whsec_short' }] } },
        'notify.receivers[0].secret',
        /Standard Webhooks/,
      ],
      [
        { notify: { receivers: [{ type: 'pagerduty', routingKey: 'short' }] } },
        'notify.receivers[0].routingKey',
        /32-character/,
      ],
      [
        { notify: { receivers: [{ type: 'slack', url: 'ftp://x.example.com' }] } },
        'notify.receivers[0].url',
        /http or https/,
      ],
      [
        {
          notify: {
            receivers: [
              {
                type: 'email',
                host: 'smtp.example.com',
                from: 'vigil@example.com',
                to: ['x'],
                auth: { user: 'u', pass: { env: 'P' } },
              },
            ],
          },
        },
        'notify.receivers[0].to[0]',
        /e-mail address/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'S' } }] }, alerting: { route: { receiver: 'hooks' } } },
        'alerting.route.receiver',
        /names no receiver/,
      ],
      [
        { notify: { receivers: [{ ...hook, secret: { env: 'S' } }] }, ingest: { maxBodyBytes: -1 } },
        'ingest.maxBodyBytes',
        /integer/,
      ],
      [{ notify: { receivers: [{ ...hook, secret: { env: 'S' } }], retries: 3 } }, 'notify.retries', /unknown key/],
    ];
    for (const [raw, key, message] of cases) {
      assert.throws(
        () => offline(raw),
        (e: unknown) => e instanceof ConfigError && e.key === key && message.test(e.message),
        `${key} offline`,
      );
    }
  });

  test('loadOfflineConfig reads the file that loadConfig refuses for an unset variable', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'vigil.config.yaml'),
      'notify:\n  receivers:\n    - type: webhook\n      url: https://hooks.example.com/vigil\n' +
        '      secret: { env: VIGIL_WEBHOOK_SECRET }\n',
    );
    assert.throws(
      () => loadConfig({}, dir),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === 'notify.receivers[0].secret' &&
        /VIGIL_WEBHOOK_SECRET is not set/.test(e.message),
    );
    const config = loadOfflineConfig({}, dir);
    assert.equal(config.configFile, join(dir, 'vigil.config.yaml'));
    const [webhook] = config.notify.receivers;
    assert.equal(webhook?.type === 'webhook' && webhook.secret instanceof Secret && webhook.secret.resolved, false);
  });
});
