/**
 * The commands that read the configuration but send nothing (`vigil analyze`, `vigil verify`, `vigil rules
 * backtest`) run with the production configuration file where the receivers' secrets are not set, as on an
 * analyst's laptop; `vigil start` still refuses it. Real CLI processes, a real store.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DATABASE_FILE } from './app.js';
import { SqliteStore } from './store/sqlite.js';
import { tempDir } from './testing/harness.js';

const bin = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));

/** The variables the receivers below name; none is set when the commands run, unless a test sets it. */
const SECRET_VARIABLES = ['VIGIL_WEBHOOK_SECRET', 'SLACK_WEBHOOK_URL', 'PAGERDUTY_ROUTING_KEY', 'SMTP_PASSWORD'];

/** A production-like configuration: a webhook, Slack, PagerDuty and SMTP receiver, each secret from a variable. */
function configYaml(dataDir: string, webhook = 'secret: { env: VIGIL_WEBHOOK_SECRET }'): string {
  return `dataDir: ${JSON.stringify(dataDir)}
notify:
  receivers:
    - type: webhook
      name: hook
      url: https://hooks.example.com/vigil
      ${webhook}
    - type: slack
      name: chat
      url: { env: SLACK_WEBHOOK_URL }
    - type: pagerduty
      name: pager
      routingKey: { env: PAGERDUTY_ROUTING_KEY }
    - type: email
      name: mail
      host: smtp.example.com
      from: vigil@example.com
      to: [secops@example.com]
      auth: { user: vigil, pass: { env: SMTP_PASSWORD } }
alerting:
  route:
    receiver: chat
    routes:
      - matchers: ['severity="critical"']
        receivers: [pager, hook, mail]
`;
}

/** Run `vigil` in `dir` with `config` as its configuration file and none of the receivers' variables set. */
function vigil(dir: string, config: string, args: string[], env: Record<string, string> = {}) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('VIGIL_') && !SECRET_VARIABLES.includes(key)) clean[key] = value;
  }
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...clean, VIGIL_CONFIG: file, VIGIL_PORT: '0', ...env },
    encoding: 'utf8',
  });
}

