import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify from 'fastify';
import { vigilErrorHandler, vigilExpress } from './adapters/express.js';
import { vigilFastify } from './adapters/fastify.js';
import type { VigilSdkError } from './report.js';
import { createTestVigil } from './test-kit.js';

describe('createTestVigil: an app test asserts what its API logs', () => {
  const errors: VigilSdkError[] = [];
  const vigil = createTestVigil({ service: 'orders', onError: (e) => errors.push(e) });
  let server: Server;
  let base: string;
  before(async () => {
    const app = express();
    app.use(vigilExpress(vigil));
    app.use(express.json());
    app.post('/login', (req, res) => {
      if (req.body.password !== 'right') {
        vigil.authn.loginFail(req.body.user, { reason: 'bad_password', userExists: true });
        res.status(401).json({ error: 'invalid' });
        return;
      }
      res.json({ ok: true });
    });
    app.get('/orders/:id', (_req, res) => {
      res.status(403).end();
    });
    app.use(vigilErrorHandler(vigil));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    return vigil.close();
  });

  const login = (password: string) =>
    fetch(`${base}/login?token=abc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ann', password }),
    });

  test('the helper event, attached to its request, and the http_request as the collector receives it', async () => {
    vigil.clear();
    assert.equal((await login('wrong')).status, 401);
    const [fail] = await vigil.waitFor('authn_login_fail');
    assert.equal(fail?.['user.id'], 'ann');
    assert.equal(fail?.['event.reason'], 'bad_password');
    assert.equal(fail?.['http.route'], '/login', 'the request the helper ran in');
    const [request] = await vigil.waitFor('http_request');
    assert.equal(request?.['http.response.status_code'], 401);
    assert.equal(request?.['service.name'], 'orders');
    assert.equal(request?.['url.query'], 'token=[REDACTED]', 'redacted as in production');
    assert.deepEqual(
      vigil.events().map((e) => e.type),
      ['authn_login_fail', 'http_request'],
      'the 401 on a login route is not counted twice',
    );
  });

  test('waitFor takes a condition; events(type) filters; clear() forgets', async () => {
    vigil.clear();
    await login('right');
    await fetch(`${base}/orders/7`);
    const [denied] = await vigil.waitFor('authz_fail', (e) => e['http.route'] === '/orders/:id');
    assert.equal(denied?.['http.response.status_code'], undefined, 'the automatic event is not the request');
    assert.equal(vigil.events('http_request').length, 2);
    vigil.clear();
    assert.deepEqual(vigil.events(), []);
  });

  test('waitFor rejects after its timeout, naming what was recorded', async () => {
    vigil.clear();
    vigil.event('x_probe', { n: 1 });
    await assert.rejects(vigil.waitFor('payment_fail', undefined, 50), {
      message: 'no payment_fail event was recorded in 50 ms; recorded: x_probe',
    });
  });

  test('a condition that throws rejects its waitFor, and the event is still recorded', async () => {
    vigil.clear();
    const waiting = vigil.waitFor('x_probe', () => {
      throw new Error('the test is wrong');
    });
    vigil.event('x_probe', { n: 2 });
    await assert.rejects(waiting, { message: 'the test is wrong' });
    assert.deepEqual(
      vigil.events().map((e) => e.n),
      [2],
    );
  });

  test('an event the collector would refuse is not kept, and the test hears why', () => {
    vigil.clear();
    vigil.event('x_big', { 'user.id': 42 as unknown as string, nested: { deep: { deeper: { deepest: 1 } } } });
    vigil.event('x_fine', { 'user.id': 'ann' });
    const refused = errors.filter((e) => e.code === 'events_rejected');
    assert.deepEqual(
      vigil.events().map((e) => e.type),
      ['x_fine'],
    );
    assert.ok(refused.length >= 1);
    assert.match(refused.at(-1)?.message ?? '', /a x_big event would be rejected by the collector: /);
    assert.ok(vigil.stats().dropped.rejected >= 1);
    assert.equal(vigil.stats().mode, 'memory');
  });

  test('at most maxQueueSize events are kept (an invalid value is reported and the default used)', () => {
    const small = createTestVigil({ maxQueueSize: 2 });
    for (let n = 0; n < 3; n++) small.event('x_n', { n });
    assert.deepEqual(
      small.events().map((e) => e.n),
      [0, 1],
    );
    assert.equal(small.stats().dropped.queue_full, 1);
    const warned: VigilSdkError[] = [];
    const invalid = createTestVigil({ maxQueueSize: -1, onError: (e) => warned.push(e) });
    invalid.event('x_n', { n: 0 });
    assert.equal(invalid.events().length, 1);
    assert.match(warned[0]?.message ?? '', /option maxQueueSize must be a number >= 1/);
  });

  test('an event over maxEventBytes is dropped as the transport drops it (too_large), and reported', () => {
    const heard: VigilSdkError[] = [];
    const small = createTestVigil({ maxEventBytes: 1024, onError: (e) => heard.push(e) });
    small.event('x_big', { big: 'x'.repeat(4000) });
    small.event('x_fine', { n: 1 });
    assert.deepEqual(
      small.events().map((e) => e.type),
      ['x_fine'],
    );
    assert.equal(small.stats().dropped.too_large, 1);
    assert.match(heard[0]?.message ?? '', /a x_big event of \d+ bytes is over maxEventBytes \(1024\)/);
  });

  test('hashed ids are the same from one run to the next (a fixed key unless hashKey is given)', () => {
    const a = createTestVigil({ hashObjectIds: true });
    const b = createTestVigil({ hashObjectIds: true });
    const c = createTestVigil({ hashObjectIds: true, hashKey: 'another' });
    // `hashKey: process.env.UNSET`: the fixed key still, not an unkeyed hash.
    const d = createTestVigil({ hashObjectIds: true, hashKey: undefined });
    for (const client of [a, b, c, d]) client.access('order', '4711');
    const id = (client: typeof a) => client.events('object_access')[0]?.['vigil.object.id'];
    assert.equal(id(a), id(b));
    assert.equal(id(a), id(d));
    assert.notEqual(id(a), id(c));
    assert.notEqual(id(a), '4711');
  });
});

test("with Fastify's inject(): no socket, no port, the same events", async () => {
  const vigil = createTestVigil();
  const app = Fastify();
  await app.register(vigilFastify(vigil));
  app.post('/login', async (request, reply) => {
    vigil.authn.loginFail((request.body as { user: string }).user, { reason: 'bad_password' });
    return reply.code(401).send({ error: 'invalid' });
  });
  const response = await app.inject({ method: 'POST', url: '/login', payload: { user: 'ann' } });
  assert.equal(response.statusCode, 401);
  const [fail] = await vigil.waitFor('authn_login_fail');
  assert.equal(fail?.['user.id'], 'ann');
  assert.equal(fail?.['http.route'], '/login');
  const [request] = await vigil.waitFor('http_request');
  assert.equal(request?.['http.response.status_code'], 401);
  await app.close();
});
