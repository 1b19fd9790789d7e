import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SecurityEvent } from '@vigil/schema';
import { type BehaviourDetection, type BehaviourSnapshot, createBehaviourDetector } from './detector.js';
import type { BehaviourOptions } from './options.js';
import { DAY_MILLIS, requestEvent, type TestUser, WEEK_START } from './test-traffic.js';

// A GraphQL API is one route (POST /graphql); what tells its requests apart is the operation the SDK records.

const HOUR = 3_600_000;

function member(index: number, role: TestUser['role']): TestUser {
  return {
    id: String(2000 + index),
    role,
    country: 'DE',
    asn: 3320,
    address: `192.0.2.${index}`,
    device: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
    account: 70_000 + index,
  };
}

const customers = Array.from({ length: 12 }, (_, i) => member(i, 'customer'));
const admins = Array.from({ length: 3 }, (_, i) => member(20 + i, 'admin'));

/**
 * A GraphQL request as the SDK records it: its operation's type and name, and the root field it runs (the name with
 * a small first letter, `MyOrders` runs `myOrders`, unless `fields` says otherwise; '' leaves a field out).
 */
function operation(
  id: string,
  time: number,
  u: TestUser | undefined,
  type: string,
  name: string,
  fields: Record<string, string | number | string[]> = {},
): SecurityEvent {
  return requestEvent(id, time, u, 'POST', '/graphql', {
    'graphql.operation.type': type,
    'graphql.operation.name': name,
    'vigil.graphql.operations': 1,
    'vigil.graphql.root_fields': [name.charAt(0).toLowerCase() + name.slice(1)],
    ...fields,
  });
}

/**
 * Three days: customers list their orders and place some (signed in), anyone browses the catalogue (anonymous),
 * admins delete users. Every request goes to POST /graphql.
 */
function learningTraffic(): SecurityEvent[] {
  const events: SecurityEvent[] = [];
  let seq = 0;
  const id = () => `g${String(seq++).padStart(6, '0')}`;
  for (let day = 0; day < 3; day++) {
    for (let hour = 8; hour < 20; hour++) {
      const start = WEEK_START + day * DAY_MILLIS + hour * HOUR;
      customers.forEach((u, i) => {
        const t = start + i * 60_000;
        events.push(operation(id(), t, u, 'query', 'MyOrders'));
        events.push(operation(id(), t + 10_000, u, 'query', 'MyOrders'));
        if ((i + hour) % 3 === 0) events.push(operation(id(), t + 20_000, u, 'mutation', 'PlaceOrder'));
      });
      admins.forEach((u, i) => {
        events.push(operation(id(), start + i * 90_000 + 5_000, u, 'mutation', 'DeleteUser'));
      });
      for (let v = 0; v < 4; v++) {
        events.push(
          operation(id(), start + v * 120_000 + 7_000, undefined, 'query', 'Products', {
            'client.address': `198.18.${day}.${hour * 4 + v}`,
          }),
        );
      }
    }
  }
  return events.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
}

const LEARNING = learningTraffic();
const AFTER = WEEK_START + 3 * DAY_MILLIS + 10 * HOUR;

function run(planted: readonly SecurityEvent[], options: BehaviourOptions = {}) {
  const detector = createBehaviourDetector(options);
  const detections: BehaviourDetection[] = [];
  for (const e of [...LEARNING, ...planted]) detections.push(...detector.process(e));
  return { detector, detections };
}

