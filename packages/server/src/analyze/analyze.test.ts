import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { alertToJson } from '../alerts/alert.js';
import { buildConfig } from '../config.js';
import { eventually, failedLogins, startTestServer, tempDir } from '../testing/harness.js';
import { analyze, inputsOf } from './analyze.js';

const CLI = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

/** Run the `vigil` CLI as a user does, in `cwd` (no configuration file there), and collect what it printed. */
function vigil(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('VIGIL_')) env[key] = value;
  env.VIGIL_DATA_DIR = join(cwd, 'data');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One OTLP/JSON logs export request, on one line, with `n` failed logins: about 300 bytes per record. */
function otlpLogsRequest(n: number, address: string): string {
  const t0 = Date.UTC(2026, 10, 2, 10, 0, 0);
  const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const logRecords = Array.from({ length: n }, (_, i) => ({
    timeUnixNano: `${BigInt(t0 + i * 100) * 1_000_000n}`,
    eventName: 'authn_login_fail',
    attributes: [
      attribute('user.id', `user-${i}`),
      attribute('client.address', address),
      attribute('http.request.method', 'POST'),
      attribute('url.path', '/login'),
    ],
  }));
  const resource = { attributes: [attribute('service.name', 'otlp-file')] };
  return JSON.stringify({ resourceLogs: [{ resource, scopeLogs: [{ scope: { name: 'test' }, logRecords }] }] });
}

/** Failed logins from a few sources plus ordinary traffic, as Vigil events with ids, in time order. */
function traffic(): string[] {
  const start = Date.now() - 10 * 60_000;
  const lines: string[] = [];
  let n = 0;
  const add = (offset: number, fields: Record<string, unknown>) =>
    lines.push(JSON.stringify({ id: `ev-${n++}`, time: start + offset, ...fields }));
  for (let i = 0; i < 300; i++) {
    const offset = i * 1000;
    add(offset, {
      type: 'http_request',
      'http.request.method': 'GET',
      'url.path': `/orders/${i}`,
      'http.response.status_code': 200,
      'client.address': `198.51.100.${i % 50}`,
    });
    if (i % 7 === 0) {
      add(offset + 1, { type: 'authn_login_fail', 'client.address': '203.0.113.66', 'user.id': `victim-${i % 11}` });
    }
    if (i > 200 && i < 212)
      add(offset + 2, { type: 'authn_login_fail', 'client.address': `192.0.2.${i}`, 'user.id': 'ceo' });
  }
  return lines;
}

const comparable = (a: ReturnType<typeof alertToJson>) =>
  JSON.stringify([
    a.id,
    a.fingerprint,
    a.rule,
    a.labels,
    a.startsAt,
    a.lastSeenAt,
    a.eventCount,
    a.summary,
    a.evidence,
  ]);

test('the same events through HTTP ingest and through vigil analyze give the same alerts', async () => {
  const lines = traffic();
  const dir = tempDir();
  const file = join(dir, 'events.ndjson');
  writeFileSync(file, `${lines.join('\n')}\nthis line is not JSON\n`);

  const bad: number[] = [];
  const replay = await analyze([{ name: file, open: () => createReadStream(file) }], {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'vigil',
    onBadLine: (b) => bad.push(b.lineNumber),
  });
  assert.deepEqual(bad, [lines.length + 1]);
  assert.ok(replay.alerts.length >= 2, `replay raised ${replay.alerts.length} alerts`);
  const offline = replay.alerts.map((a) => comparable(alertToJson(a))).sort();

  const server = await startTestServer();
  try {
    for (let i = 0; i < lines.length; i += 64) {
      const res = await server.post('/v1/events', lines.slice(i, i + 64).join('\n'), {
        'content-type': 'application/x-ndjson',
      });
      assert.equal(res.status, 200);
    }
    const live = await eventually(async () => {
      const body = (await (await server.get('/api/v1/alerts')).json()) as { alerts: ReturnType<typeof alertToJson>[] };
      const list = body.alerts.map(comparable).sort();
      assert.deepEqual(list, offline);
      return list;
    });
    assert.equal(live.length, offline.length);
  } finally {
    await server.stop();
  }
});