describe('commands that send nothing, with receivers whose secret variables are not set', () => {
  let dir: string;
  let dataDir: string;
  let log: string;

  before(async () => {
    dir = tempDir();
    dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const time = Date.UTC(2026, 10, 2, 10, 0, 0);
    const events = Array.from({ length: 12 }, (_, i) => ({
      id: `e${i}`,
      time: time + i * 1000,
      type: 'authn_login_fail',
      attributes: { 'user.id': 'alice', 'client.address': '203.0.113.9' },
    }));
    const store = new SqliteStore({ file: join(dataDir, DATABASE_FILE) });
    await store.appendEvents(events);
    await store.close();
    log = join(dir, 'events.ndjson');
    writeFileSync(
      log,
      `${events.map((e) => JSON.stringify({ id: e.id, time: e.time, type: e.type, ...e.attributes })).join('\n')}\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('vigil analyze replays the log and prints its alerts', () => {
    const run = vigil(dir, configYaml(dataDir), ['analyze', log, '--format', 'vigil', '--json']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /analyzed 12 lines: 12 events, 0 bad lines, [1-9]\d* alerts/);
    assert.match(run.stdout, /"user\.id":"alice"/);
  });

  test('vigil verify checks the store', () => {
    const run = vigil(dir, configYaml(dataDir), ['verify']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'ok: 12 events, hash chain intact\n');
  });

  test('vigil rules backtest reads the store the configuration names', () => {
    const run = vigil(dir, configYaml(dataDir), ['rules', 'backtest', 'Brute force on one account']);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /Brute force on one account: 1 detections over 12 events/);
  });

  test('vigil start refuses the configuration vigil verify takes: each variable not set, naming key and variable', () => {
    const verify = vigil(dir, configYaml(dataDir), ['verify']);
    assert.equal(verify.status, 0, verify.stderr);
    const expected: [string, string][] = [
      ['notify.receivers[0].secret', 'VIGIL_WEBHOOK_SECRET'],
      ['notify.receivers[1].url', 'SLACK_WEBHOOK_URL'],
      ['notify.receivers[2].routingKey', 'PAGERDUTY_ROUTING_KEY'],
      ['notify.receivers[3].auth.pass', 'SMTP_PASSWORD'],
    ];
    const set: Record<string, string> = {};
    const values: Record<string, string> = {
      VIGIL_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/XXXX',
      PAGERDUTY_ROUTING_KEY: 'R0UT1NGKEY0123456789abcdefABCDEF',
    };
    for (const [key, variable] of expected) {
      const run = vigil(dir, configYaml(dataDir), ['start'], set);
      assert.equal(run.status, 78, run.stderr + run.stdout);
      assert.equal(
        run.stderr,
        `vigil: configuration: ${key}: environment variable ${variable} is not set (or empty)\n`,
      );
      assert.doesNotMatch(run.stdout, /listening/);
      const value = values[variable];
      if (value !== undefined) set[variable] = value;
    }
  });

  test('a real error in the configuration still stops them, naming the key (exit 78)', () => {
    const cases: [string, string, RegExp][] = [
      [
        'an unknown key',
        configYaml(dataDir, 'secret: { env: VIGIL_WEBHOOK_SECRET }\n      signingSecret: x'),
        /^vigil: configuration: notify\.receivers\[0\]\.signingSecret: unknown key/,
      ],
      [
        'a secret reference with another key than env',
        configYaml(dataDir, 'secret: { env: VIGIL_WEBHOOK_SECRET, file: /run/secret }'),
        /^vigil: configuration: notify\.receivers\[0\]\.secret\.file: unknown key/,
      ],
      [
        'a URL that is not one',
        configYaml(dataDir).replace('https://hooks.example.com/vigil', 'hooks.example.com/vigil'),
        /^vigil: configuration: notify\.receivers\[0\]\.url: is not a valid URL/,
      ],
      [
        'an inline webhook secret that is not a Standard Webhooks secret',
        configYaml(dataDir, 'secret: whsec_tooShort'),
        /^vigil: configuration: notify\.receivers\[0\]\.secret: must be a Standard Webhooks secret/,
      ],
      [
        'a route naming no receiver',
        configYaml(dataDir).replace('receiver: chat', 'receiver: chats'),
        /^vigil: configuration: alerting\.route\.receiver: names no receiver: "chats"/,
      ],
    ];
    // Each case with one of the three commands in turn: they share the validation, and every command meets a case.
    const commands = [
      ['analyze', log, '--format', 'vigil'],
      ['verify'],
      ['rules', 'backtest', 'Brute force on one account'],
    ];
    for (const [i, [what, config, message]] of cases.entries()) {
      const args = commands[i % commands.length]!;
      const run = vigil(dir, config, args);
      assert.equal(run.status, 78, `${what}, vigil ${args[0]}: ${run.stderr}`);
      assert.match(run.stderr, message, `${what}, vigil ${args[0]}`);
    }
  });

  test('a variable that is set is checked as for vigil start', () => {
    const run = vigil(dir, configYaml(dataDir), ['verify'], {
      VIGIL_WEBHOOK_SECRET: 'not-a-signing-secret',
      SLACK_WEBHOOK_URL: 'ftp://hooks.example.com/x',
    });
    assert.equal(run.status, 78, run.stderr);
    assert.match(
      run.stderr,
      /^vigil: configuration: notify\.receivers\[0\]\.secret: must be a Standard Webhooks secret/,
    );
    assert.doesNotMatch(run.stderr, /not-a-signing-secret/);
    const url = vigil(dir, configYaml(dataDir), ['verify'], { SLACK_WEBHOOK_URL: 'ftp://hooks.example.com/x' });
    assert.equal(url.status, 78, url.stderr);
    assert.match(url.stderr, /^vigil: configuration: notify\.receivers\[1\]\.url: must be an http or https URL/);
  });
});
