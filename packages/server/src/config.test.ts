import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildConfig, loadConfig } from './config.js';
import { resolveCredentials } from './credentials.js';
import { ConfigError } from './errors.js';
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
