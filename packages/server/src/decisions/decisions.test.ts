/**
 * Response decisions against a real server on loopback: opt-in, the brute-force alert → a block decision in the API
 * and the stream, the allow-list, the ladder, revocation, expiry, and the long-polling stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildConfig } from '../config.js';
import { ConfigError, type VigilError } from '../errors.js';
import { silentLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { SqliteStore } from '../store/sqlite.js';
import { eventually, failedLogins, startTestServer, type TestServer } from '../testing/harness.js';
import { sampleAlert } from '../testing/receivers.js';
import type { Decision } from './decision.js';
import { DecisionService } from './service.js';

const BRUTE_FORCE = 'rule="vigil-authn-brute-force"';

function responseConfig(extra: Record<string, unknown> = {}) {
  return {
    response: {
      enabled: true,
      rules: [{ matchers: [BRUTE_FORCE], scope: 'ip', ladder: [{ action: 'block', duration: '15m' }] }],
      stream: { maxWaitMillis: 3000, maxWaiters: 8 },
      ...extra,
    },
  };
}

interface DecisionBody {
  id: string;
  action: string;
  scope: string;
  value: string;
  status: string;
  level: number;
  reason: { ruleId: string; alertId: string };
  ratePerMinute?: number;
  revokedBy?: string;
}

async function decisions(server: TestServer, query = ''): Promise<DecisionBody[]> {
  const res = await server.get(`/api/v1/decisions${query}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { decisions: DecisionBody[] }).decisions;
}

async function stream(server: TestServer, query = '', token = server.ingestToken) {
  const res = await fetch(`${server.url}/v1/decisions/stream${query}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: (await res.json()) as { decisions: DecisionBody[]; cursor: string } };
}

/** Resolves once the server holds `count` stream polls: a poll sent is not yet a poll held. */
async function heldPolls(server: TestServer, count: number): Promise<void> {
  await eventually(async () => assert.equal(server.metrics.decisionStreamWaiters.get(), count));
}

async function attack(server: TestServer, address: string, end = Date.now()) {
  const res = await server.post('/v1/events', failedLogins(5, address, 'u', end), {
    'content-type': 'application/x-ndjson',
  });
  assert.equal(res.status, 200);
}

async function firingAlert(server: TestServer, address: string) {
  return eventually(async () => {
    const res = await server.get('/api/v1/alerts?status=firing');
    const { alerts } = (await res.json()) as { alerts: { id: string; labels: Record<string, string> }[] };
    const alert = alerts.find((a) => a.labels['client.address'] === address);
    assert.ok(alert, `no firing alert for ${address}`);
    return alert;
  });
}

