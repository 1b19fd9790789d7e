import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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

describe('configuration', () => {
  test('defaults, then the file, then the environment', () => {
    const c = buildConfig({ server: { port: 8080 }, ingest: { maxBodyBytes: 2048 } }, { VIGIL_PORT: '9090' });
    assert.equal(c.server.port, 9090);
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.ingest.maxBodyBytes, 2048);
    assert.equal(c.detection.bruteForce.threshold, 5);
    assert.equal(buildConfig({}, {}).server.port, 7070);
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
    fails({ notify: { webhooks: [{ url: 'ftp://x' }] } }, {}, 'notify.webhooks[0].url', /http or https/);
    fails(
      { notify: { webhooks: [{ url: 'https://a.example', secret: 'hunter2' }] } },
      {},
      'notify.webhooks[0].secret',
      /whsec_/,
    );
    fails('just a string', {}, '(file)', /mapping/);
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
  });
});
