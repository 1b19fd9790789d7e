/**
 * Retention (`storage.retentionDays`): what is deleted, and what `verify` still finds afterwards. Real SQLite files,
 * changed by hand where a test plays the one who tampers.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../app.js';
import { silentLogger } from '../log.js';
import { reopenAndVerify, startTestServer, tempDir } from '../testing/harness.js';
import { SqliteStore } from './sqlite.js';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 2);
const NOW = START + 30 * HOUR;

/** Event i is stamped i hours after START: events 1..20 are stored as seq 1..20. */
const event = (i: number, time = START + i * HOUR): SecurityEvent => ({
  id: `e${i}`,
  time,
  type: 'authn_login_fail',
  attributes: { 'user.id': `u${i % 3}` },
});

const events = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => event(from + k));

async function storeOf(file: string, list: SecurityEvent[]): Promise<SqliteStore> {
  const store = new SqliteStore({ file });
  await store.appendEvents(list);
  return store;
}

function seqs(file: string): number[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
  } finally {
    raw.close();
  }
}

function tamper(file: string, sql: string): void {
  const raw = new Database(file);
  raw.prepare(sql).run();
  raw.close();
}

describe('retention', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('deletes exactly the rows before the first event inside the window, late old events included', async () => {
    const file = join(dir, 'prefix.db');
    // Seq 6 is an event stamped long ago that arrived late: it stays while seq 5 (inside the window) does.
    const list = [...events(1, 4), event(5), event(6, START - 100 * HOUR), ...events(7, 20)];
    const store = await storeOf(file, list);
    const cutoff = START + 5 * HOUR;
    const result = await store.deleteEventsBefore(cutoff, { now: () => NOW });
    assert.equal(result.deleted, 4);
    assert.deepEqual(result.anchor && { seq: result.anchor.seq, at: result.anchor.at }, { seq: 4, at: NOW });
    assert.deepEqual(
      seqs(file),
      Array.from({ length: 16 }, (_, k) => k + 5),
    );
    assert.equal(await store.getEvent('e4'), undefined);
    assert.deepEqual(await store.getEvent('e6'), list[5]);
    // A second run deletes nothing more: seq 5 is inside the window.
    assert.equal((await store.deleteEventsBefore(cutoff, { now: () => NOW })).deleted, 0);
    // Once the window has moved past them, the late old event goes with the rest of the prefix.
    assert.equal((await store.deleteEventsBefore(START + 8 * HOUR, { now: () => NOW })).deleted, 3);
    assert.deepEqual(seqs(file).slice(0, 2), [8, 9]);
    await store.close();
  });

  test('a cutoff before every event deletes nothing', async () => {
    const file = join(dir, 'nothing.db');
    const store = await storeOf(file, events(1, 10));
    assert.deepEqual(await store.deleteEventsBefore(START, { now: () => NOW }), { deleted: 0 });
    assert.deepEqual(
      seqs(file),
      events(1, 10).map((_, k) => k + 1),
    );
    assert.deepEqual(await store.verify(), { ok: true, checked: 10, problems: [] });
    await store.close();
  });

  test('verify is ok after retention and reports the range it removed, and when', async () => {
    const file = join(dir, 'verify.db');
    const store = await storeOf(file, events(1, 20));
    await store.deleteEventsBefore(START + 11 * HOUR, { now: () => NOW });
    const report = await store.verify();
    assert.deepEqual(report, {
      ok: true,
      checked: 10,
      problems: [],
      retention: {
        deletedThroughSeq: 10,
        deletedAt: new Date(NOW).toISOString(),
        cutoff: new Date(START + 11 * HOUR).toISOString(),
      },
    });
    // The chain goes on after the cut, across a reopen.
    await store.close();
    const reopened = new SqliteStore({ file });
    await reopened.appendEvents(events(21, 22));
    assert.equal((await reopened.verify()).ok, true);
    await reopened.close();
  });

  test('retention that deletes every row leaves a verifiable chain that goes on from its anchor', async () => {
    const file = join(dir, 'all.db');
    const errors: unknown[] = [];
    const store = await storeOf(file, events(1, 5));
    assert.equal((await store.deleteEventsBefore(NOW, { now: () => NOW })).deleted, 5);
    assert.deepEqual(await store.verify(), {
      ok: true,
      checked: 0,
      problems: [],
      retention: {
        deletedThroughSeq: 5,
        deletedAt: new Date(NOW).toISOString(),
        cutoff: new Date(NOW).toISOString(),
      },
    });
    await store.close();
    // Not taken for rows cut from the end on opening, and the next event is seq 6.
    const reopened = new SqliteStore({ file, log: { ...silentLogger, error: (...a) => errors.push(a) } });
    assert.deepEqual(errors, []);
    assert.equal((await reopened.appendEvents([event(30)])).lastSequence, 6);
    assert.equal((await reopened.verify()).ok, true);
    await reopened.close();
  });

  test('after retention, verify still finds an edited row, a deleted middle row, a cut tail and a hand-cut prefix', async () => {
    const cases: [string, string, (p: { seq: number; problem: string }) => boolean][] = [
      [
        'edited',
        `UPDATE events SET body = replace(body, '"u1"', '"mallory"') WHERE seq = 13`,
        (p) => p.seq === 13 && /hash mismatch/.test(p.problem),
      ],
      [
        'middle',
        'DELETE FROM events WHERE seq = 15',
        (p) => p.seq === 16 && p.problem === 'gap: rows 15..15 are missing',
      ],
      [
        'tail',
        'DELETE FROM events WHERE seq > 18',
        (p) => p.seq === 19 && p.problem === 'truncated: rows 19..20 are missing at the end',
      ],
      // Old rows deleted by hand, the anchor left where retention put it.
      [
        'prefix',
        'DELETE FROM events WHERE seq <= 12',
        (p) => p.seq === 13 && p.problem === 'gap: rows 11..12 are missing',
      ],
    ];
    for (const [name, sql, expected] of cases) {
      const file = join(dir, `tampered-${name}.db`);
      const store = await storeOf(file, events(1, 20));
      await store.deleteEventsBefore(START + 11 * HOUR, { now: () => NOW });
      await store.close();
      tamper(file, sql);
      const report = await reopenAndVerify(file);
      assert.equal(report.ok, false, name);
      assert.ok(report.problems.some(expected), `${name}: ${JSON.stringify(report.problems)}`);
    }
  });

  test('a prefix deleted by hand, without an anchor, is tampering, and retention does not delete past it', async () => {
    const file = join(dir, 'hand-prefix.db');
    const store = await storeOf(file, events(1, 20));
    await store.close();
    tamper(file, 'DELETE FROM events WHERE seq <= 3');
    const before = await reopenAndVerify(file);
    assert.equal(before.ok, false);
    assert.deepEqual(before.problems[0], { seq: 4, problem: 'gap: rows 1..3 are missing' });
    assert.equal(before.retention, undefined);

    // Retention would take the evidence with it: it refuses, and verify still reports the cut.
    const reopened = new SqliteStore({ file });
    const result = await reopened.deleteEventsBefore(START + 11 * HOUR, { now: () => NOW });
    assert.deepEqual(result, { deleted: 0, refused: { seq: 4, problem: 'rows 1..3 are missing' } });
    assert.deepEqual((await reopened.verify()).problems[0], { seq: 4, problem: 'gap: rows 1..3 are missing' });
    await reopened.close();
  });

  test('each batch moves the anchor: a run stopped after one batch leaves a verifiable chain', async () => {
    const file = join(dir, 'batches.db');
    const store = await storeOf(file, events(1, 20));
    // As a crash after the first transaction would leave it.
    const first = await store.deleteEventsBefore(START + 16 * HOUR, { batchRows: 4, maxBatches: 1, now: () => NOW });
    assert.equal(first.deleted, 4);
    assert.equal(first.anchor?.seq, 4);
    assert.deepEqual(seqs(file)[0], 5);
    const report = await store.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.retention?.deletedThroughSeq, 4);
    // The rest, in batches of 4: 5..8, 9..12, 13..15.
    const rest = await store.deleteEventsBefore(START + 16 * HOUR, { batchRows: 4, now: () => NOW });
    assert.deepEqual([rest.deleted, rest.anchor?.seq], [11, 15]);
    assert.deepEqual(await store.verify(), {
      ok: true,
      checked: 5,
      problems: [],
      retention: {
        deletedThroughSeq: 15,
        deletedAt: new Date(NOW).toISOString(),
        cutoff: new Date(START + 16 * HOUR).toISOString(),
      },
    });
    await store.close();
  });

  test('retention on the main connection while the writer thread appends leaves one intact chain', async () => {
    const file = join(dir, 'concurrent.db');
    const store = new SqliteStore({ file, eventWriter: 'thread' });
    await store.appendEvents(events(1, 400));
    // Appends of new events interleaved with batches of deletions, on the two connections.
    const appends = (async () => {
      for (let b = 0; b < 10; b++) await store.appendEvents(events(1000 + b * 50, 1049 + b * 50));
    })();
    const result = await store.deleteEventsBefore(START + 301 * HOUR, { batchRows: 25, now: () => NOW });
    await appends;
    assert.equal(result.deleted, 300);
    const report = await store.verify();
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.checked, 100 + 500);
    assert.equal(report.retention?.deletedThroughSeq, 300);
    await store.close();
  });

  test('an anchor edited by hand is reported', async () => {
    const file = join(dir, 'anchor.db');
    const store = await storeOf(file, events(1, 10));
    await store.deleteEventsBefore(START + 6 * HOUR, { now: () => NOW });
    await store.close();
    const raw = new Database(file);
    const value = raw.prepare(`SELECT value FROM meta WHERE key = 'events_retention_anchor'`).pluck().get() as string;
    // Moved back to pretend more rows were deleted by retention than were.
    raw
      .prepare(`UPDATE meta SET value = ? WHERE key = 'events_retention_anchor'`)
      .run(JSON.stringify({ ...JSON.parse(value), seq: 3 }));
    raw.close();
    const report = await reopenAndVerify(file);
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems[0], { seq: 6, problem: 'gap: rows 4..5 are missing' });
  });
});

