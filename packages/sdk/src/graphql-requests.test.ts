import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { buildSchema } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/express';
import { Hono } from 'hono';
import { vigilErrorHandler, vigilExpress } from './adapters/express.js';
import { vigilFastify } from './adapters/fastify.js';
import { vigilHono } from './adapters/hono.js';
import { wrap } from './adapters/node.js';
import { createTestVigil, type TestVigil } from './test-kit.js';

const schema = buildSchema(`
  type Order { id: ID! total: Float! }
  type Query { order(id: ID!): Order, orders: [Order!]! }
  type Mutation { login(user: String!, password: String!): Boolean! }
`);
const rootValue = {
  order: ({ id }: { id: string }) => ({ id, total: 12.5 }),
  orders: () => [{ id: '1', total: 3 }],
  login: () => false,
};

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The http_request of the request tagged `tag` (its X-Request-Id). */
async function requestEvent(vigil: TestVigil, tag: string) {
  const [event] = await vigil.waitFor('http_request', (e) => e['http.request.id'] === tag);
  return event!;
}

describe('GraphQL requests: Express with a real GraphQL server (graphql-http)', () => {
  const vigil = createTestVigil();
  let server: Server;
  let url: string;
  before(async () => {
    const app = express();
    app.use(vigilExpress(vigil));
    app.use(express.json());
    app.all('/api/graphql', createHandler({ schema, rootValue }));
    app.use(vigilErrorHandler(vigil));
    server = createServer(app);
    url = `${await listen(server)}/api/graphql`;
  });
  after(() => {
    server.close();
  });
  const tagged = (tag: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': tag },
      body: JSON.stringify(body),
    });

  test('a named query: its name and type, one operation; never the document or its arguments', async () => {
    const response = await tagged('gql-1', {
      query: 'query FindOrder($id: ID!) { order(id: $id) { id total } }',
      variables: { id: 'secret-order-4711' },
      operationName: 'FindOrder',
    });
    assert.equal(response.status, 200);
    const event = await requestEvent(vigil, 'gql-1');
    assert.equal(event['http.route'], '/api/graphql');
    assert.equal(event['graphql.operation.name'], 'FindOrder');
    assert.equal(event['graphql.operation.type'], 'query');
    assert.equal(event['vigil.graphql.operations'], 1);
    assert.equal('vigil.graphql.introspection' in event, false);
    assert.ok(!JSON.stringify(vigil.events()).includes('secret-order-4711'));
    assert.ok(!JSON.stringify(vigil.events()).includes('total }'));
  });

  test('an anonymous mutation with inline arguments: its type, no name, no argument recorded', async () => {
    await tagged('gql-2', { query: 'mutation { login(user: "ann", password: "hunter2") }' });
    const event = await requestEvent(vigil, 'gql-2');
    assert.equal(event['graphql.operation.type'], 'mutation');
    assert.equal('graphql.operation.name' in event, false);
    assert.ok(!JSON.stringify(vigil.events()).includes('hunter2'));
  });

  test('an introspection query is marked', async () => {
    await tagged('gql-3', { query: 'query IntrospectionQuery { __schema { queryType { name } } }' });
    const event = await requestEvent(vigil, 'gql-3');
    assert.equal(event['vigil.graphql.introspection'], true);
    assert.equal(event['graphql.operation.name'], 'IntrospectionQuery');
  });

  test('a GET carries its operation in the query string', async () => {
    const query = new URLSearchParams({ query: 'query AllOrders { orders { id } }' });
    const response = await fetch(`${url}?${query}`, { headers: { 'x-request-id': 'gql-4' } });
    assert.equal(response.status, 200);
    const event = await requestEvent(vigil, 'gql-4');
    assert.equal(event['graphql.operation.name'], 'AllOrders');
    assert.equal(event['graphql.operation.type'], 'query');
  });
});

