import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import Database from 'better-sqlite3';
import { tempDir } from '../testing/harness.js';
import { SqliteStore } from './sqlite.js';

const event = (i: number, extra: Record<string, string> = {}): SecurityEvent => ({
  id: `e${String(i).padStart(4, '0')}`,
  time: Date.UTC(2026, 10, 2, 10, 0, 0) + i * 1000,
  type: i % 2 ? 'authn_login_fail' : 'authn_login_success',
  attributes: { 'user.id': `u${i % 3}`, 'client.address': `192.0.2.${i % 5}`, ...extra },
});

describe('SqliteStore', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('queries by time range, type, address and user, newest first, with cursors', async () => {
    const store = new SqliteStore({ file: join(dir, 'query.db') });
    await store.appendEvents(Array.from({ length: 30 }, (_, i) => event(i)));
    const fails = await store.queryEvents({ type: 'authn_login_fail', limit: 100 });
    assert.equal(fails.items.length, 15);
    assert.ok(fails.items.every((e) => e.type === 'authn_login_fail'));
    assert.ok(fails.items[0]!.time > fails.items[1]!.time, 'newest first');
    const range = await store.queryEvents({ from: event(10).time, to: event(20).time, limit: 100 });
    assert.deepEqual(
      range.items.map((e) => e.id).sort(),
      Array.from({ length: 10 }, (_, i) => event(10 + i).id),
    );
    const byUser = await store.queryEvents({ userId: 'u1', clientAddress: '192.0.2.1', limit: 100 });
    assert.ok(byUser.items.length > 0 && byUser.items.every((e) => e.attributes['user.id'] === 'u1'));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.queryEvents({ limit: 7, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 30);
    assert.equal(new Set(seen).size, 30);
    await assert.rejects(store.queryEvents({ limit: 5, cursor: 'garbage' }), RangeError);
    await store.close();
  });

  test('verify reports an intact chain, then an edited row, a deleted row and a cut tail', async () => {
    const file = join(dir, 'chain.db');
    const store = new SqliteStore({ file });
    await store.appendEvents(Array.from({ length: 10 }, (_, i) => event(i)));
    assert.deepEqual(await store.verify(), { ok: true, checked: 10, problems: [] });
    await store.close();

    const raw = new Database(file);
    raw.prepare(`UPDATE events SET body = replace(body, '"u1"', '"mallory"') WHERE seq = 5`).run();
    raw.close();
    let report = await reopenAndVerify(file);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]!.seq, 5);
    assert.match(report.problems[0]!.problem, /hash mismatch/);

    const raw2 = new Database(file);
    raw2.prepare('DELETE FROM events WHERE seq = 3').run();
    raw2.prepare('DELETE FROM events WHERE seq = 10').run();
    raw2.close();
    report = await reopenAndVerify(file);
    assert.ok(report.problems.some((p) => p.problem.startsWith('gap') && p.seq === 4));
    assert.ok(report.problems.some((p) => p.problem.startsWith('truncated')));
  });

  test('the chain continues across reopen', async () => {
    const file = join(dir, 'reopen.db');
    let store = new SqliteStore({ file });
    await store.appendEvents([event(1), event(2)]);
    await store.close();
    store = new SqliteStore({ file });
    await store.appendEvents([event(3)]);
    assert.equal((await store.verify()).ok, true);
    await store.close();
  });
});

async function reopenAndVerify(file: string) {
  const store = new SqliteStore({ file });
  try {
    return await store.verify();
  } finally {
    await store.close();
  }
}