describe('GraphQL operations', () => {
  test('learn under baselines of their own, apart from their route', () => {
    const { detector, detections } = run([]);
    assert.deepEqual(detections, [], 'the learning traffic itself raises nothing');
    const keys = detector
      .endpointKeys()
      .map((e) => `${e.method} ${e.route} ${e.operation?.type} ${e.operation?.fields?.join(' ')}`);
    assert.deepEqual(keys.sort(), [
      'POST /graphql mutation deleteUser',
      'POST /graphql mutation placeOrder',
      'POST /graphql query myOrders',
      'POST /graphql query products',
    ]);
    const view = detector.baselineFor('/graphql', 'POST', { type: 'mutation', fields: ['deleteUser'] });
    assert.equal(view?.requests, 3 * 12 * admins.length);
    assert.deepEqual(view?.operation, { type: 'mutation', fields: ['deleteUser'] });
    assert.equal(detector.baselineFor('/graphql', 'POST'), undefined, 'no request fell back to the route');
  });

  test('a customer running the admins’ mutation is function-level probing, on a route everyone uses', () => {
    const probe = operation('p0', AFTER, customers[4], 'mutation', 'DeleteUser', { 'http.response.status_code': 200 });
    const { detections } = run([probe]);
    assert.equal(detections.length, 1);
    const d = detections[0]!;
    assert.equal(d.detector, 'function-novelty');
    assert.deepEqual(d.groupLabels, {
      'user.id': customers[4]!.id,
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'graphql.operation.type': 'mutation',
      'vigil.graphql.root_fields': 'deleteUser',
    });
    assert.match(
      d.summary,
      /called POST \/graphql \(mutation \{ deleteUser \}\) \(answered 200\), which no one in their peer group has used/,
    );
    // Keyed by route alone, the same request is just one more call to POST /graphql.
    assert.deepEqual(run([probe], { maxOperationsPerRoute: 0 }).detections, []);
  });

  test('renaming the operation does not hide it: what it runs is its root fields', () => {
    const probe = operation('p0', AFTER, customers[5], 'mutation', 'PlaceOrder', {
      'vigil.graphql.root_fields': ['deleteUser'],
    });
    const { detections } = run([probe]);
    assert.deepEqual(
      detections.map((d) => [d.detector, d.groupLabels['vigil.graphql.root_fields']]),
      [['function-novelty', 'deleteUser']],
    );
  });

  test('without root fields (events from elsewhere), an operation is known by its name', () => {
    const byName = (e: SecurityEvent): SecurityEvent => {
      const { 'vigil.graphql.root_fields': _, ...attributes } = e.attributes;
      return { ...e, attributes };
    };
    const detector = createBehaviourDetector();
    for (const e of LEARNING) detector.process(byName(e));
    const probe = byName(operation('p0', AFTER, customers[4], 'mutation', 'DeleteUser'));
    const [d] = detector.process(probe);
    assert.equal(d?.detector, 'function-novelty');
    assert.equal(d?.groupLabels['graphql.operation.name'], 'DeleteUser');
    assert.match(d?.summary ?? '', /called POST \/graphql \(mutation DeleteUser\)/);
    const deletes = detector.baselineFor('/graphql', 'POST', { type: 'mutation', name: 'DeleteUser' });
    assert.equal(deletes?.requests, 3 * 12 * admins.length + 1, "the admins' and the probe");
  });

  test('an anonymous success on an operation that is always signed in, though the route is not', () => {
    const probe = operation('p0', AFTER, undefined, 'query', 'MyOrders', { 'client.address': '203.0.113.9' });
    const { detections } = run([probe]);
    assert.deepEqual(
      detections.map((d) => [d.detector, d.groupLabels]),
      [
        [
          'unauthenticated-access',
          {
            'http.route': '/graphql',
            'http.request.method': 'POST',
            'graphql.operation.type': 'query',
            'vigil.graphql.root_fields': 'myOrders',
            'client.address': '203.0.113.9',
          },
        ],
      ],
    );
    assert.match(detections[0]!.summary, /called POST \/graphql \(query \{ myOrders \}\) without authentication/);
    // The route as a whole serves the anonymous catalogue: nothing is unusual there.
    assert.deepEqual(run([probe], { maxOperationsPerRoute: 0 }).detections, []);
  });

  test('fields a client makes up fold into the route past maxOperationsPerRoute, and evict nothing', () => {
    const u = customers[0]!;
    // A schema refuses fields it does not have (400), but the request is recorded all the same.
    const made = Array.from({ length: 300 }, (_, i) => operation(`m${i}`, AFTER + i, u, 'query', `Made${i}`));
    const { detector } = run(made, { maxOperationsPerRoute: 10 });
    const operations = detector.endpointKeys().filter((e) => e.operation);
    assert.equal(operations.length, 10);
    for (const real of ['myOrders', 'placeOrder', 'deleteUser', 'products']) {
      assert.ok(
        operations.some((e) => e.operation?.fields?.[0] === real),
        `${real} keeps its baseline`,
      );
    }
    assert.equal(detector.stats().operationsFolded, 300 - 6);
    assert.equal(detector.baselineFor('/graphql', 'POST')?.requests, 300 - 6);
  });

  test('batches, operations with nothing to key on, and names that are not GraphQL names: under the route', () => {
    const u = customers[1]!;
    const planted = [
      operation('x0', AFTER, u, 'mutation', 'Login', { 'vigil.graphql.operations': 12 }),
      requestEvent('x1', AFTER + 1, u, 'POST', '/graphql', { 'graphql.operation.type': 'query' }),
      operation('x2', AFTER + 2, u, 'query', 'Drop Table'),
      operation('x3', AFTER + 3, u, 'query', 'A'.repeat(101)),
      operation('x4', AFTER + 4, u, 'fragment', 'Fields'),
      operation('x5', AFTER + 5, u, 'query', 'Many', {
        'vigil.graphql.root_fields': Array.from({ length: 17 }, (_, i) => `f${i}`),
      }),
      operation('x6', AFTER + 6, u, 'query', 'Odd', { 'vigil.graphql.root_fields': ['ok', 'not ok'] }),
    ];
    const { detector } = run(planted);
    assert.equal(detector.baselineFor('/graphql', 'POST')?.requests, planted.length);
    assert.equal(detector.endpointKeys().filter((e) => e.operation).length, 4);
    assert.equal(detector.stats().operationsFolded, 0, 'not folded: they have no operation to key on');
  });

  test('options per operation come before the route’s', () => {
    const options: BehaviourOptions = {
      endpoints: { 'POST /graphql (query { products })': { ignore: true } },
    };
    const { detector } = run([], options);
    assert.equal(detector.baselineFor('/graphql', 'POST', { type: 'query', fields: ['products'] }), undefined);
    assert.ok(detector.baselineFor('/graphql', 'POST', { type: 'query', fields: ['myOrders'] }));
    assert.throws(() => createBehaviourDetector({ maxOperationsPerRoute: -1 }), /maxOperationsPerRoute/);
  });

  test('the detector version changes only when maxOperationsPerRoute is set away from its default', () => {
    // A snapshot is restored only into a detector of the same version: an upgrade must not discard what was learned.
    const version = createBehaviourDetector().version;
    assert.equal(version, '4b89d1eb543338a1', 'the version of the default options before operations were keyed');
    assert.equal(createBehaviourDetector({ maxOperationsPerRoute: 50 }).version, version);
    assert.notEqual(createBehaviourDetector({ maxOperationsPerRoute: 10 }).version, version);
  });

  test('a snapshot keeps the operations and their count, so the bound holds after a restore', () => {
    const u = customers[2]!;
    const { detector } = run([], { maxOperationsPerRoute: 5 });
    const snapshot = JSON.parse(JSON.stringify(detector.snapshot())) as BehaviourSnapshot;
    const restored = createBehaviourDetector({ maxOperationsPerRoute: 5 });
    restored.restore(snapshot);
    assert.deepEqual(restored.snapshot(), detector.snapshot());
    for (const d of [detector, restored]) {
      d.process(operation('n0', AFTER, u, 'query', 'First'));
      d.process(operation('n1', AFTER + 1, u, 'query', 'Second'));
    }
    assert.deepEqual(restored.snapshot(), detector.snapshot());
    assert.equal(restored.endpointKeys().filter((e) => e.operation).length, 5);
    assert.equal(restored.stats().operationsFolded, 1);
  });

  test('an evicted operation frees its place among its route’s operations', () => {
    const u = customers[3]!;
    const detector = createBehaviourDetector({ maxEndpoints: 3, maxOperationsPerRoute: 2 });
    detector.process(operation('e0', AFTER, u, 'query', 'One'));
    detector.process(operation('e1', AFTER + 1, u, 'query', 'Two'));
    detector.process(operation('e2', AFTER + 2, u, 'query', 'Three')); // folded: the route has two
    detector.process(requestEvent('e3', AFTER + 3, u, 'GET', '/a')); // evicts the least recent: query One
    detector.process(requestEvent('e4', AFTER + 4, u, 'GET', '/b')); // and query Two
    detector.process(operation('e5', AFTER + 5, u, 'query', 'Four'));
    const names = detector
      .endpointKeys()
      .map((e) => e.operation?.fields?.[0])
      .filter(Boolean);
    assert.ok(names.includes('four'), `four got the freed place (${names.join(', ')})`);
    assert.equal(detector.stats().operationsFolded, 1);
  });
});
