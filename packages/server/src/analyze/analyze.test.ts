import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alertToJson } from '../alerts/alert.js';
import { buildConfig } from '../config.js';
import { eventually, startTestServer, tempDir } from '../testing/harness.js';
import { analyze } from './analyze.js';

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
  const replay = await analyze([{ name: file, stream: createReadStream(file) }], {
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
  const result = await analyze([{ name: file, stream: createReadStream(file) }], {
    config: buildConfig({}, { VIGIL_DATA_DIR: dir }),
    format: 'combined',
    onBadLine: (b) => bad.push(b.lineNumber),
  });
  assert.deepEqual(bad, [251, 751, 1251, 1751]);
  assert.equal(result.events, 1996);
  assert.equal(result.lines, 2000);
});
