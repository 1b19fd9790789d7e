/**
 * Response decisions against a real server on loopback: opt-in, the brute-force alert → a block decision in the API
 * and the stream, the allow-list, the ladder, revocation, expiry, and the long-polling stream.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { eventually, failedLogins, startTestServer, type TestServer } from '../testing/harness.js';

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
      }),
    );
    try {
      const { body: start } = await stream(server, '?waitMillis=0');
      const started = Date.now();
      const held = stream(server, `?since=${start.cursor}&waitMillis=3000`);
      await new Promise((r) => setTimeout(r, 200));
      await attack(server, '198.51.100.30');
      const created = await held;
      assert.ok(Date.now() - started < 2900, 'the held poll was answered when the decision was made');
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
      await new Promise((r) => setTimeout(r, 100));
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
    await new Promise((r) => setTimeout(r, 100));
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