test('analyze streams a file with bad lines to the end, reporting each by number', async () => {
  const dir = tempDir();
  const file = join(dir, 'access.log');
  const rows: string[] = [];
  for (let i = 0; i < 2000; i++) {
    rows.push(
      i % 500 === 250
        ? 'garbage line'
        : `192.0.2.${i % 200} - - [02/Nov/2026:10:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} +0000] "GET /items/${i} HTTP/1.1" 200 12 "-" "curl/8.5.0"`,
    );
  }
  writeFileSync(file, `${rows.join('\n')}\n`);
  const bad: number[] = [];
  const result = await analyze([{ name: file, open: () => createReadStream(file) }], {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'combined',
    onBadLine: (b) => bad.push(b.lineNumber),
  });
  assert.deepEqual(bad, [251, 751, 1251, 1751]);
  assert.equal(result.events, 1996);
  assert.equal(result.lines, 2000);
});

test('vigil analyze: a file that cannot be read is reported by name, the others are still analyzed, exit 1', async () => {
  const dir = tempDir();
  const good = join(dir, 'good.ndjson');
  writeFileSync(good, `${failedLogins(30, '203.0.113.66')}\n`);
  const missing = join(dir, 'missing.log');
  const run = await vigil(['analyze', missing, good, '--format', 'vigil', '--json'], dir);
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`^vigil analyze: ${missing}: cannot be read \\(ENOENT: no such file or directory\\)$`, 'm'),
  );
  assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
  assert.match(run.stderr, /analyzed 30 lines: 30 events, 0 bad lines, \d+ alerts, 1 unreadable files/);
  const alerts = run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { labels: Record<string, string> });
  assert.ok(
    alerts.some((a) => a.labels['client.address'] === '203.0.113.66'),
    run.stdout,
  );
});

test('analyze opens each input only when it reaches it: an unreadable input is skipped, not fatal', async () => {
  const dir = tempDir();
  const good = join(dir, 'good.ndjson');
  writeFileSync(good, `${failedLogins(5, '192.0.2.1')}\n`);
  const unreadable: string[] = [];
  const result = await analyze(inputsOf([good, dir, join(dir, 'nope.log'), good]), {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'vigil',
    onUnreadableInput: (u) => unreadable.push(`${u.file}: ${u.reason}`),
  });
  assert.deepEqual(unreadable, [
    `${dir}: EISDIR: illegal operation on a directory`,
    `${join(dir, 'nope.log')}: ENOENT: no such file or directory`,
  ]);
  assert.equal(result.unreadableInputs, 2);
  assert.equal(result.lines, 10);
});

test('vigil analyze reads gzip, concatenated members too, whatever the file is called; damaged gzip is unreadable', async () => {
  const dir = tempDir();
  const line = (i: number) =>
    `192.0.2.7 - - [02/Nov/2026:10:00:${String(i).padStart(2, '0')} +0000] "POST /login HTTP/1.1" 401 12 "-" "curl/8.5.0"`;
  const text = (from: number, to: number) =>
    `${Array.from({ length: to - from }, (_, i) => line(from + i)).join('\n')}\n`;
  const rotated = join(dir, 'access.log.2.gz');
  writeFileSync(rotated, Buffer.concat([gzipSync(text(0, 20)), gzipSync(text(20, 30))]));
  const unnamed = join(dir, 'access.log.1');
  writeFileSync(unnamed, gzipSync(text(30, 40)));
  const damaged = join(dir, 'cut.log.gz');
  const whole = gzipSync(text(0, 40));
  writeFileSync(damaged, whole.subarray(0, whole.length - 12));
  const config = buildConfig({}, { VIGIL_DATA_DIR: dir });
  const result = await analyze(inputsOf([rotated, unnamed]), { config, format: 'combined' });
  assert.equal(result.events, 40, 'every line of the two gzip files');
  assert.equal(result.badLines, 0);
  const unreadable: string[] = [];
  const cut = await analyze(inputsOf([damaged]), {
    config,
    format: 'combined',
    onUnreadableInput: (u) => unreadable.push(`${u.file}: ${u.reason}`),
  });
  assert.equal(cut.unreadableInputs, 1);
  assert.match(unreadable[0]!, /cut\.log\.gz: the gzip data is damaged or cut short/);
  assert.equal(cut.badLines, 0, 'what was read before the damage is analyzed, and no garbage with it');
});

