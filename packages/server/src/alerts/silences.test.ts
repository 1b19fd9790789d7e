/**
 * Silences through their API body, on a real store: times as the rest of the API reads them, and the expiry of one
 * that had not started.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { VigilError } from '../errors.js';
import { SqliteStore } from '../store/sqlite.js';
import { tempDir } from '../testing/harness.js';
import { Silences } from './silences.js';

const NOW = Date.UTC(2026, 11, 1, 7, 0, 0);
const body = (times: Record<string, unknown>) => ({
  matchers: ['client.address="203.0.113.7"'],
  createdBy: 'carol',
  comment: 'pen test window',
  ...times,
});

/** Silences on a store in a fresh directory, on the test's clock; the directory is removed afterwards. */
async function withSilences(run: (silences: Silences) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  try {
    await run(new Silences(store, () => NOW));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('silence times: RFC 3339 with an offset or epoch ms; without an offset, or loose text, a 400', async () => {
  await withSilences(async (silences) => {
    const zoned = await silences.create(
      body({ startsAt: '2026-12-01T09:00:00+01:00', endsAt: Date.UTC(2026, 11, 1, 16, 0, 0) }),
    );
    assert.deepEqual([zoned.startsAt, zoned.endsAt], ['2026-12-01T08:00:00.000Z', '2026-12-01T16:00:00.000Z']);
    // Read in the server's own time zone, these would move with it.
    for (const startsAt of ['2026-12-01T09:00:00', 'Dec 1 2026 09:00', '2026']) {
      await assert.rejects(
        silences.create(body({ startsAt, durationMillis: 3_600_000 })),
        (e: unknown) =>
          e instanceof VigilError && /"startsAt" must be an RFC 3339 time with its offset/.test(e.message),
        startsAt,
      );
    }
  });
});

test('expiring a silence that has not started ends it: expired, not pending, and never ending before it starts', async () => {
  await withSilences(async (silences) => {
    const later = await silences.create(body({ startsAt: NOW + 3_600_000, durationMillis: 3_600_000 }));
    assert.equal(later.state, 'pending');
    const expired = await silences.expire(later.id, 'carol');
    assert.equal(expired.state, 'expired');
    assert.ok(expired.startsAt <= expired.endsAt);
    assert.deepEqual(
      silences.list('pending').map((s) => s.id),
      [],
    );
    assert.deepEqual(
      silences.list('expired').map((s) => s.id),
      [later.id],
    );
  });
});

test('matchers that would silence every alert are refused, however they are written', async () => {
  await withSilences(async (silences) => {
    for (const matchers of [
      ['rule=~".*"'],
      ['rule=~".+"'],
      ['client.address!="203.0.113.7"'],
      ['severity=~"info|low|medium|high|critical"'],
    ]) {
      await assert.rejects(
        silences.create({ ...body({ durationMillis: 60_000 }), matchers }),
        /would match every alert/,
        matchers.join(),
      );
    }
    for (const matchers of [['rule=~"vigil-authn-.*"'], ['severity=~"low|medium"'], ['rule=~".+"', 'user.id="4711"']]) {
      assert.equal((await silences.create({ ...body({ durationMillis: 60_000 }), matchers })).state, 'active');
    }
  });
});
