import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../testing/harness.js';
import { SqliteStore } from './sqlite.js';

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

test('SIGKILL right after a 2xx loses none of the acknowledged events', async () => {
  const dataDir = tempDir();
  const ingestToken = 'durability-ingest-token-0123456789';
  const child = spawn(process.execPath, [bin, 'start'], {
    env: {
      ...process.env,
      VIGIL_PORT: '0',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_INGEST_TOKEN: ingestToken,
      VIGIL_API_TOKEN: 'durability-api-token-0123456789ab',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
      setTimeout(() => reject(new Error('server did not start in 15 s')), 15_000).unref();
    });
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
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const store = new SqliteStore({ file: join(dataDir, 'vigil.db') });
    try {
      for (const id of acknowledged) assert.ok(await store.getEvent(id), `acknowledged event ${id} survived`);
      assert.equal((await store.verify()).ok, true);
    } finally {
      await store.close();
    }
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
