import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../log.js';
import { failedLogins, startReceiver, startTestServer, tempDir } from '../testing/harness.js';
import { RoutingVersions, routingVersionToJson } from './routing-versions.js';

test('routing changed through the API is validated, versioned, applied at once and kept across restarts', async () => {
  const a = await startReceiver();
  const b = await startReceiver();
  const dataDir = tempDir();
  const config = {
    notify: {
      receivers: [
        { type: 'webhook', name: 'a', url: a.url, allowPrivateNetwork: true },
        { type: 'webhook', name: 'b', url: b.url, allowPrivateNetwork: true },
      ],
    },
    alerting: { route: { receiver: 'a' } },
  };
  let server = await startTestServer(config, { dataDir, keepData: true });
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  try {
    const initial = (await (await call('GET', '/api/v1/alerting/routing')).json()) as {
      version: number;
      origin: string;
    };
    assert.deepEqual([initial.version, initial.origin], [0, 'file']);

    const bad = await call('PUT', '/api/v1/alerting/routing', {
      baseVersion: 0,
      actor: 'erin',
      route: { receiver: 'nobody' },
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /routing\.route\.receiver/);
    const stale = await call('PUT', '/api/v1/alerting/routing', {
      baseVersion: 7,
      actor: 'erin',
      route: { receiver: 'b' },
    });
    assert.equal(stale.status, 409);

    const changed = await call('PUT', '/api/v1/alerting/routing', {
      baseVersion: 0,
      actor: 'erin',
      comment: 'move brute force to team b',
      route: { receiver: 'b' },
    });
    assert.equal(changed.status, 200);
    const v1 = (await changed.json()) as { version: number; actor: string };
    assert.equal(v1.actor, 'erin');

    await server.post('/v1/events', failedLogins(5, '203.0.113.170', 'x', Date.now() - 1000), {
      'content-type': 'application/x-ndjson',
    });
    await b.waitFor(1);
    assert.equal(a.received.length, 0, 'the new routing applies at once');

    await server.close();
    server = await startTestServer(config, { dataDir, keepData: true });
    const after = (await (await call('GET', '/api/v1/alerting/routing')).json()) as { version: number; origin: string };
    assert.deepEqual([after.version, after.origin], [v1.version, 'api'], 'kept across a restart');
    const history = (await (await call('GET', '/api/v1/alerting/routing/versions')).json()) as {
      versions: { version: number; comment?: string }[];
    };
    assert.deepEqual(
      history.versions.map((v) => v.version),
      [0, v1.version],
    );

    const reset = (await (await call('DELETE', '/api/v1/alerting/routing', { actor: 'erin' })).json()) as {
      version: number;
      origin: string;
    };
    assert.equal(reset.origin, 'file');

    // The reset is a version of its own, after a restart too: the next change is made against its number.
    await server.close();
    server = await startTestServer(config, { dataDir, keepData: true });
    const afterReset = (await (await call('GET', '/api/v1/alerting/routing')).json()) as {
      version: number;
      origin: string;
    };
    assert.deepEqual([afterReset.version, afterReset.origin], [reset.version, 'file']);
    const next = await call('PUT', '/api/v1/alerting/routing', {
      baseVersion: reset.version,
      actor: 'erin',
      route: { receiver: 'b' },
    });
    assert.equal(next.status, 200);
  } finally {
    await server.stop();
    await a.close();
    await b.close();
  }
});

test('version 0 in the history is the one GET /api/v1/alerting/routing shows, dated when the server took it up', async () => {
  const startedAt = Date.parse('2026-11-02T10:00:00Z');
  const store = { saveRoutingVersion: async () => 1, routingVersions: async () => [] };
  const versions = new RoutingVersions(
    store,
    new Set(),
    {},
    () => {},
    silentLogger,
    () => startedAt,
  );
  const [first] = await versions.history();
  assert.ok(first);
  assert.deepEqual(routingVersionToJson(first), routingVersionToJson(versions.current()));
  assert.equal(routingVersionToJson(first).createdAt, '2026-11-02T10:00:00.000Z', 'not 1970-01-01');
});