describe('response decisions', () => {
  test('are off by default: an alert makes no decision', async () => {
    assert.equal(buildConfig({}, {}).response.enabled, false);
    const server = await startTestServer();
    try {
      await attack(server, '198.51.100.7');
      await firingAlert(server, '198.51.100.7');
      assert.deepEqual(await decisions(server), []);
      const { body } = await stream(server, '?waitMillis=0');
      assert.deepEqual(body.decisions, []);
      // A first request (no cursor) is answered at once even with nothing in force and the default wait (25 s), so
      // an app starting up is in step without waiting; a request with a cursor is what is held.
      const first = await Promise.race([
        stream(server),
        new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 10_000).unref()),
      ]);
      assert.notEqual(first, 'held', 'the first request was held');
      assert.deepEqual(first !== 'held' && first.body.decisions, []);
    } finally {
      await server.stop();
    }
  });

  test('five failed logins give a block decision on the address, in the API and the stream', async () => {
    const server = await startTestServer(responseConfig());
    try {
      await attack(server, '198.51.100.7');
      const alert = await firingAlert(server, '198.51.100.7');
      const [decision] = await eventually(async () => {
        const list = await decisions(server, '?active=true');
        assert.equal(list.length, 1);
        return list;
      });
      assert.equal(decision!.action, 'block');
      assert.equal(decision!.scope, 'ip');
      assert.equal(decision!.value, '198.51.100.7');
      assert.equal(decision!.status, 'active');
      assert.equal(decision!.level, 0);
      assert.deepEqual(
        { ruleId: decision!.reason.ruleId, alertId: decision!.reason.alertId },
        { ruleId: 'vigil-authn-brute-force', alertId: alert.id },
      );

      // The decisions an alert caused, by its id.
      assert.deepEqual(
        (await decisions(server, `?alert=${alert.id}`)).map((d) => d.id),
        [decision!.id],
      );
      assert.deepEqual(await decisions(server, '?alert=another-alert'), []);

      const one = await server.get(`/api/v1/decisions/${decision!.id}`);
      assert.equal(((await one.json()) as DecisionBody).id, decision!.id);

      const first = await stream(server);
      assert.equal(first.status, 200);
      assert.deepEqual(
        first.body.decisions.map((d) => [d.id, d.action, d.scope, d.value, d.status]),
        [[decision!.id, 'block', 'ip', '198.51.100.7', 'active']],
      );
      // The stream takes the ingest token (the one SDKs hold), never the API token.
      assert.equal((await stream(server, '', server.apiToken)).status, 403);
      // The API takes the API token, never the ingest token.
      assert.equal((await server.get('/api/v1/decisions', server.ingestToken)).status, 403);

      const metrics = await (await server.get('/metrics')).text();
      assert.match(metrics, /vigil_decisions_total\{action="block",scope="ip"\} 1/);
    } finally {
      await server.stop();
    }
  });

  test('never decides against an allow-listed address', async () => {
    const server = await startTestServer(responseConfig({ allowList: ['198.51.100.0/24', 'ops-healthcheck'] }));
    try {
      await attack(server, '198.51.100.8');
      await attack(server, '203.0.113.50');
      await firingAlert(server, '198.51.100.8');
      await firingAlert(server, '203.0.113.50');
      const list = await eventually(async () => {
        const l = await decisions(server);
        assert.equal(l.length, 1);
        return l;
      });
      // Only the address outside the allow-list got one.
      assert.equal(list[0]!.value, '203.0.113.50');
      const metrics = await (await server.get('/metrics')).text();
      assert.match(metrics, /vigil_decisions_skipped_total\{reason="allow_list"\} 1/);
    } finally {
      await server.stop();
    }
  });

  test('repeat offenders climb the ladder', async () => {
    const server = await startTestServer({
      response: { enabled: true, rules: [{ matchers: [BRUTE_FORCE], scope: 'ip' }], throttleRatePerMinute: 30 },
    });
    try {
      const address = '203.0.113.77';
      const levels: [string, number, number | undefined][] = [];
      let end = Date.now() - 60_000;
      for (let offence = 0; offence < 3; offence++) {
        await attack(server, address, end);
        const alert = await firingAlert(server, address);
        const list = await eventually(async () => {
          const l = await decisions(server, `?scope=ip&value=${address}`);
          assert.equal(l.length, offence + 1);
          return l;
        });
        levels.push([list[0]!.action, list[0]!.level, list[0]!.ratePerMinute]);
        // A person closes the incident; the next attack is a new alert, and a repeat offence.
        const res = await fetch(`${server.url}/api/v1/alerts/${alert.id}/resolve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ actor: 'alice' }),
        });
        assert.equal(res.status, 200);
        end += 10_000;
      }
      assert.deepEqual(levels, [
        ['flag', 0, undefined],
        ['throttle', 1, 30],
        ['block', 2, undefined],
      ]);
    } finally {
      await server.stop();
    }
  });

  test('a revoked decision leaves the active list and the stream says so', async () => {
    const server = await startTestServer(responseConfig());
    try {
      const { body: start } = await stream(server, '?waitMillis=0');
      await attack(server, '198.51.100.20');
      const [decision] = await eventually(async () => {
        const l = await decisions(server, '?active=true');
        assert.equal(l.length, 1);
        return l;
      });
      const created = await stream(server, `?since=${start.cursor}&waitMillis=0`);
      assert.deepEqual(
        created.body.decisions.map((d) => d.status),
        ['active'],
      );

      const revoke = (body: unknown) =>
        fetch(`${server.url}/api/v1/decisions/${decision!.id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      assert.equal((await revoke({})).status, 400); // who revokes is required
      const res = await revoke({ actor: 'carol', comment: 'office NAT' });
      assert.equal(res.status, 200);
      const revoked = (await res.json()) as DecisionBody;
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.revokedBy, 'carol');
      assert.equal((await revoke({ actor: 'carol' })).status, 409);

      assert.deepEqual(await decisions(server, '?active=true'), []);
      const after = await stream(server, `?since=${created.body.cursor}&waitMillis=0`);
      assert.deepEqual(
        after.body.decisions.map((d) => [d.id, d.status]),
        [[decision!.id, 'revoked']],
      );
      // A fresh stream (no cursor) holds only what is in force.
      assert.deepEqual((await stream(server, '?waitMillis=0')).body.decisions, []);
    } finally {
      await server.stop();
    }
  });

  test('the stream holds a poll until something changes, and wakes on expiry', async () => {
    const server = await startTestServer(
      responseConfig({
        rules: [{ matchers: [BRUTE_FORCE], scope: 'ip', ladder: [{ action: 'block', duration: '1500ms' }] }],
        // The poll is held far longer than a busy machine takes to decide, so that an answer at the time-out shows.
        stream: { maxWaitMillis: 20_000, maxWaiters: 8 },
      }),
    );
    try {
      const { body: start } = await stream(server, '?waitMillis=0');
      const started = Date.now();
      const held = stream(server, `?since=${start.cursor}&waitMillis=20000`);
      await heldPolls(server, 1);
      await attack(server, '198.51.100.30');
      const created = await held;
      assert.ok(Date.now() - started < 19_000, 'the held poll was answered when the decision was made');
      assert.deepEqual(
        created.body.decisions.map((d) => [d.value, d.status]),
        [['198.51.100.30', 'active']],
      );

      // Nothing new until the decision expires: the held poll is answered at its expiry, not at the time-out.
      const expired = await stream(server, `?since=${created.body.cursor}&waitMillis=3000`);
      assert.deepEqual(
        expired.body.decisions.map((d) => [d.value, d.status]),
        [['198.51.100.30', 'expired']],
      );
      assert.deepEqual(await decisions(server, '?active=true'), []);
      assert.equal((await decisions(server))[0]!.status, 'expired');

      // Nothing at all: answered empty at the time-out, with a cursor to go on from.
      const t0 = Date.now();
      const empty = await stream(server, `?since=${expired.body.cursor}&waitMillis=300`);
      assert.deepEqual(empty.body.decisions, []);
      assert.ok(Date.now() - t0 >= 250);
      assert.equal(typeof empty.body.cursor, 'string');
      assert.equal((await stream(server, '?since=not-a-cursor&waitMillis=0')).status, 400);
    } finally {
      await server.stop();
    }
  });

  test('bounds the number of held polls', async () => {
    const server = await startTestServer(responseConfig({ stream: { maxWaitMillis: 3000, maxWaiters: 1 } }));
    try {
      const { body } = await stream(server, '?waitMillis=0');
      const held = stream(server, `?since=${body.cursor}&waitMillis=1500`);
      await heldPolls(server, 1);
      const t0 = Date.now();
      const second = await stream(server, `?since=${body.cursor}&waitMillis=1500`);
      assert.equal(second.status, 200);
      assert.ok(Date.now() - t0 < 1000, 'beyond maxWaiters a poll is answered at once');
      await held;
    } finally {
      await server.stop();
    }
  });

  test('a stopping server answers held polls', async () => {
    const server = await startTestServer(responseConfig({ stream: { maxWaitMillis: 20_000, maxWaiters: 8 } }));
    const { body } = await stream(server, '?waitMillis=0');
    const held = stream(server, `?since=${body.cursor}`);
    await heldPolls(server, 1);
    const t0 = Date.now();
    await server.stop();
    assert.equal((await held).status, 200);
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('response configuration', () => {
  const bad = (response: unknown, key: string) =>
    assert.throws(
      () => buildConfig({ response }, {}),
      (e: unknown) => e instanceof ConfigError && e.key === key,
    );

  test('names the key that is wrong', () => {
    bad({ enabeld: true }, 'response.enabeld');
    bad({ enabled: 'yes' }, 'response.enabled');
    bad({ rules: [{ matchers: [BRUTE_FORCE], scope: 'subnet' }] }, 'response.rules[0].scope');
    bad({ rules: [{ matchers: [], scope: 'ip' }] }, 'response.rules[0].matchers');
    bad({ rules: [{ matchers: ['rule=~"("'], scope: 'ip' }] }, 'response.rules[0].matchers[0]');
    bad({ ladder: [] }, 'response.ladder');
    bad({ ladder: [{ action: 'ban', duration: '1h' }] }, 'response.ladder[0].action');
    bad({ ladder: [{ action: 'block', duration: 'forever' }] }, 'response.ladder[0].duration');
    bad({ ladder: [{ action: 'block', duration: '1h', ratePerMinute: 5 }] }, 'response.ladder[0].ratePerMinute');
    bad({ allowList: ['10.0.0.0/33'] }, 'response.allowList[0]');
    bad({ stream: { maxWaitMillis: -1 } }, 'response.stream.maxWaitMillis');
  });

  test('has a safe default: high and critical alerts about an address, first offence only flagged', () => {
    const { response } = buildConfig({ response: { enabled: true } }, {});
    assert.equal(response.rules.length, 1);
    assert.equal(response.rules[0]!.scope, 'ip');
    assert.deepEqual(
      response.rules[0]!.ladder.map((s) => [s.action, s.durationMillis]),
      [
        ['flag', 15 * 60_000],
        ['throttle', 5 * 60_000],
        ['block', 15 * 60_000],
        ['block', 4 * 3_600_000],
      ],
    );
    assert.equal(response.repeatWindowMillis, 24 * 3_600_000);
  });
});

test('a decision the store fails to write is logged and counted, and the alert goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const metrics = createMetrics();
  const errors: string[] = [];
  const service = new DecisionService({
    // The real store, but its insert fails as a locked database does.
    store: Object.assign(Object.create(store) as SqliteStore, {
      insertDecision: async () => {
        throw new Error('database is locked');
      },
    }),
    config: buildConfig(responseConfig(), {}).response,
    log: { ...silentLogger, error: (msg, fields) => errors.push(`${msg}: ${fields?.error}`) },
    metrics,
  });
  try {
    const made = await service.onAlertOpened(
      sampleAlert(1, { rule: 'vigil-authn-brute-force', 'client.address': '198.51.100.9' }),
    );
    assert.deepEqual(made, []);
    assert.deepEqual(errors, ['making a decision failed: database is locked']);
    assert.match(metrics.registry.render(), /vigil_decisions_skipped_total\{reason="store_error"\} 1/);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an allow-list entry written IPv4-mapped protects the IPv4 client it names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const service = new DecisionService({
    store,
    config: buildConfig(responseConfig({ allowList: ['::ffff:10.0.0.7', '::ffff:198.51.100.0/120'] }), {}).response,
    log: silentLogger,
  });
  try {
    const decided: string[] = [];
    for (const [n, address] of ['10.0.0.7', '::ffff:10.0.0.7', '198.51.100.20', '198.51.101.20'].entries()) {
      const alert = sampleAlert(n, { rule: 'vigil-authn-brute-force', 'client.address': address });
      decided.push(...(await service.onAlertOpened(alert)).map((d) => d.value));
    }
    // Only the address outside 198.51.100.0/24 gets a decision.
    assert.deepEqual(decided, ['198.51.101.20']);
  } finally {
    service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after retention deleted a revoked decision, a stream cursor from before its cutoff starts over', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const DAY = 86_400_000;
  let now = Date.UTC(2026, 10, 2);
  const service = new DecisionService({
    store,
    config: buildConfig(responseConfig(), {}).response,
    log: silentLogger,
    now: () => now,
  });
  try {
    const [decision] = await service.onAlertOpened(
      sampleAlert(1, { rule: 'vigil-authn-brute-force', 'client.address': '203.0.113.9' }),
    );
    // An SDK takes the block, then stops asking; the block is revoked meanwhile.
    const held = await service.stream(undefined, 0);
    assert.deepEqual(
      held.decisions.map((d) => d.id),
      [decision!.id],
    );
    now += 60_000;
    await service.revoke(decision!.id, { name: 'carol', tokenId: 't' });
    now += 40 * DAY;
    assert.equal((await store.deleteEndedBefore(now - 30 * DAY)).decisions, 1);
    // The revocation it never heard of is gone: its cursor is refused, and the SDK starts over without one.
    await assert.rejects(service.stream(held.cursor, 0), (e: VigilError) => {
      assert.equal(e.code, 'invalid_parameter');
      assert.match(e.message, /older than the retention window of decisions; start over/);
      return true;
    });
    const fresh = await service.stream(undefined, 0);
    assert.deepEqual(fresh.decisions, []);
    assert.deepEqual((await service.stream(fresh.cursor, 0)).decisions, []);
    // A new decision still takes a version after the deleted one's, so the fresh cursor sees it.
    const [next] = await service.onAlertOpened(
      sampleAlert(2, { rule: 'vigil-authn-brute-force', 'client.address': '203.0.113.10' }),
    );
    assert.equal(next!.version, 3);
    assert.deepEqual(
      (await service.stream(fresh.cursor, 0)).decisions.map((d) => d.id),
      [next!.id],
    );
  } finally {
    service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('of two revocations of one decision at once, the first stands and the second is a conflict', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
  const store = new SqliteStore({ file: join(dir, 'vigil.db') });
  const service = new DecisionService({ store, config: buildConfig(responseConfig(), {}).response, log: silentLogger });
  try {
    const [decision] = await service.onAlertOpened(
      sampleAlert(1, { rule: 'vigil-authn-brute-force', 'client.address': '203.0.113.9' }),
    );
    const results = await Promise.allSettled([
      service.revoke(decision!.id, { name: 'carol', tokenId: 'tok-carol', comment: 'office NAT' }),
      service.revoke(decision!.id, { name: 'mallory', tokenId: 'tok-mallory', comment: 'cover' }),
    ]);
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[1]!.status, 'rejected');
    const error = (results[1] as PromiseRejectedResult).reason as VigilError;
    assert.equal(error.code, 'conflict');
    assert.match(error.message, /is revoked; only an active one can be revoked/);
    const stored = await store.getDecision(decision!.id);
    assert.equal(stored!.revoked!.actor, 'carol');
    assert.equal(stored!.revoked!.comment, 'office NAT');
  } finally {
    service.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the decision stream, past one answer', () => {
  async function withService(
    run: (service: DecisionService, store: SqliteStore, clock: { now: number }) => Promise<void>,
  ) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-decisions-'));
    const store = new SqliteStore({ file: join(dir, 'vigil.db') });
    const clock = { now: Date.UTC(2026, 10, 27, 9, 0, 0) };
    const service = new DecisionService({
      store,
      config: buildConfig(responseConfig(), {}).response,
      log: silentLogger,
      now: () => clock.now,
    });
    try {
      await run(service, store, clock);
    } finally {
      service.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const block = (n: number, createdAt: number, expiresAt: number): Decision => ({
    id: `dec_${n}`,
    action: 'block',
    scope: 'ip',
    value: `10.0.${Math.floor(n / 256)}.${n % 256}`,
    reason: { ruleId: 'r', alertId: `a${n}`, responseRule: 0, summary: 's' },
    createdAt,
    expiresAt,
    level: 0,
    version: 0,
  });

  test('a set in force larger than one answer is delivered whole, oldest decisions included', async () => {
    await withService(async (service, store, clock) => {
      for (let n = 0; n < 5003; n++) await store.insertDecision(block(n, clock.now, clock.now + 3_600_000));
      const ids = new Set<string>();
      let cursor: string | undefined;
      for (let polls = 0; polls < 4; polls++) {
        const answer = await service.stream(cursor, 0);
        for (const d of answer.decisions) ids.add(d.id);
        cursor = answer.cursor;
      }
      assert.equal(ids.size, 5003);
      assert.ok(ids.has('dec_0'), 'the oldest decision');
    });
  });

  test('more expiries than one answer: the cursor moves on, the same page is not sent forever', async () => {
    await withService(async (service, store, clock) => {
      const start = clock.now;
      for (let n = 0; n < 5003; n++) await store.insertDecision(block(n, start, start + 60_000 + n));
      const first = await service.stream(undefined, 0);
      assert.equal(first.decisions.length, 5000);
      let cursor = (await service.stream(first.cursor, 0)).cursor; // the 3 left of the set in force
      clock.now = start + 3_600_000; // all of them expired since
      const seen = new Set<string>();
      for (let polls = 0; polls < 3; polls++) {
        const answer = await service.stream(cursor, 0);
        for (const d of answer.decisions) seen.add(d.id);
        if (answer.decisions.length === 0) break;
        assert.notEqual(answer.cursor, cursor, 'the cursor moved');
        cursor = answer.cursor;
      }
      assert.ok(seen.size >= 5000, `${seen.size} expiry notices`);
      assert.deepEqual((await service.stream(cursor, 0)).decisions, []);
    });
  });

  test('a cursor ahead of the store (started afresh) is refused: the SDK drops what it holds and starts over', async () => {
    await withService(async (service) => {
      const ahead = Buffer.from(JSON.stringify([99, Date.now()])).toString('base64url');
      await assert.rejects(service.stream(ahead, 0), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'invalid_parameter');
        return true;
      });
    });
  });
});

describe('requests answered by an SDK enforcing a decision', () => {
  const refused = (user: string, decisionId: string | undefined, end: number) =>
    Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({
        time: end - (5 - i) * 1000,
        type: 'http_request',
        'http.request.method': 'GET',
        'url.path': `/admin/users/${i}`,
        'http.route': '/admin/users/:id',
        'http.response.status_code': 403,
        'client.address': '203.0.113.50',
        'user.id': user,
        ...(decisionId ? { 'vigil.decision.id': decisionId, 'vigil.decision.action': 'block' } : {}),
      }),
    ).join('\n');

  test("are stored but kept out of detection: Vigil's own 403s raise no alert", async () => {
    const server = await startTestServer();
    try {
      const end = Date.now();
      for (const [user, decision] of [
        ['blocked-user', 'dec_1'],
        ['refused-user', undefined],
      ] as const) {
        const res = await server.post('/v1/events', refused(user, decision, end), {
          'content-type': 'application/x-ndjson',
        });
        assert.equal(res.status, 200);
      }
      // The app's own refusals raise the alert; the ones enforcement answered, the same in every other way, do not.
      const alerts = await eventually(async () => {
        const res = await server.get('/api/v1/alerts');
        const { alerts } = (await res.json()) as { alerts: { labels: Record<string, string> }[] };
        assert.ok(alerts.some((a) => a.labels['user.id'] === 'refused-user'));
        return alerts;
      }, 10_000);
      assert.ok(!alerts.some((a) => a.labels['user.id'] === 'blocked-user'));
      const stored = await server.get('/api/v1/events?user.id=blocked-user');
      assert.equal(((await stored.json()) as { events: unknown[] }).events.length, 6);
    } finally {
      await server.stop();
    }
  });
});
