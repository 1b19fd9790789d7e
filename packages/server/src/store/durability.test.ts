import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, tempDir } from '../testing/harness.js';
import { startVigilProcess } from '../testing/process.js';
import { SqliteStore } from './sqlite.js';

test('SIGKILL right after a 2xx loses none of the acknowledged events', async () => {
  const dataDir = tempDir();
  const server = await startVigilProcess(dataDir, {});
  try {
    const acknowledged: string[] = [];
    // Send batches back to back and kill the process the moment the last 2xx arrives.
    for (let batch = 0; batch < 20; batch++) {
      const events = Array.from({ length: 50 }, (_, i) => ({
        id: `dur-${batch}-${i}`,
        time: Date.now(),
        type: 'authn_login_success',
        'user.id': `user-${i}`,
      }));
      const res = await server.post('/v1/events', events);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      acknowledged.push(...events.map((e) => e.id));
    }
    await server.kill();

    const store = new SqliteStore({ file: join(dataDir, 'vigil.db') });
    try {
      for (const id of acknowledged) assert.ok(await store.getEvent(id), `acknowledged event ${id} survived`);
      assert.equal((await store.verify()).ok, true);
    } finally {
      await store.close();
    }
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a crash before the first detection snapshot: the half-full window fills after the restart', async () => {
  const dataDir = tempDir();
  const failures = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => ({
      id: `crash-${from + i}`,
      time: Date.now(),
      type: 'authn_login_fail',
      'client.address': '203.0.113.77',
      'user.id': `u${from + i}`,
    }));
  let first = await startVigilProcess(dataDir, {});
  try {
    // Three failed logins of five, then a crash long before the 30 s snapshot interval ends.
    assert.equal((await first.post('/v1/events', failures(3, 0))).status, 200);
    await first.kill();
    first = await startVigilProcess(dataDir, {});
    assert.equal((await first.post('/v1/events', failures(2, 3))).status, 200);
    const alerts = await eventually(async () => {
      const res = await first.get('/api/v1/alerts');
      const body = (await res.json()) as { alerts: { labels: Record<string, string>; eventCount: number }[] };
      const found = body.alerts.filter((a) => a.labels['client.address'] === '203.0.113.77');
      assert.equal(found.length, 1);
      return found;
    }, 10_000);
    assert.equal(alerts[0]!.eventCount, 5);
  } finally {
    await first.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
