import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, failedLogins, startTestServer, tempDir } from '../testing/harness.js';
import { ENGINE_STATE_FILE } from './detection.js';

const ndjson = { 'content-type': 'application/x-ndjson' };
const alertsOf = async (server: Awaited<ReturnType<typeof startTestServer>>) =>
  (
    (await (await server.get('/api/v1/alerts')).json()) as {
      alerts: { eventCount: number; labels: Record<string, string> }[];
    }
  ).alerts;

/** One request answered with `status`, from `address`, two seconds ago, as NDJSON. */
const requestWith = (status: number, address: string) =>
  JSON.stringify({
    time: Date.now() - 2000,
    type: 'http_request',
    'http.request.method': 'GET',
    'url.path': '/t',
    'http.response.status_code': status,
    'client.address': address,
  });

test('a restart keeps open detection windows, including events stored after the last saved state', async () => {
  const dataDir = tempDir();
  const end = Date.now() - 5000;
  const events = failedLogins(5, '203.0.113.77', 'restart-', end).split('\n');
  const first = await startTestServer({}, { dataDir, keepData: true });
  await first.post('/v1/events', events.slice(0, 3).join('\n'), ndjson);
  await eventually(async () => assert.equal(first.pipeline.watermark >= end - 3000, true));
  await first.close(); // saves the state: three failures in the window
  const older = join(dataDir, 'older-state.json');
  copyFileSync(join(dataDir, ENGINE_STATE_FILE), older);

  const second = await startTestServer({}, { dataDir, keepData: true });
  await second.post('/v1/events', events[3]!, ndjson); // stored, and in the state saved at close...
  await second.close();
  copyFileSync(older, join(dataDir, ENGINE_STATE_FILE)); // ...which a crash would have lost

  const third = await startTestServer({}, { dataDir });
  try {
    assert.deepEqual(await alertsOf(third), []);
    await third.post('/v1/events', events[4]!, ndjson);
    const alerts = await eventually(async () => {
      const list = await alertsOf(third);
      assert.equal(list.length, 1);
      return list;
    });
    assert.equal(alerts[0]!.labels['client.address'], '203.0.113.77');
    assert.equal(alerts[0]!.eventCount, 5);
  } finally {
    await third.stop();
  }
});

test('rule files are reloaded when they change; a broken file keeps the old rules', async () => {
  const rules = tempDir();
  mkdirSync(rules, { recursive: true });
  const rule = (status: number) => `title: Teapot
id: 7d0f5f8e-1111-4222-8333-944455556666
logsource: { category: webserver }
detection:
  sel: { sc-status: ${status} }
  condition: sel
level: low
`;
  writeFileSync(join(rules, 'teapot.yml'), rule(418));
  const server = await startTestServer({ detection: { rules: { builtin: false, dirs: [rules] } } });
  try {
    const request = (status: number) => requestWith(status, `192.0.2.${status % 250}`);
    await server.post('/v1/events', request(418), ndjson);
    await eventually(async () => assert.equal((await alertsOf(server)).length, 1));

    // Without group-by labels, every match of the rule lands on the same open alert: its count tells what fired.
    const count = async () => (await alertsOf(server))[0]?.eventCount ?? 0;
    await server.post('/v1/events', request(419), ndjson);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(await count(), 1, 'the old rule ignores 419');

    writeFileSync(join(rules, 'teapot.yml'), rule(419));
    await eventually(async () => {
      await server.post('/v1/events', request(419), ndjson);
      assert.ok((await count()) >= 2);
    }, 5000);

    writeFileSync(join(rules, 'teapot.yml'), 'title: [broken');
    assert.equal(await server.reloadRules(), undefined, 'a broken rule set is refused');
    const before = await count();
    await server.post('/v1/events', request(419), ndjson);
    await eventually(async () => assert.ok((await count()) > before, 'the previous rules stay active'));
  } finally {
    await server.stop();
  }
});

test('saves that replace the rule file (write, then rename over it) are each reloaded, in a directory or alone', async () => {
  const rules = tempDir();
  const single = join(tempDir(), 'one.yml');
  const rule = (id: string, status: number) => `title: Status ${status}
id: ${id}
logsource: { category: webserver }
detection:
  sel: { sc-status: ${status} }
  condition: sel
level: low
`;
  const DIR_RULE = '7d0f5f8e-1111-4222-8333-944455550001';
  const FILE_RULE = '7d0f5f8e-1111-4222-8333-944455550002';
  // As editors and config tools save: a new file renamed over the old one.
  const save = (file: string, text: string) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  save(join(rules, 'status.yml'), rule(DIR_RULE, 400));
  save(single, rule(FILE_RULE, 400));
  const server = await startTestServer({ detection: { rules: { builtin: false, dirs: [rules, single] } } });
  try {
    const fires = async (status: number) => {
      const before = (await alertsOf(server)).reduce((n, a) => n + a.eventCount, 0);
      await server.post('/v1/events', requestWith(status, '192.0.2.9'), ndjson);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return (await alertsOf(server)).reduce((n, a) => n + a.eventCount, 0) > before;
    };
    for (const status of [401, 402, 403]) {
      save(join(rules, 'status.yml'), rule(DIR_RULE, status));
      save(single, rule(FILE_RULE, status + 100));
      await eventually(async () => assert.ok(await fires(status), `the directory's rule now matches ${status}`), 5000);
      await eventually(
        async () => assert.ok(await fires(status + 100), `the file's rule now matches ${status + 100}`),
        5000,
      );
    }
  } finally {
    await server.stop();
  }
});

test('events held for ordering at a snapshot are saved by id and read back from the store after a crash', async () => {
  const dataDir = tempDir();
  const end = Date.now() - 5000;
  const events = failedLogins(5, '203.0.113.78', 'held-', end).split('\n');
  // A long lateness holds every event; frequent snapshots save them as held.
  const holding = { detection: { latenessMillis: 600_000, snapshotIntervalMillis: 1000 } };
  const first = await startTestServer(holding, { dataDir, keepData: true });
  await first.post('/v1/events', events.slice(0, 3).join('\n'), ndjson);
  const saved = await eventually(async () => {
    const state = JSON.parse(readFileSync(join(dataDir, ENGINE_STATE_FILE), 'utf8')) as {
      pendingIds?: string[];
      pending?: unknown[];
    };
    assert.equal(state.pendingIds?.length, 3);
    assert.equal(state.pending, undefined, 'held events are saved by id only');
    return readFileSync(join(dataDir, ENGINE_STATE_FILE));
  });
  await first.close();
  writeFileSync(join(dataDir, ENGINE_STATE_FILE), saved); // the state a crash would have left

  const second = await startTestServer({}, { dataDir });
  try {
    await second.post('/v1/events', events.slice(3).join('\n'), ndjson);
    const alerts = await eventually(async () => {
      const list = await alertsOf(second);
      assert.equal(list.length, 1);
      return list;
    });
    assert.equal(alerts[0]!.eventCount, 5);
  } finally {
    await second.stop();
  }
});