describe('GraphQL requests: a batch on Hono, and the paths option', () => {
  test('a batch of logins is counted (the handler read the body; Vigil reads what it parsed)', async () => {
    const vigil = createTestVigil();
    const app = new Hono();
    app.use(vigilHono(vigil));
    app.post('/graphql', async (c) => {
      const body = await c.req.json();
      return c.json(Array.isArray(body) ? body.map(() => ({ data: { login: false } })) : { data: null });
    });
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    const base = await listen(server);
    try {
      const batch = Array.from({ length: 25 }, (_, i) => ({
        query: 'mutation Login($u: String!, $p: String!) { login(user: $u, password: $p) }',
        variables: { u: 'ann', p: `guess-${i}` },
      }));
      assert.equal((await post(`${base}/graphql`, batch)).status, 200);
      const [event] = await vigil.waitFor('http_request');
      assert.equal(event?.['vigil.graphql.operations'], 25);
      assert.equal(event?.['graphql.operation.name'], 'Login');
      assert.equal(event?.['graphql.operation.type'], 'mutation');
    } finally {
      server.close();
    }
  });

  test('graphqlPaths: another path is read when named, and [] reads none', async () => {
    for (const [graphqlPaths, expected] of [
      [['/gql'], 'Q'],
      [[], undefined],
    ] as const) {
      const vigil = createTestVigil({ graphqlPaths });
      const app = express();
      app.use(vigilExpress(vigil));
      app.use(express.json());
      app.post('/gql', (_req, res) => {
        res.json({ data: null });
      });
      const server = createServer(app);
      const base = await listen(server);
      try {
        await post(`${base}/gql`, { query: 'query Q { a }' });
        const [event] = await vigil.waitFor('http_request');
        assert.equal(event?.['graphql.operation.name'], expected, JSON.stringify(graphqlPaths));
      } finally {
        server.close();
      }
    }
  });
});

test('which paths are GraphQL: suffix and exact entries, any case, a trailing slash (node:http, GET)', async () => {
  const warnings: string[] = [];
  const vigil = createTestVigil({
    graphqlPaths: ['*/graphql', '/api/gql/', 'graphql', '*'],
    onError: (e) => warnings.push(e.message),
  });
  assert.deepEqual(warnings, [
    'option graphqlPaths takes paths ("/api/graphql") or "*" and a suffix ("*/graphql"); others are ignored',
  ]);
  const server = createServer(
    wrap(vigil, (_req, res) => {
      res.end('{}');
    }),
  );
  const base = await listen(server);
  const query = `?${new URLSearchParams({ query: 'query Q { a }' })}`;
  try {
    const cases: Array<[string, boolean]> = [
      ['/graphql', true],
      ['/v1/GraphQL/', true],
      ['/graphqlx', false],
      ['/graphql/extra', false],
      ['/API/gql', true],
      ['/api/gql/', true],
      ['/api/gqlx', false],
    ];
    for (const [path, graphql] of cases) {
      vigil.clear();
      await fetch(`${base}${path}${query}`);
      const [event] = await vigil.waitFor('http_request');
      assert.equal(event?.['graphql.operation.name'] === 'Q', graphql, path);
    }
  } finally {
    server.close();
  }
});

test('Fastify: the body Fastify parsed (inject, no socket)', async () => {
  const vigil = createTestVigil();
  const app = Fastify();
  await app.register(vigilFastify(vigil));
  app.post('/graphql', async () => ({ data: null }));
  await app.inject({ method: 'POST', url: '/graphql', payload: { query: 'mutation ResetPassword { reset }' } });
  const [event] = await vigil.waitFor('http_request');
  assert.equal(event?.['graphql.operation.name'], 'ResetPassword');
  assert.equal(event?.['graphql.operation.type'], 'mutation');
  assert.deepEqual(event?.['vigil.graphql.root_fields'], ['reset']);
  assert.equal(event?.['vigil.graphql.depth'], 1);

  // An automatic persisted query: the document with its hash once, then the hash alone, described by the document.
  const query = 'query Totals { a: orders { total } b: orders { total } }';
  const extensions = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
  vigil.clear();
  await app.inject({ method: 'POST', url: '/graphql', payload: { query, operationName: 'Totals', extensions } });
  await app.inject({ method: 'POST', url: '/graphql', payload: { operationName: 'Totals', extensions } });
  const events = await vigil.waitFor(
    'http_request',
    (e) => vigil.events('http_request').length === 2 && e !== undefined,
  );
  assert.equal(events.length, 2);
  for (const e of events) {
    assert.equal(e['vigil.graphql.persisted_query'], extensions.persistedQuery.sha256Hash);
    assert.deepEqual(e['vigil.graphql.root_fields'], ['orders']);
    assert.equal(e['vigil.graphql.repeated_field'], 'orders');
    assert.equal(e['vigil.graphql.repeated_field_count'], 2);
  }
  await app.close();
});