test('vigil analyze --format otlp reads requests longer than 64 KiB, and reports a bad one without quoting it', async () => {
  const dir = tempDir();
  const file = join(dir, 'collector.jsonl');
  const big = otlpLogsRequest(600, '203.0.113.77');
  assert.ok(Buffer.byteLength(big) > 128 * 1024, `${Buffer.byteLength(big)} bytes`);
  writeFileSync(file, `${big}\n{"resourceLogs": [ secret_token_abc123456789 ]}\n${otlpLogsRequest(3, '192.0.2.3')}\n`);
  const run = await vigil(['analyze', file, '--format', 'otlp'], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /analyzed 3 lines: 603 events, 1 bad lines/);
  // Node 20's JSON.parse gives a position for some errors only; the reason never carries the line's text.
  assert.match(run.stderr, /collector\.jsonl:2: not an OTLP JSON request: invalid JSON( at character \d+)?\n/);
  assert.doesNotMatch(run.stderr, /secret_tok/);
});

test('analyze --format otlp: a request longer than ingest.maxBodyBytes is reported as cut', async () => {
  const dir = tempDir();
  const file = join(dir, 'collector.jsonl');
  writeFileSync(file, `${otlpLogsRequest(20, '192.0.2.4')}\n${otlpLogsRequest(2, '192.0.2.5')}\n`);
  const bad: string[] = [];
  const result = await analyze(inputsOf([file]), {
    config: buildConfig({ ingest: { maxBodyBytes: 2048 } }, { VIGIL_DATA_DIR: dir }),
    format: 'otlp',
    onBadLine: (b) => bad.push(`${b.lineNumber}: ${b.reason}`),
  });
  assert.equal(bad.length, 1, bad.join('\n'));
  assert.match(
    bad[0]!,
    /^1: not an OTLP JSON request: line of \d+ bytes is longer than .*ingest\.maxBodyBytes, 2048 bytes.*cut/,
  );
  assert.equal(result.events, 2);
});

test('analyze --format otlp: a record whose trace id is not hex is a bad line saying why; the others are read', async () => {
  const dir = tempDir();
  const file = join(dir, 'collector.jsonl');
  const request = JSON.parse(otlpLogsRequest(3, '192.0.2.6'));
  request.resourceLogs[0].scopeLogs[0].logRecords[1].traceId = 'W47/95gDgQPSabYzgT/GDA==';
  writeFileSync(file, `${JSON.stringify(request)}\n`);
  const bad: string[] = [];
  const result = await analyze(inputsOf([file]), {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'otlp',
    onBadLine: (b) => bad.push(`${b.lineNumber}: ${b.reason}`),
  });
  assert.deepEqual(bad.length, 1, bad.join('\n'));
  assert.match(bad[0]!, /^1: trace\.id: traceId must be 32 hex digits/);
  assert.equal(result.events, 2);
});

test('vigil analyze --show-bad takes a whole number (exit 2 otherwise)', async () => {
  const dir = tempDir();
  const file = join(dir, 'access.log');
  writeFileSync(file, 'garbage\n');
  const run = await vigil(['analyze', file, '--show-bad', 'abc'], dir);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /^vigil analyze: --show-bad takes a whole number, got "abc"/);
  const negative = await vigil(['analyze', file, '--show-bad', '-1'], dir);
  assert.equal(negative.code, 2, negative.stderr);
  assert.match(negative.stderr, /^vigil analyze: .*--show-bad/);
  const ok = await vigil(['analyze', file, '--show-bad', '0'], dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.doesNotMatch(ok.stderr, /access\.log:1:/);
  assert.match(ok.stderr, /1 bad lines \(first 0 shown\)/);
});

test('vigil analyze --rules with a path that is not there is a configuration error naming it (exit 78)', async () => {
  const dir = tempDir();
  const file = join(dir, 'access.log');
  writeFileSync(file, '');
  const run = await vigil(['analyze', file, '--rules', join(dir, 'rules-typo')], dir);
  assert.equal(run.code, 78, run.stderr);
  assert.match(run.stderr, /--rules: not found: .*rules-typo/);
  assert.doesNotMatch(run.stderr, /ENOENT|at /);
});

