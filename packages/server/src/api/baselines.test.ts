import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, failedLogins, startTestServer } from '../testing/harness.js';

/** `count` http_request events a second apart, from a minute ago, as NDJSON. */
function requestLines(count: number, fields: (i: number) => Record<string, unknown>): string {
  const start = Date.now() - 60_000;
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({ time: start + i * 1000, type: 'http_request', ...fields(i) }),
  ).join('\n');
}

test('baselines are visible through the API; marking an alert a false positive resolves and silences it', async () => {
  const server = await startTestServer();
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  try {
    const requests = requestLines(50, (i) => ({
      'http.request.method': 'GET',
      'url.path': `/accounts/${i}`,
      'http.route': '/accounts/{id}',
      'http.response.status_code': 200,
      'client.address': '198.51.100.7',
      'user.id': 'u-42',
      'user.roles': ['customer'],
    }));
    await server.post('/v1/events', requests, { 'content-type': 'application/x-ndjson' });
    const endpoints = await eventually(async () => {
      const body = (await (await api('GET', '/api/v1/baselines/endpoints')).json()) as {
        endpoints: { route: string; method: string; requests: number }[];
      };
      assert.equal(body.endpoints.find((e) => e.route === '/accounts/{id}')?.requests, 50);
      return body.endpoints;
    });
    assert.equal(endpoints.length, 1);
    const baseline = await api('GET', '/api/v1/baselines/endpoint?route=/accounts/{id}&method=get');
    assert.equal(baseline.status, 200);
    assert.equal((await api('GET', '/api/v1/baselines/endpoint?route=/nope&method=GET')).status, 404);
    assert.equal((await api('GET', '/api/v1/baselines/principal?user.id=u-42')).status, 200);
    assert.equal((await api('GET', '/api/v1/baselines/principal')).status, 400);

    await server.post('/v1/events', failedLogins(5, '203.0.113.200', 'fp', Date.now() - 1000), {
      'content-type': 'application/x-ndjson',
    });
    const alert = await eventually(async () => {
      const list = (await (await server.get('/api/v1/alerts?rule=vigil-authn-brute-force')).json()) as {
        alerts: { id: string }[];
      };
      assert.equal(list.alerts.length, 1);
      return list.alerts[0]!;
    });
    const marked = await api('POST', `/api/v1/alerts/${alert.id}/false-positive`, {
      actor: 'dana',
      comment: 'our load balancer health check',
      durationMillis: 3_600_000,
    });
    assert.equal(marked.status, 200);
    const result = (await marked.json()) as {
      alert: { status: string };
      suppression: { matchers: string[]; createdBy: string };
    };
    assert.equal(result.alert.status, 'resolved');
    assert.ok(result.suppression.matchers.includes('client.address="203.0.113.200"'));
    assert.equal(result.suppression.createdBy, 'dana');
    const history = (await (await api('GET', `/api/v1/alerts/${alert.id}/history`)).json()) as {
      actions: { action: string; actor: string; comment: string }[];
    };
    assert.deepEqual(
      history.actions.map((a) => [a.action, a.actor, a.comment]),
      [['false_positive', 'dana', 'our load balancer health check']],
    );
    // Resolved now: like every action, a second one is a 409, and it makes no silence of its own.
    const silencesBefore = ((await (await api('GET', '/api/v1/silences')).json()) as { silences: unknown[] }).silences;
    const again = await api('POST', `/api/v1/alerts/${alert.id}/false-positive`, {
      actor: 'mallory',
      durationMillis: 31_536_000_000,
    });
    assert.equal(again.status, 409);
    const silencesAfter = ((await (await api('GET', '/api/v1/silences')).json()) as { silences: unknown[] }).silences;
    assert.equal(silencesAfter.length, silencesBefore.length);
  } finally {
    await server.stop();
  }
});

test('GraphQL operations have baselines of their own, through the API and in the inventory', async () => {
  const server = await startTestServer();
  const api = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${server.apiToken}` } });
  try {
    const requests = requestLines(30, (i) => ({
      'http.request.method': 'POST',
      'url.path': '/graphql',
      'http.route': '/graphql',
      'http.response.status_code': 200,
      'client.address': '198.51.100.8',
      'user.id': 'u-7',
      'graphql.operation.type': i % 3 === 0 ? 'mutation' : 'query',
      'graphql.operation.name': i % 3 === 0 ? 'DeleteUser' : 'MyOrders',
      'vigil.graphql.operations': 1,
      'vigil.graphql.root_fields': i % 3 === 0 ? ['deleteUser'] : ['me', 'orders'],
    }));
    await server.post('/v1/events', requests, { 'content-type': 'application/x-ndjson' });
    const endpoints = await eventually(async () => {
      const body = (await (await api('/api/v1/baselines/endpoints')).json()) as {
        endpoints: {
          route: string;
          method: string;
          operation?: { type: string; fields: string[] };
          requests: number;
        }[];
      };
      assert.equal(
        body.endpoints.reduce((sum, e) => sum + e.requests, 0),
        30,
      );
      return body.endpoints;
    });
    assert.deepEqual(
      endpoints.map((e) => [e.method, e.route, e.operation?.type, e.operation?.fields.join(' '), e.requests]).sort(),
      [
        ['POST', '/graphql', 'mutation', 'deleteUser', 10],
        ['POST', '/graphql', 'query', 'me orders', 20],
      ],
    );
    const baseline = (operation: string) =>
      api(`/api/v1/baselines/endpoint?route=/graphql&method=POST&operation=${encodeURIComponent(operation)}`);
    const one = await baseline('mutation { deleteUser }');
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { requests: number }).requests, 10);
    const two = await baseline('query {orders me}');
    assert.equal(((await two.json()) as { requests: number }).requests, 20, 'root fields in any order');
    assert.equal((await baseline('mutation DeleteUser')).status, 404, 'known by its root fields, not its name');
    assert.equal((await api('/api/v1/baselines/endpoint?route=/graphql&method=POST')).status, 404, 'no route-wide one');
    const bad = await api('/api/v1/baselines/endpoint?route=/graphql&method=POST&operation=DeleteUser');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /mutation \{ deleteUser \}/);
    const inventory = (await (await api('/api/v1/inventory')).json()) as {
      endpoints: { route: string; operation?: { fields: string[] }; requests: number }[];
    };
    assert.deepEqual(
      inventory.endpoints.map((e) => [e.route, e.operation?.fields.join(' '), e.requests]),
      [
        ['/graphql', 'deleteUser', 10],
        ['/graphql', 'me orders', 20],
      ],
    );
  } finally {
    await server.stop();
  }
});
