/**
 * Black-box tests of the Express adapter: a real Express app (5, and 4 through the `express4` alias) on loopback
 * with the middleware, sending to a real receiver; assertions are on what arrived.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { celebrate, errors as celebrateErrors, Joi, Segments } from 'celebrate';
import { z } from 'zod';
import { createVigil, type Vigil, type VigilOptions } from '../index.js';
import { Receiver, TEST_TOKEN } from '../testing/receiver.js';
import { vigilErrorHandler, vigilExpress } from './express.js';

// biome-ignore lint/suspicious/noExplicitAny: Express 4 and 5 are loaded at run time, with their own types
type Express = any;

class SecretError extends Error {}

function buildApp(express: Express, vigil: Vigil, major: number) {
  const app = express();
  app.use(vigilExpress(vigil));
  // A stand-in for an authentication middleware: sets req.user as Passport does.
  app.use((req: Express, _res: Express, next: () => void) => {
    const user = req.headers['x-test-user'];
    if (typeof user === 'string') req.user = { id: user, roles: ['customer'] };
    next();
  });
  app.get('/users/:id', (req: Express, res: Express) => {
    if (req.user) vigil.sensitive.read(undefined, { type: 'user', id: req.params.id });
    res.json({ id: req.params.id });
  });
  const router = express.Router();
  router.get('/orders/:orderId', (_req: Express, res: Express) => res.send('order'));
  app.use('/api', router);
  app.get('/admin', (_req: Express, res: Express) => res.status(403).json({ error: 'forbidden' }));
  app.post('/login', express.json(), (req: Express, res: Express) => {
    vigil.authn.loginFail(req.body.user, { reason: 'bad_password', userExists: true });
    res.status(401).json({ error: 'invalid credentials' });
  });
  app.post('/login-auto', (_req: Express, res: Express) => res.status(401).end());
  app.get('/boom', () => {
    throw new SecretError('query failed: password=hunter2 for user ann');
  });
  if (major >= 5) {
    app.get('/async-boom', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new TypeError('cannot read hunter2');
    });
  }
  app.get('/stream', (_req: Express, res: Express) => {
    res.write('abc');
    res.end('de');
  });
  app.get('/later/:doc', async (req: Express, res: Express) => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    vigil.authz.fail(undefined, req.params.doc);
    res.status(403).end();
  });
  // A route that lets zod throw: the app's error handler answers 400 for a ZodError, 500 for the rest.
  app.post('/signup', express.json(), (req: Express, res: Express) => {
    z.object({ email: z.string().email(), age: z.number().min(18) }).parse(req.body);
    res.status(201).end();
  });
  app.get('/bad-output', () => {
    z.object({ total: z.number() }).parse({ total: 'not a number' }); // the app's own data: a fault, not bad input
  });
  app.get(
    '/orders',
    celebrate({ [Segments.QUERY]: Joi.object({ page: Joi.number().min(1) }) }),
    (_req: Express, res: Express) => res.json([]),
  );
  app.use(vigilErrorHandler(vigil));
  app.use(celebrateErrors()); // celebrate's own 400 for its errors, after Vigil's hook
  // The app's error handler: the status an error carries (body-parser's 400), 400 for a ZodError of /signup, else 500.
  app.use((error: Express, req: Express, res: Express, _next: unknown) => {
    if (error instanceof z.ZodError && req.path === '/signup') return res.status(400).json({ error: 'invalid' });
    res.status(typeof error?.status === 'number' ? error.status : 500).json({ error: 'failed' });
  });
  return app;
}

async function listen(app: Express): Promise<{ server: Server; url: string }> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function expressSuite(name: string, load: () => Promise<Express>, major: number) {
  describe(name, () => {
    let receiver: Receiver;
    let vigil: Vigil;
    let trustingVigil: Vigil;
    let app: { server: Server; url: string };
    let trustingApp: { server: Server; url: string };
    let counter = 0;

    const options = (extra: VigilOptions = {}): VigilOptions => ({
      endpoint: receiver.url,
      token: TEST_TOKEN,
      service: 'express-test',
      flushIntervalMillis: 5,
      flushOnExit: false,
      loginRoutes: ['POST /login', '/login-auto'],
      ...extra,
    });

    before(async () => {
      const express = await load();
      receiver = await Receiver.start();
      vigil = createVigil(options());
      trustingVigil = createVigil(options({ trustedProxies: ['loopback'] }));
      app = await listen(buildApp(express, vigil, major));
      trustingApp = await listen(buildApp(express, trustingVigil, major));
    });

    after(async () => {
      for (const a of [app, trustingApp]) {
        a.server.closeAllConnections();
        a.server.close();
      }
      await vigil.close();
      await trustingVigil.close();
      await receiver.close();
    });

    /** Send a request with a fresh x-request-id and wait for its http_request event; return all its events. */
    async function call(path: string, init: RequestInit & { base?: string } = {}) {
      const requestId = `req-${name.replace(/\W/g, '')}-${++counter}`;
      const headers = new Headers(init.headers);
      headers.set('x-request-id', requestId);
      const response = await fetch(`${init.base ?? app.url}${path}`, { ...init, headers });
      const body = await response.text();
      const mine = () => receiver.events.filter((e) => e['http.request.id'] === requestId);
      await receiver.waitFor(() => mine().some((e) => e.type === 'http_request'), 3000);
      const events = mine();
      const request = events.find((e) => e.type === 'http_request')!;
      return { response, body, events, request, others: events.filter((e) => e.type !== 'http_request') };
    }

    test('records the route template, status, sizes, principal and client', async () => {
      const { request, body } = await call('/users/42', { headers: { 'x-test-user': 'u1', 'user-agent': 'test/1.0' } });
      assert.equal(request['http.route'], '/users/:id');
      assert.equal(request['url.path'], '/users/42');
      assert.equal(request['http.request.method'], 'GET');
      assert.equal(request['http.response.status_code'], 200);
      assert.equal(request['http.response.body.size'], Buffer.byteLength(body));
      assert.equal(typeof request['http.server.request.duration'], 'number');
      assert.equal(request['user.id'], 'u1');
      assert.deepEqual(request['user.roles'], ['customer']);
      assert.equal(request['client.address'], '127.0.0.1');
      assert.equal(request['network.peer.address'], '127.0.0.1');
      assert.equal(request['user_agent.original'], 'test/1.0');
      assert.equal(request['event.outcome'], 'success');
      assert.equal(request['service.name'], 'express-test');
    });

    test('a vocabulary helper called in the route carries the request metadata', async () => {
      const { others, request } = await call('/users/7', { headers: { 'x-test-user': 'u2' } });
      const read = others.find((e) => e.type === 'sensitive_read')!;
      assert.ok(read, 'sensitive_read recorded');
      assert.equal(read['vigil.object.id'], '7');
      assert.equal(read['vigil.object.type'], 'user');
      assert.equal(read['user.id'], 'u2', 'the principal stands in for the user');
      assert.equal(read['http.route'], '/users/:id');
      assert.equal(read['client.address'], '127.0.0.1');
      assert.equal(read['http.request.id'], request['http.request.id']);
    });

    test('context survives an await: one authz_fail, the app’s, not a second automatic one', async () => {
      const { others, request } = await call('/later/doc-9');
      const fails = others.filter((e) => e.type === 'authz_fail');
      assert.equal(fails.length, 1);
      assert.equal(fails[0]!['vigil.object.id'], 'doc-9');
      assert.equal(fails[0]!['http.route'], '/later/:doc');
      assert.equal(request['http.response.status_code'], 403);
    });

    test('nested routers: baseUrl joined with the route path', async () => {
      const { request } = await call('/api/orders/17');
      assert.equal(request['http.route'], '/api/orders/:orderId');
      assert.equal(request['url.path'], '/api/orders/17');
    });

    test('no route matched: http.route is omitted, never the raw path', async () => {
      const { request } = await call('/does/not/exist');
      assert.equal(request['http.response.status_code'], 404);
      assert.equal('http.route' in request, false);
      assert.equal(request['event.outcome'], 'failure');
    });

    test('403 records authz_fail automatically', async () => {
      const { others, request } = await call('/admin', { headers: { 'x-test-user': 'u3' } });
      const fail = others.find((e) => e.type === 'authz_fail')!;
      assert.ok(fail);
      assert.equal(fail['vigil.object.id'], 'GET /admin');
      assert.equal(fail['user.id'], 'u3');
      assert.equal(fail['event.outcome'], 'failure');
      assert.equal(request['event.outcome'], 'failure');
    });

    test('401 on a login route: the app’s loginFail, or an automatic one, never both', async () => {
      const loginBody = JSON.stringify({ user: 'ann', password: 'hunter2' });
      const manual = await call('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: loginBody,
      });
      const fails = manual.others.filter((e) => e.type === 'authn_login_fail');
      assert.equal(fails.length, 1);
      assert.equal(fails[0]!['user.id'], 'ann');
      assert.equal(fails[0]!['event.reason'], 'bad_password');
      assert.equal(manual.request['http.request.body.size'], Buffer.byteLength(loginBody));

      const auto = await call('/login-auto', { method: 'POST' });
      assert.deepEqual(
        auto.others.map((e) => e.type),
        ['authn_login_fail'],
      );
      const other = await call('/users/1', { headers: { authorization: 'Basic' } });
      assert.equal(other.others.filter((e) => String(e.type).startsWith('authn_')).length, 0);
    });

    test('a thrown error records app_error with its class and a fingerprint, never its message', async () => {
      const { others, request } = await call('/boom');
      const error = others.find((e) => e.type === 'app_error')!;
      assert.ok(error);
      assert.equal(error['error.type'], 'SecretError');
      assert.match(String(error['vigil.error.fingerprint']), /^[0-9a-f]{16}$/);
      assert.equal(error['http.route'], '/boom');
      assert.equal(request['http.response.status_code'], 500);
      assert.equal(request['error.type'], 'SecretError');
      assert.ok(!receiver.allText.includes('hunter2'));
      assert.ok(!receiver.allText.includes('query failed'));
    });

    if (major >= 5) {
      test('an async route that rejects records app_error (Express 5)', async () => {
        const { others } = await call('/async-boom');
        const error = others.find((e) => e.type === 'app_error')!;
        assert.equal(error['error.type'], 'TypeError');
        assert.ok(!receiver.allText.includes('cannot read'));
      });
    }

    test('a ZodError the app answers with 400: an automatic input_validation_fail, not app_error', async () => {
      const { response, others, request } = await call('/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ann-hunter2', age: 12 }),
      });
      assert.equal(response.status, 400);
      assert.deepEqual(
        others.map((e) => e.type),
        ['input_validation_fail'],
      );
      assert.deepEqual(others[0]!['vigil.input.names'], ['email', 'age']);
      assert.deepEqual(others[0]!['vigil.validation.rules'], ['invalid_format', 'too_small']);
      assert.equal(others[0]!['event.reason'], 'http_400');
      assert.equal(request['error.type'], 'ZodError');
      assert.ok(!receiver.allText.includes('hunter2'));
    });

    test('a JSON body that does not parse: input_validation_fail for the body, never its text', async () => {
      const { response, others } = await call('/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"password": "hunter2',
      });
      assert.equal(response.status, 400);
      assert.deepEqual(
        others.map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name'], e['vigil.validation.rules']]),
        [['input_validation_fail', 'body-parser', 'body', ['parse']]],
      );
      assert.ok(!receiver.allText.includes('hunter2'));
    });

    test('celebrate: its 400 records input_validation_fail by part of the request', async () => {
      const { response, others } = await call('/orders?page=0');
      assert.equal(response.status, 400);
      assert.deepEqual(
        others.map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name'], e['vigil.validation.rules']]),
        [['input_validation_fail', 'joi', 'query.page', ['number.min']]],
      );
    });

    test('a ZodError answered with 500 is an application error', async () => {
      const { response, others } = await call('/bad-output');
      assert.equal(response.status, 500);
      assert.deepEqual(
        others.map((e) => [e.type, e['error.type']]),
        [['app_error', 'ZodError']],
      );
    });

    test('counts streamed response bytes', async () => {
      const { request } = await call('/stream');
      assert.equal(request['http.response.body.size'], 5);
    });

    test('secrets in headers, query, cookies and body never reach the collector', async () => {
      const { request } = await call('/users/1?token=abc123secret&card=4111111111111111&page=2', {
        headers: {
          authorization: 'Bearer sekrit-token-value',
          cookie: 'connect.sid=s%3Asessionvalue.signature; theme=dark',
          'x-api-key': 'key-value-123',
        },
      });
      await call('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: 'bob', password: 'body-password-xyz' }),
      });
      for (const secret of [
        'abc123secret',
        '4111111111111111',
        'sekrit-token-value',
        'sessionvalue',
        'key-value-123',
      ]) {
        assert.ok(!receiver.allText.includes(secret), `${secret} leaked`);
      }
      assert.ok(!receiver.allText.includes('body-password-xyz'));
      assert.equal(request['url.query'], 'token=[REDACTED]&card=[REDACTED]&page=2');
      assert.match(String(request['session.id']), /^[0-9a-f]{16}$/);
    });

    test('W3C traceparent gives trace.id and span.id', async () => {
      const { request } = await call('/users/3', {
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      assert.equal(request['trace.id'], '4bf92f3577b34da6a3ce929d0e0e4736');
      assert.equal(request['span.id'], '00f067aa0ba902b7');
    });

    test('X-Forwarded-For from an untrusted peer is ignored; from a trusted proxy it is honoured', async () => {
      const spoofed = await call('/users/5', { headers: { 'x-forwarded-for': '203.0.113.66' } });
      assert.equal(spoofed.request['client.address'], '127.0.0.1');
      const proxied = await call('/users/5', {
        base: trustingApp.url,
        headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.66' },
      });
      assert.equal(proxied.request['client.address'], '203.0.113.66');
      assert.equal(proxied.request['network.peer.address'], '127.0.0.1');
    });
  });
}