test('vigil analyze --format json --mapping FILE reads a JSON log that matches no preset', async () => {
  const dir = tempDir();
  const log = join(dir, 'gateway.jsonl');
  const t0 = Date.UTC(2026, 10, 2, 10, 0, 0);
  const rows = Array.from({ length: 4 }, (_, i) =>
    JSON.stringify({ ts: t0 + i * 1000, req: { verb: 'GET', url: `/orders/${i}?x=1` }, code: 200, peer: '192.0.2.8' }),
  );
  writeFileSync(log, `${rows.join('\n')}\n`);
  const mapping = join(dir, 'gateway.yaml');
  writeFileSync(
    mapping,
    'source: gateway\ntime: ts\ntimeFormat: epoch_ms\nmethod: req.verb\npath: req.url\nstatus: code\nclientAddress: peer\n',
  );
  const without = await vigil(['analyze', log, '--format', 'json', '--show-bad', '1'], dir);
  assert.match(without.stderr, /gateway\.jsonl:1: JSON object matches no preset .*--mapping FILE/);
  const run = await vigil(['analyze', log, '--format', 'json', '--mapping', mapping], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /analyzed 4 lines: 4 events, 0 bad lines/);

  writeFileSync(mapping, 'method: req.verb\n');
  const bad = await vigil(['analyze', log, '--format', 'json', '--mapping', mapping], dir);
  assert.equal(bad.code, 78, bad.stderr);
  assert.equal(
    bad.stderr,
    `vigil: configuration: --mapping ${mapping}: time: is required: the key of the event time\n`,
  );
  const missing = await vigil(['analyze', log, '--format', 'json', '--mapping', join(dir, 'nope.yaml')], dir);
  assert.equal(missing.code, 78, missing.stderr);
  assert.match(missing.stderr, /--mapping .*nope\.yaml: cannot be read \(ENOENT: no such file or directory\)/);
  const wrongFormat = await vigil(['analyze', log, '--format', 'combined', '--mapping', mapping], dir);
  assert.equal(wrongFormat.code, 2, wrongFormat.stderr);
  assert.match(wrongFormat.stderr, /--mapping applies to --format json only/);
});

test('analyze stamps the source names the live server stamps, so the sign-in burst rule raises what it raises live', async () => {
  const dir = tempDir();
  const t0 = Date.UTC(2026, 10, 2, 10, 0, 0);
  // What an application with the SDK sends (its stdout mode writes the same events): they arrive on /v1/events live.
  const posted = join(dir, 'sdk.jsonl');
  const refused = (i: number) => ({
    time: t0 + i * 1000,
    type: 'http_request',
    'http.request.method': 'POST',
    'url.path': '/login',
    'http.response.status_code': 401,
    'client.address': '203.0.113.9',
  });
  writeFileSync(posted, `${Array.from({ length: 35 }, (_, i) => JSON.stringify(refused(i))).join('\n')}\n`);
  const fromSdk = await analyze(inputsOf([posted]), {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'vigil',
  });
  assert.equal(fromSdk.events, 35);
  assert.deepEqual(
    fromSdk.alerts.map((a) => a.rule.title),
    [],
  );
  // The same requests as spans of a service instrumented with OpenTelemetry only.
  const nanos = (millis: number) => `${BigInt(millis) * 1_000_000n}`;
  const spans = Array.from({ length: 35 }, (_, i) => ({
    name: 'POST /login',
    kind: 2,
    startTimeUnixNano: nanos(t0 + i * 1000),
    endTimeUnixNano: nanos(t0 + i * 1000 + 30),
    attributes: [
      { key: 'http.request.method', value: { stringValue: 'POST' } },
      { key: 'url.path', value: { stringValue: '/login' } },
      { key: 'http.response.status_code', value: { intValue: 401 } },
      { key: 'client.address', value: { stringValue: '203.0.113.9' } },
    ],
  }));
  const traces = join(dir, 'traces.jsonl');
  writeFileSync(traces, `${JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] })}\n`);
  const fromSpans = await analyze(inputsOf([traces]), {
    config: buildConfig({}, { VIGIL_DATA_DIR: tempDir() }),
    format: 'otlp',
  });
  assert.deepEqual(
    fromSpans.alerts.map((a) => [a.rule.title, a.labels['vigil.client.prefix']]),
    [['Burst of refused sign-in requests from one source', '203.0.113.9']],
  );
});

