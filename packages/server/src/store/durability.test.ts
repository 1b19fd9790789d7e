import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, tempDir } from '../testing/harness.js';
import { SqliteStore } from './sqlite.js';

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

const ingestToken = 'durability-ingest-token-0123456789';
const apiToken = 'durability-api-token-0123456789ab';

/** `vigil start` in a process of its own on `dataDir`, and the URL it listens on. */
async function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'start'], {
    env: {
      ...process.env,
      VIGIL_PORT: '0',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_INGEST_TOKEN: ingestToken,
      VIGIL_API_TOKEN: apiToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    setTimeout(() => reject(new Error('server did not start in 15 s')), 15_000).unref();
  });
  return { child, url };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

test('SIGKILL right after a 2xx loses none of the acknowledged events', async () => {
  const dataDir = tempDir();
  const { child, url } = await startChild(dataDir);
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
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      acknowledged.push(...events.map((e) => e.id));
    }
    await kill(child);

    const store = new SqliteStore({ file: join(dataDir, 'vigil.db') });
    try {
      for (const id of acknowledged) assert.ok(await store.getEvent(id), `acknowledged event ${id} survived`);
      assert.equal((await store.verify()).ok, true);
    } finally {
      await store.close();
    }
  } finally {
    await kill(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a crash before the first detection snapshot: the half-full window fills after the restart', async () => {
  const dataDir = tempDir();
  const post = (url: string, n: number, from: number) =>
    fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(
        Array.from({ length: n }, (_, i) => ({
          id: `crash-${from + i}`,
          time: Date.now(),
          type: 'authn_login_fail',
          'client.address': '203.0.113.77',
          'user.id': `u${from + i}`,
        })),
      ),
    });
  let first = await startChild(dataDir);
  try {
    // Three failed logins of five, then a crash long before the 30 s snapshot interval ends.
    assert.equal((await post(first.url, 3, 0)).status, 200);
    await kill(first.child);
    first = await startChild(dataDir);
    assert.equal((await post(first.url, 2, 3)).status, 200);
    const alerts = await eventually(async () => {
      const res = await fetch(`${first.url}/api/v1/alerts`, { headers: { authorization: `Bearer ${apiToken}` } });
      const body = (await res.json()) as { alerts: { labels: Record<string, string>; eventCount: number }[] };
      const found = body.alerts.filter((a) => a.labels['client.address'] === '203.0.113.77');
      assert.equal(found.length, 1);
      return found;
    }, 10_000);
    assert.equal(alerts[0]!.eventCount, 5);
  } finally {
    await kill(first.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
