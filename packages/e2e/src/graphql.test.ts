/**
 * GraphQL, end to end: an Express app with a real GraphQL server (graphql-http), instrumented as docs/sdk.md says,
 * sends to a real Vigil server; what it stores and the alerts the shipped GraphQL rules raise are asserted through
 * the API.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { createVigil, type Vigil } from '@vigil/sdk';
import { vigilErrorHandler, vigilExpress } from '@vigil/sdk/express';
import express from 'express';
import { buildSchema } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/express';
import {
  closeServer,
  eventually,
  listenOnLoopback,
  startTestServer,
  storedAlerts,
  storedEvents,
  type TestServer,
} from './support.js';

const schema = buildSchema(`
  type User { name: String, friends: [User!]! }
  type Query { order(id: ID!): String, me: User }
  type Mutation { login(user: String!, password: String!): Boolean! }
`);
const rootValue = { order: () => 'ok', login: () => false, me: () => ({ name: 'ann', friends: [] }) };

let server: TestServer;
let vigil: Vigil;
let app: Server;
let url: string;

before(async () => {
  server = await startTestServer();
  vigil = createVigil({
    endpoint: server.url,
    token: server.ingestToken,
    service: 'e2e-graphql',
    flushIntervalMillis: 20,
    flushOnExit: false,
  });
  const api = express();
  api.use(vigilExpress(vigil));
  api.use(express.json());
  api.all('/graphql', createHandler({ schema, rootValue }));
  api.use(vigilErrorHandler(vigil));
  app = createServer(api);
  url = `${await listenOnLoopback(app)}/graphql`;
});

after(async () => {
  await closeServer(app);
  await vigil.close();
  await server.stop();
});

const post = async (body: unknown) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
};

test('an introspection query and a batch of login guesses: stored with their operations, each raises its alert', async () => {
  assert.equal(await post({ query: 'query IntrospectionQuery { __schema { queryType { name } } }' }), 200);
  assert.equal(await post({ query: 'query Order { order(id: "7") }', operationName: 'Order' }), 200);
  // graphql-http does not run batches (400), but the attempt is the signal: 12 guesses in one request.
  const guesses = Array.from({ length: 12 }, (_, i) => ({
    query: 'mutation Login($u: String!, $p: String!) { login(user: $u, password: $p) }',
    variables: { u: 'alice', p: `guess-${i}` },
  }));
  assert.equal(await post(guesses), 400);

  const requests = await eventually(async () => {
    const stored = (await storedEvents(server, 'type=http_request')).filter((e) => e['service.name'] === 'e2e-graphql');
    assert.equal(stored.length, 3);
    return stored;
  }, 15_000);
  const byName = new Map(requests.map((e) => [e['graphql.operation.name'], e]));
  assert.equal(byName.get('IntrospectionQuery')?.['vigil.graphql.introspection'], true);
  assert.equal(byName.get('Order')?.['graphql.operation.type'], 'query');
  assert.equal(byName.get('Login')?.['vigil.graphql.operations'], 12);
  assert.equal(byName.get('Login')?.['graphql.operation.type'], 'mutation');
  assert.ok(!JSON.stringify(requests).includes('guess-'), 'no variable reached the store');

  const alerts = await eventually(async () => {
    const found = await storedAlerts(server);
    assert.equal(found.length, 2, JSON.stringify(found.map((a) => a.rule.title)));
    return found;
  }, 15_000);
  const titles = alerts.map((a) => a.rule.title).sort();
  assert.deepEqual(titles, ['GraphQL batch of many operations', 'GraphQL schema introspection from one source']);
  const batch = alerts.find((a) => a.rule.title === 'GraphQL batch of many operations')!;
  assert.equal(batch.labels['graphql.operation.name'], 'Login');
  assert.match(batch.summary, /sent 12 GraphQL operations \(Login\) in one request/);

  // The baselines learn the named operation apart from its route; the batch, which mixes operations, under the route.
  const response = await fetch(`${server.url}/api/v1/baselines/endpoints`, {
    headers: { authorization: `Bearer ${server.apiToken}` },
  });
  const { endpoints } = (await response.json()) as {
    endpoints: { method: string; route: string; operation?: { type: string; fields?: string[] } }[];
  };
  const graphql = endpoints.filter((e) => e.route === '/graphql' && e.method === 'POST');
  assert.ok(graphql.some((e) => e.operation?.type === 'query' && e.operation.fields?.join() === 'order'));
  assert.ok(graphql.some((e) => e.operation === undefined));
});

test('a login guessed through aliases and a query nested deep: recorded as counts, each raises its alert', async () => {
  const aliases = Array.from({ length: 25 }, (_, i) => `a${i}: login(user: "alice", password: "guess-${i}")`);
  assert.equal(await post({ query: `mutation Guess { ${aliases.join(' ')} }`, operationName: 'Guess' }), 200);
  const deep = `query Deep { me { ${'friends { '.repeat(14)}name${' }'.repeat(14)} } }`;
  assert.equal(await post({ query: deep, operationName: 'Deep' }), 200);

  const requests = await eventually(async () => {
    const stored = (await storedEvents(server, 'type=http_request')).filter((e) =>
      ['Guess', 'Deep'].includes(String(e['graphql.operation.name'])),
    );
    assert.equal(stored.length, 2);
    return stored;
  }, 15_000);
  const byName = new Map(requests.map((e) => [e['graphql.operation.name'], e]));
  assert.equal(byName.get('Guess')?.['vigil.graphql.repeated_field'], 'login');
  assert.equal(byName.get('Guess')?.['vigil.graphql.repeated_field_count'], 25);
  assert.equal(byName.get('Guess')?.['vigil.graphql.depth'], 1);
  assert.equal(byName.get('Deep')?.['vigil.graphql.depth'], 16);
  assert.equal(byName.get('Deep')?.['vigil.graphql.repeated_field'], undefined);
  assert.ok(!JSON.stringify(requests).includes('guess-'), 'the document, and its inline passwords, are never stored');

  const alerts = await eventually(async () => {
    const found = (await storedAlerts(server)).filter((a) =>
      ['GraphQL field repeated through aliases', 'Deeply nested GraphQL query'].includes(a.rule.title),
    );
    assert.equal(found.length, 2, JSON.stringify(found.map((a) => a.rule.title)));
    return found;
  }, 15_000);
  const repeated = alerts.find((a) => a.rule.title === 'GraphQL field repeated through aliases')!;
  assert.equal(repeated.labels['vigil.graphql.repeated_field'], 'login');
  assert.match(repeated.summary, /selected login 25 times in one GraphQL request/);
  const nested = alerts.find((a) => a.rule.title === 'Deeply nested GraphQL query')!;
  assert.match(nested.summary, /sent a GraphQL query nested 16 levels deep/);
});

test('a GET whose document passes a password as a block string stores its query with the password hidden', async () => {
  const password = 'BlockStringPassword42';
  const requestId = `graphql-get-${Date.now()}`;
  const document = `mutation Login { login(user: "ann", password: """${password}""") }`;
  const response = await fetch(`${url}?${new URLSearchParams({ query: document })}`, {
    headers: { 'x-request-id': requestId },
  });
  await response.arrayBuffer();
  const [request] = await eventually(async () => {
    const stored = (await storedEvents(server, 'type=http_request')).filter((e) => e['http.request.id'] === requestId);
    assert.equal(stored.length, 1);
    return stored;
  }, 15_000);
  const query = decodeURIComponent(String(request!['url.query']));
  assert.match(query, /password: """\[REDACTED\]"""/);
  assert.ok(!JSON.stringify(request).includes(password), JSON.stringify(request));
});