test('vigil analyze --format haproxy: a password-guessing burst through syslog raises the alert, in the zone given', async () => {
  const dir = tempDir();
  const log = join(dir, 'haproxy.log');
  const second = (i: number) => String(i).padStart(2, '0');
  const lines = Array.from(
    { length: 40 },
    (_, i) =>
      `Nov  2 11:00:${second(i)} lb1 haproxy[14389]: 203.0.113.50:${40_000 + i} [02/Nov/2026:11:00:${second(i)}.120] ` +
      `api~ api/srv1 3/0/1/12/16 401 187 - - ---- 4/4/1/1/0 0/0 {api.example.com|python-requests/2.32} ` +
      '"POST /v1/login HTTP/1.1"',
  );
  lines.push(
    '2001:db8::9:50000 [02/Nov/2026:11:01:00.000] api~ api/<NOSRV> -1/-1/-1/-1/0 400 187 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"',
    'Nov  2 11:01:01 lb1 haproxy[14389]: 192.0.2.4:5432 [02/Nov/2026:11:01:01.000] db db/pg1 0/0/5007 212 -- 1/1/1/1/0 0/0',
  );
  writeFileSync(log, `${lines.join('\n')}\n`);
  const burst = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ReturnType<typeof alertToJson>)
      .find((a) => a.rule.title === 'Burst of refused sign-in requests from one source');

  const run = await vigil(['analyze', log, '--format', 'haproxy', '--json'], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /analyzed 42 lines: 41 events, 1 bad lines/);
  assert.match(run.stderr, /haproxy\.log:42: a TCP log line \(option tcplog/);
  const utc = burst(run.stdout);
  assert.ok(utc, run.stdout);
  assert.equal(utc.labels['vigil.client.prefix'], '203.0.113.50');
  assert.equal(utc.startsAt, '2026-11-02T11:00:00.120Z', 'without --time-zone the accept dates are UTC');

  const paris = await vigil(['analyze', log, '--format', 'haproxy', '--time-zone', 'Europe/Paris', '--json'], dir);
  assert.equal(paris.code, 0, paris.stderr);
  assert.equal(burst(paris.stdout)?.startsAt, '2026-11-02T10:00:00.120Z', 'CET is UTC+1 in November');

  const wrongFormat = await vigil(['analyze', log, '--format', 'combined', '--time-zone', 'UTC'], dir);
  assert.equal(wrongFormat.code, 2, wrongFormat.stderr);
  assert.match(wrongFormat.stderr, /^vigil analyze: --time-zone applies to --format haproxy only/);
  const badZone = await vigil(['analyze', log, '--format', 'haproxy', '--time-zone', 'CEST'], dir);
  assert.equal(badZone.code, 2, badZone.stderr);
  assert.match(badZone.stderr, /^vigil analyze: --time-zone "CEST" is not a time zone/);
});

test('vigil analyze --format cloudfront reads a gzipped standard log from S3 and raises the sign-in burst alert', async () => {
  const dir = tempDir();
  const fields =
    'date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) ' +
    'cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken ' +
    'x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status ' +
    'fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len ' +
    'sc-range-start sc-range-end';
  const entry = (i: number) =>
    [
      '2026-11-02',
      `10:00:${String(i).padStart(2, '0')}`,
      'FRA56-P4',
      '512',
      '203.0.113.50',
      'POST',
      'd111111abcdef8.cloudfront.net',
      '/v1/auth/login',
      '401',
      '-',
      'python-requests/2.32.3',
      '-',
      '-',
      'Error',
      `req${i}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==`,
      'api.example.com',
      'https',
      '420',
      '0.012',
      '-',
      'TLSv1.3',
      'TLS_AES_128_GCM_SHA256',
      'Error',
      'HTTP/1.1',
      '-',
      '-',
      String(50000 + i),
      '0.012',
      'Error',
      'application/json',
      '37',
      '-',
      '-',
    ].join('\t');
  const text = `#Version: 1.0\n#Fields: ${fields}\n${Array.from({ length: 40 }, (_, i) => entry(i)).join('\n')}\n`;
  const log = join(dir, 'E2EXAMPLE123.2026-11-02-10.a1b2c3d4.gz');
  writeFileSync(log, gzipSync(text));
  const run = await vigil(['analyze', log, '--format', 'cloudfront', '--json'], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(
    run.stderr,
    /analyzed 42 lines: 40 events, 0 bad lines, 1 alerts/,
    'the two directives are no bad lines',
  );
  const alerts = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { rule: { title: string }; summary: string });
  assert.deepEqual(
    alerts.map((a) => a.rule.title),
    ['Burst of refused sign-in requests from one source'],
  );
  assert.match(alerts[0]!.summary, /^\d+ sign-in requests from 203\.0\.113\.50 answered 401 within 10 minutes/);
});

test('vigil analyze --format iis: each file is read with its own #Fields: line, never with the one of the file before', async () => {
  const dir = tempDir();
  const first = join(dir, 'u_ex261102.log');
  writeFileSync(
    first,
    '#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-11-02 10:00:00\n' +
      '#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken\n' +
      '2026-11-02 10:00:01 198.51.100.7 GET /api/orders 200 15\n',
  );
  const second = join(dir, 'u_ex261103.log');
  writeFileSync(second, '2026-11-03 10:00:01 198.51.100.7 GET /api/orders 200 15\n');
  const bad: string[] = [];
  const config = buildConfig({}, { VIGIL_DATA_DIR: dir });
  const result = await analyze(inputsOf([first, second]), {
    config,
    format: 'iis',
    onBadLine: (b) => bad.push(`${b.file}:${b.lineNumber}: ${b.reason}`),
  });
  assert.equal(result.events, 1);
  assert.deepEqual(bad, [
    `${second}:1: no #Fields: directive before this line, so its columns are unknown (an IIS log names them first)`,
  ]);
});