expressSuite('express 5', async () => (await import('express')).default, 5);
expressSuite(
  'express 4',
  async () => {
    const name = 'express4';
    return (await import(name)).default;
  },
  4,
);

/**
 * Express's requests and responses are tracked without a property of their own (express-tracking.ts): through
 * wrappers on Express's response prototype and the socket. These are the cases that way of tracking must not miss.
 */
for (const [version, load] of [
  ['express 5', async () => (await import('express')).default],
  [
    'express 4',
    async () => {
      const name = 'express4';
      return (await import(name)).default;
    },
  ],
] as const) {
  describe(`${version}: response tracking`, () => {
    let receivers: Receiver[];
    let clients: Vigil[];
    let app: { server: Server; url: string };

    before(async () => {
      const express: Express = await load();
      receivers = [await Receiver.start(), await Receiver.start()];
      clients = receivers.map((receiver) =>
        createVigil({
          endpoint: receiver.url,
          token: TEST_TOKEN,
          service: 'express-tracking',
          flushIntervalMillis: 5,
          flushOnExit: false,
        }),
      );
      const root = express();
      for (const vigil of clients) root.use(vigilExpress(vigil));
      const sub = express();
      sub.get('/pages/:page', (_req: Express, res: Express) => res.send('hello'));
      root.use('/sub', sub);
      root.get('/hang', () => {
        // never answers: the client gives up
      });
      root.get('/n/:n', (_req: Express, res: Express) => res.json({ ok: true }));
      app = await listen(root);
    });

    after(async () => {
      app.server.closeAllConnections();
      app.server.close();
      for (const vigil of clients) await vigil.close();
      for (const receiver of receivers) await receiver.close();
    });

    const requestsTo = (receiver: Receiver, path: string) =>
      receiver.events.filter((e) => e.type === 'http_request' && e['url.path'] === path);

    test('a response ended inside a mounted sub-app is recorded, with its route and size, by every client', async () => {
      await (await fetch(`${app.url}/sub/pages/7`)).text();
      for (const receiver of receivers) {
        await receiver.waitFor(() => requestsTo(receiver, '/sub/pages/7').length === 1);
        const [request] = requestsTo(receiver, '/sub/pages/7');
        assert.equal(request!['http.route'], '/sub/pages/:page');
        assert.equal(request!['http.response.body.size'], 5);
        assert.equal(request!['http.response.status_code'], 200);
      }
    });

    test('requests over one kept-alive connection are each recorded once', async () => {
      for (let n = 0; n < 5; n++) await (await fetch(`${app.url}/n/${n}`)).text();
      for (const receiver of receivers) {
        await receiver.waitFor(() => receiver.events.filter((e) => e['http.route'] === '/n/:n').length === 5);
        const paths = receiver.events.filter((e) => e['http.route'] === '/n/:n').map((e) => e['url.path']);
        assert.deepEqual(paths.sort(), ['/n/0', '/n/1', '/n/2', '/n/3', '/n/4']);
      }
    });

    test('a response the app never ends is recorded when the client goes away', async () => {
      const abort = new AbortController();
      const pending = fetch(`${app.url}/hang`, { signal: abort.signal }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
      abort.abort();
      await pending;
      for (const receiver of receivers) {
        await receiver.waitFor(() => requestsTo(receiver, '/hang').length === 1);
        assert.equal(requestsTo(receiver, '/hang')[0]!['http.route'], '/hang');
      }
    });
  });
}