describe('retention on the server', () => {
  const DAY = 24 * HOUR;

  /** A data directory whose store holds 4 events stamped 40 days ago, then 3 stamped an hour ago. */
  async function dataDirWithOldEvents(): Promise<string> {
    const dataDir = tempDir();
    const now = Date.now();
    const store = new SqliteStore({ file: join(dataDir, DATABASE_FILE) });
    await store.appendEvents([
      ...[1, 2, 3, 4].map((i) => event(i, now - 40 * DAY + i)),
      ...[5, 6, 7].map((i) => event(i, now - HOUR + i)),
    ]);
    await store.close();
    return dataDir;
  }

  test('storage.retentionDays deletes the old events at start-up, counts them and logs the run', async () => {
    const dataDir = await dataDirWithOldEvents();
    const infos: [string, Record<string, unknown> | undefined][] = [];
    const log = { ...silentLogger, info: (msg: string, fields?: Record<string, unknown>) => infos.push([msg, fields]) };
    const server = await startTestServer({ storage: { retentionDays: 30 } }, { dataDir, log, keepData: true });
    // Closing waits for a run in progress: the start-up run is over once it returns.
    await server.stop();
    assert.deepEqual(seqs(join(dataDir, DATABASE_FILE)), [5, 6, 7]);
    assert.equal(server.metrics.eventsDeleted.get(), 4);
    const runs = infos.filter(([msg]) => msg === 'retention deleted old events');
    assert.equal(runs.length, 1);
    assert.equal(runs[0]![1]!.deleted, 4);
    assert.match(String(runs[0]![1]!.cutoff), /^\d{4}-\d\d-\d\dT/);
    assert.equal((await reopenAndVerify(join(dataDir, DATABASE_FILE))).ok, true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('without storage.retentionDays every event is kept', async () => {
    const dataDir = await dataDirWithOldEvents();
    const server = await startTestServer({}, { dataDir, keepData: true });
    await server.stop();
    assert.deepEqual(seqs(join(dataDir, DATABASE_FILE)), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(server.metrics.eventsDeleted.get(), 0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});