test('vigil analyze --container cri: an ingress-nginx controller log from /var/log/containers raises the sign-in burst', async () => {
  const dir = tempDir();
  // ingress-nginx's default log format: combined, then request length and time, upstream names, address and answer.
  const request = (i: number, address: string, status: number) =>
    `${address} - - [28/Nov/2026:10:${String(i).padStart(2, '0')}:07 +0000] "POST /login HTTP/1.1" ${status} 24 ` +
    `"https://shop.example/login" "python-requests/2.31.0" 412 0.004 [shop-api-8080] [] 10.244.1.17:8080 24 0.004 ` +
    `${status} 9f3c1d2e8b7a6f5e4d3c2b1a09f8e7${String(i).padStart(2, '0')}`;
  // The runtime's time is minutes after the request's: the request's own time must be the one read.
  const cri = (i: number, stream: string, tag: string, content: string) =>
    `2026-11-28T11:${String(i).padStart(2, '0')}:59.${String(i).padStart(9, '0')}Z ${stream} ${tag} ${content}`;
  const lines: string[] = [
    cri(0, 'stderr', 'F', 'NGINX Ingress controller'),
    cri(
      0,
      'stderr',
      'F',
      'I1128 10:00:00.000000 7 controller.go:190] "Configuration changes detected, backend reload required"',
    ),
  ];
  for (let i = 0; i < 30; i++) {
    const line = request(i % 10, '203.0.113.9', 401);
    if (i % 7 === 3) {
      // A long line the runtime split into pieces.
      lines.push(cri(i % 10, 'stdout', 'P', line.slice(0, 50)), cri(i % 10, 'stdout', 'P', line.slice(50, 120)));
      lines.push(cri(i % 10, 'stdout', 'F', line.slice(120)));
    } else lines.push(cri(i % 10, 'stdout', 'F', line));
    if (i % 10 === 0) lines.push(cri(i % 10, 'stdout', 'F', request(i % 10, '198.51.100.4', 200)));
  }
  lines.push(cri(10, 'stdout', 'F-broken', 'not a tag'));
  const log = join(dir, 'ingress-nginx-controller-7d9f8b6c5d-x2k4q_ingress-nginx_controller-0123456789abcdef.log');
  writeFileSync(log, `${lines.join('\n')}\n`);
  const run = await vigil(['analyze', log, '--format', 'combined', '--container', 'cri', '--json'], dir);
  assert.equal(run.code, 0, run.stderr);
  const total = lines.length;
  // Every line is accounted for: 33 events (4 of them joined from 12 pieces), 1 bad line, 2 lines of the error log.
  assert.equal(total, 33 + 1 + 2 + 12 - 4);
  assert.match(
    run.stderr,
    new RegExp(
      `analyzed ${total} lines: 33 events, 1 bad lines, 2 stderr lines skipped, 12 pieces joined into 4 lines, 1 alerts`,
    ),
  );
  assert.match(run.stderr, new RegExp(`:${total}: not a CRI container log line: no tag \\(F or P\\) after the stream`));
  const alerts = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { rule: { title: string }; summary: string; startsAt: string });
  assert.deepEqual(
    alerts.map((a) => a.rule.title),
    ['Burst of refused sign-in requests from one source'],
  );
  assert.match(alerts[0]!.summary, /^\d+ sign-in requests from 203\.0\.113\.9 answered 401 within 10 minutes/);
  assert.match(alerts[0]!.startsAt, /^2026-11-28T10:0/, 'in the time of the requests, not of the runtime');

  const plain = await vigil(['analyze', log, '--format', 'combined'], dir);
  // Read as a plain log, a CRI line would match the combined format with the runtime's time as its host.
  assert.match(plain.stderr, new RegExp(`analyzed ${total} lines: 0 events, ${total} bad lines`), 'no guessing');
  assert.match(
    plain.stderr,
    /:3: this is a container log line \(TIME STREAM TAG \.\.\.\): read the file with --container cri/,
  );
  const usage = await vigil(['analyze', log, '--container', 'podman'], dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown --container "podman"; one of cri, docker/);
});
