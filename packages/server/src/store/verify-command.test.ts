/**
 * `vigil verify` as an operator runs it: a real store written by the server's code, checked by the command line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../app.js';
import { tempDir } from '../testing/harness.js';
import { SqliteStore } from './sqlite.js';

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));
const verify = (dataDir: string, ...args: string[]) =>
  spawnSync(process.execPath, [bin, 'verify', ...args], {
    env: { ...process.env, VIGIL_DATA_DIR: dataDir, VIGIL_CONFIG: '' },
    encoding: 'utf8',
  });

test('verify: an intact store is ok; a missing one is an error, never "intact", and is not created', async () => {
  const dir = tempDir();
  try {
    const store = new SqliteStore({ file: join(dir, DATABASE_FILE) });
    await store.appendEvents([{ id: 'e1', time: Date.UTC(2026, 10, 2), type: 'authn_login_fail', attributes: {} }]);
    await store.close();
    const intact = verify(dir);
    assert.equal(intact.status, 0, intact.stderr);
    assert.match(intact.stdout, /^ok: 1 events, hash chain intact/);

    for (const f of [DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`])
      rmSync(join(dir, f), { force: true });
    const deleted = verify(dir);
    assert.equal(deleted.status, 1);
    assert.match(deleted.stderr, /no event store at .*vigil\.db: nothing to verify/);
    assert.doesNotMatch(deleted.stdout, /intact/);
    assert.equal(existsSync(join(dir, DATABASE_FILE)), false, 'no empty store left behind');
    const json = verify(join(dir, 'typo'), '--json');
    assert.equal(json.status, 1);
    assert.equal(JSON.parse(json.stdout).ok, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verify names the row and the column that no longer says what the hashed event says', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, DATABASE_FILE);
    const store = new SqliteStore({ file });
    const time = Date.UTC(2026, 10, 2);
    await store.appendEvents(
      ['e1', 'e2', 'e3'].map((id) => ({ id, time, type: 'authn_login_fail', attributes: { 'user.id': 'alice' } })),
    );
    await store.close();
    const raw = new Database(file);
    raw.prepare(`UPDATE events SET user_id = 'bob' WHERE seq = 2`).run();
    raw.close();
    const tampered = verify(dir);
    assert.equal(tampered.status, 1);
    assert.equal(
      tampered.stdout,
      'TAMPERED: 1 problem(s) in 3 events\n  at seq 2: column user_id holds "bob" but the event says "alice"\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verify after retention: ok, and it says which rows retention deleted and when', async () => {
  const dir = tempDir();
  try {
    const store = new SqliteStore({ file: join(dir, DATABASE_FILE) });
    const time = Date.UTC(2026, 10, 2);
    await store.appendEvents(
      ['e1', 'e2', 'e3', 'e4'].map((id, i) => ({
        id,
        time: time + i * 1000,
        type: 'authn_login_fail',
        attributes: {},
      })),
    );
    await store.deleteEventsBefore(time + 2000, { now: () => Date.UTC(2026, 10, 3) });
    await store.close();
    const report = verify(dir);
    assert.equal(report.status, 0, report.stderr);
    assert.equal(
      report.stdout,
      'ok: 2 events, hash chain intact\n' +
        'retention: events 1..2 (stamped before 2026-11-02T00:00:02.000Z) were deleted by retention ' +
        '(latest run 2026-11-03T00:00:00.000Z); the chain is checked from seq 3\n',
    );
    assert.deepEqual(JSON.parse(verify(dir, '--json').stdout).retention, {
      deletedThroughSeq: 2,
      deletedAt: '2026-11-03T00:00:00.000Z',
      cutoff: '2026-11-02T00:00:02.000Z',
    });

    // Old rows deleted by hand, past the anchor: tampering, with the retention cut still said.
    const raw = new Database(join(dir, DATABASE_FILE));
    raw.prepare('DELETE FROM events WHERE seq = 3').run();
    raw.close();
    const tampered = verify(dir);
    assert.equal(tampered.status, 1);
    assert.equal(
      tampered.stdout,
      'TAMPERED: 2 problem(s) in 1 events\n' +
        '  at seq 4: gap: rows 3..3 are missing\n' +
        '  at seq 4: hash mismatch: event e4 was changed, or a row before it\n' +
        'retention: events 1..2 (stamped before 2026-11-02T00:00:02.000Z) were deleted by retention ' +
        '(latest run 2026-11-03T00:00:00.000Z); the chain is checked from seq 3\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
