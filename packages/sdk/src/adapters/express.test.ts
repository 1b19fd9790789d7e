/**
 * Black-box tests of the Express adapter: a real Express app (5, and 4 through the `express4` alias) on loopback
 * with the middleware, sending to a real receiver; assertions are on what arrived.
 */
import assert from 'node:assert/strict';
import { AsyncResource } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { celebrate, errors as celebrateErrors, Joi, Segments } from 'celebrate';
import { z } from 'zod';
import { createVigil, type Vigil, type VigilOptions } from '../index.js';
import { startTestApp, type TestApp } from '../testing/app.js';
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
  // Thrown inside the router, answered by the app's own error handler at the top level.
  router.get('/orders/:orderId/fail', () => {
    throw new TypeError('inside the router');
  });
  app.use('/api', router);
  app.get('/admin', (_req: Express, res: Express) => res.status(403).json({ error: 'forbidden' }));
  // A password-reset link: the path itself holds a credential.
  app.post('/reset/:token', (_req: Express, res: Express) => {
    vigil.event('x_password_reset', { step: 'form' });
    res.status(204).end();
  });
  // An invitation link under two paths: each holds a credential too.
  app.get(['/invite/:token', '/join/:token'], (_req: Express, res: Express) => res.send('welcome'));
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
  // `end` throws (a number is no chunk): nothing was sent, and the app's error handler answers 500.
  app.get('/bad-end', (_req: Express, res: Express) => res.end(12345));
  // An error after the response went out.
  app.get('/late-error', (_req: Express, res: Express) => {
    res.json({ ok: true });
    throw new RangeError('after the response');
  });
  // Slow to answer: for pipelining and for clients that give up.
  app.get('/slow', (req: Express, res: Express) => {
    setTimeout(
      () => {
        if (!res.destroyed) res.json({ slow: true });
      },
      Number(req.query.ms ?? 150),
    );
  });
  app.get('/stream', (_req: Express, res: Express) => {
    res.write('abc');
    res.end('de');
  });
  // A body stream that fails before anything was sent: pipeline() destroys the response with its error.
  app.get('/report', (_req: Express, res: Express) => {
    res.type('text/plain');
    const failing = new Readable({
      read() {
        this.destroy(new RangeError('disk gone'));
      },
    });
    pipeline(failing, res, () => {});
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
  // A pool's connection, opened by the first request that needs it: its callbacks run in that request's async
  // context (AsyncLocalStorage's rule), whichever request queued them.
  let connection: AsyncResource | undefined;
  const query = (callback: () => void) => {
    connection ??= new AsyncResource('test.connection');
    const opened = connection;
    setImmediate(() => opened.runInAsyncScope(callback));
  };
  app.get('/pooled/warm', (_req: Express, res: Express) => query(() => res.send('ok')));
  app.get('/pooled/orders/:id', (_req: Express, _res: Express, next: (error: unknown) => void) =>
    query(() => next(new RangeError('lookup failed'))),
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

    test('a route parameter named as a secret is redacted from url.path in every event of the request', async () => {
      const token = 'f3c1a9e07b2d4c58a6e2d1b0c9f8e7d6';
      const { request, others } = await call(`/reset/${token}`, { method: 'POST' });
      assert.equal(request['http.route'], '/reset/:token');
      assert.equal(request['url.path'], '/reset/[REDACTED]');
      assert.equal(others.find((e) => e.type === 'x_password_reset')?.['url.path'], '/reset/[REDACTED]');
      assert.ok(!receiver.allText.includes(token));
    });

    test('a route on an array of paths: the path the request matched, so its secret parameter is redacted', async () => {
      for (const [path, route, redacted] of [
        ['/invite/Inv1teS3cret', '/invite/:token', '/invite/[REDACTED]'],
        ['/JOIN/J01nS3cret?via=mail', '/join/:token', '/JOIN/[REDACTED]'],
      ] as const) {
        const { request } = await call(path);
        assert.equal(request['http.route'], route);
        assert.equal(request['url.path'], redacted);
      }
      assert.ok(!receiver.allText.includes('S3cret'));
    });

    test('end() that throws: recorded with the answer the error handler gave, not the call that failed', async () => {
      const { request, others } = await call('/bad-end');
      assert.equal(request['http.response.status_code'], 500);
      assert.equal(request['event.outcome'], 'failure');
      assert.equal(others.filter((e) => e.type === 'app_error').length, 1);
    });

    test('an error thrown in a mounted router and answered at the top level keeps the mount in the route', async () => {
      const { request, others } = await call('/api/orders/7/fail');
      assert.equal(request['http.response.status_code'], 500);
      assert.equal(request['http.route'], '/api/orders/:orderId/fail');
      assert.equal(others.find((e) => e.type === 'app_error')?.['http.route'], '/api/orders/:orderId/fail');
    });

    test('an error thrown after the response was sent is an app_error of that request', async () => {
      const { request } = await call('/late-error');
      assert.equal(request['http.response.status_code'], 200);
      await receiver.waitFor(() =>
        receiver.events.some((e) => e.type === 'app_error' && e['http.request.id'] === request['http.request.id']),
      );
      const error = receiver.events.find(
        (e) => e.type === 'app_error' && e['http.request.id'] === request['http.request.id'],
      )!;
      assert.equal(error['error.type'], 'RangeError');
    });

    test('a client that gives up before the answer: recorded as 499 (client closed request), a failure', async () => {
      const requestId = `gone-${name.replace(/\W/g, '')}`;
      // A connection of its own (a kept-alive one an earlier test broke would only delay the request), and the
      // client leaves well before the 2 s the route takes.
      const arrived = once(app.server, 'request'); // the app's handler has run: the request is under way
      const leaving = httpRequest(`${app.url}/slow?ms=2000`, { agent: false, headers: { 'x-request-id': requestId } });
      leaving.on('error', () => {});
      leaving.end();
      await arrived;
      leaving.destroy();
      await receiver.waitFor(() =>
        receiver.events.some((e) => e.type === 'http_request' && e['http.request.id'] === requestId),
      );
      const request = receiver.events.find((e) => e.type === 'http_request' && e['http.request.id'] === requestId)!;
      assert.equal(request['http.response.status_code'], 499);
      assert.equal(request['event.outcome'], 'failure');
    });

    test('a body stream that fails: 500 with app_error for its error, not a client that went away (499)', async () => {
      const events = await receiver.callBroken(app.url, '/report', `stream-fails-${major}`);
      assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 500);
      assert.deepEqual(
        events.filter((e) => e.type !== 'http_request').map((e) => [e.type, e['error.type'], e['http.route']]),
        [['app_error', 'RangeError', '/report']],
      );
    });

    test('pipelined requests: the second is recorded when it is answered, with its size', async () => {
      const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
      await once(socket, 'connect');
      const ids = [`pipe-slow-${major}`, `pipe-fast-${major}`];
      socket.write(
        `GET /slow HTTP/1.1\r\nHost: x\r\nx-request-id: ${ids[0]}\r\n\r\n` +
          `GET /users/5 HTTP/1.1\r\nHost: x\r\nx-request-id: ${ids[1]}\r\n\r\n`,
      );
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        received += chunk.toString();
      });
      const recorded = (id: string) =>
        receiver.events.find((e) => e.type === 'http_request' && e['http.request.id'] === id);
      // Recorded while the connection is still open (not only when its socket closes), and answered in turn.
      await receiver.waitFor(() => recorded(ids[1]!) !== undefined, 3000);
      await receiver.waitFor(() => received.includes('"id":"5"'), 3000);
      assert.ok((recorded(ids[1]!)!['http.response.body.size'] as number) > 0);
      socket.destroy();
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

    test('an error passed to next() in another request’s context is an app_error of the request that failed', async () => {
      const warm = await call('/pooled/warm');
      const { others, request } = await call('/pooled/orders/7');
      assert.deepEqual(
        others.map((e) => [e.type, e['error.type'], e['http.route']]),
        [['app_error', 'RangeError', '/pooled/orders/:id']],
      );
      assert.equal(request['http.response.status_code'], 500);
      await vigil.flush();
      const warmId = warm.request['http.request.id'];
      assert.deepEqual(
        receiver.events.filter((e) => e['http.request.id'] === warmId).map((e) => e.type),
        ['http_request'],
      );
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
    let express: Express;

    before(async () => {
      express = await load();
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
      const arrived = once(app.server, 'request'); // the app's handler has run: the request is under way
      const pending = fetch(`${app.url}/hang`, { signal: abort.signal }).catch(() => undefined);
      await arrived;
      abort.abort();
      await pending;
      for (const receiver of receivers) {
        await receiver.waitFor(() => requestsTo(receiver, '/hang').length === 1);
        assert.equal(requestsTo(receiver, '/hang')[0]!['http.route'], '/hang');
        // Nothing was answered: not the 200 the response object starts with.
        assert.equal(requestsTo(receiver, '/hang')[0]!['http.response.status_code'], 499);
      }
    });

    test('the middleware mounted again on a sub-app records each request once', async () => {
      const receiver = receivers[0]!;
      const root = express();
      root.use(vigilExpress(clients[0]!));
      const sub = express();
      sub.use(vigilExpress(clients[0]!));
      sub.get('/items/:id', (_req: Express, res: Express) => res.send('item'));
      root.use('/shop', sub);
      const twice = await listen(root);
      try {
        await (await fetch(`${twice.url}/shop/items/3`)).text();
        await receiver.waitFor(() => requestsTo(receiver, '/shop/items/3').length >= 1);
        await clients[0]!.flush();
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(requestsTo(receiver, '/shop/items/3').length, 1);
        assert.equal(requestsTo(receiver, '/shop/items/3')[0]!['http.route'], '/shop/items/:id');
      } finally {
        twice.server.closeAllConnections();
        twice.server.close();
      }
    });

    test('the middleware only in a sub-app mounted on a pattern: the first request has the pattern too', async () => {
      // In a process of its own: in this one, earlier tests have prepared Express's routers already.
      const script = `
        const express = (await import(${JSON.stringify(version === 'express 5' ? 'express' : 'express4')})).default;
        const { createTestVigil } = await import(${JSON.stringify(new URL('../test-kit.js', import.meta.url).href)});
        const { vigilExpress } = await import(${JSON.stringify(new URL('./express.js', import.meta.url).href)});
        const vigil = createTestVigil();
        const root = express();
        const sub = express();
        sub.use(vigilExpress(vigil));
        sub.get('/items/:id', (req, res) => res.send('item'));
        root.use('/tenants/:tenant', sub);
        const server = root.listen(0, '127.0.0.1', async () => {
          await (await fetch('http://127.0.0.1:' + server.address().port + '/tenants/acme/items/4')).text();
          const [request] = await vigil.waitFor('http_request');
          console.log(request['http.route']);
          server.close();
        });
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      await once(child, 'exit');
      assert.equal(out.trim(), '/tenants/:tenant/items/:id');
    });
  });

  describe(`${version}: a body parser mounted before the middleware`, () => {
    // The README's order used to be this one: a body the parser refuses never reaches the middlewares after it,
    // only the error handlers, so vigilErrorHandler records the request. One app's error handler is given the
    // client; the other's finds it on the app.
    const apps: TestApp[] = [];

    before(async () => {
      const express: Express = await load();
      for (const given of [true, false]) {
        const app = await startTestApp({ service: 'express-parser-first' }, (vigil) => {
          const app = express();
          app.use(express.json());
          app.use(vigilExpress(vigil));
          app.post('/orders/:id', (_req: Express, res: Express) => res.status(201).end());
          app.use(given ? vigilErrorHandler(vigil) : vigilErrorHandler());
          app.use((error: Express, _req: Express, res: Express, _next: unknown) => {
            res.status(error?.status ?? 500).json({ error: 'failed' });
          });
          return createServer(app);
        });
        apps.push(app);
      }
    });

    after(async () => {
      for (const app of apps) await app.close();
    });

    test('a malformed JSON body: http_request 400 and input_validation_fail, with the client given or found', async () => {
      for (const [i, app] of apps.entries()) {
        const events = await app.receiver.call(app.url, '/orders/7', `parser-first-${i}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"card": "4111111111111111", oops',
        });
        const request = events.find((e) => e.type === 'http_request')!;
        assert.equal(request['http.response.status_code'], 400);
        assert.equal(request['url.path'], '/orders/7');
        assert.equal('http.route' in request, false, 'no route ran');
        assert.equal(request['client.address'], '127.0.0.1');
        const invalid = events.find((e) => e.type === 'input_validation_fail')!;
        assert.equal(invalid['vigil.validation.name'], 'body-parser');
        assert.equal(invalid['vigil.input.name'], 'body');
        assert.ok(!app.receiver.allText.includes('4111111111111111'));
      }
      // A well-formed request is recorded once, by the middleware as usual.
      const events = await apps[1]!.receiver.call(apps[1]!.url, '/orders/8', 'parser-first-ok', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.deepEqual(
        events.map((e) => [e.type, e['http.response.status_code'], e['http.route']]),
        [['http_request', 201, '/orders/:id']],
      );
    });
  });
}

/**
 * Routers mounted on a pattern: `req.baseUrl` holds the text the request matched (`/tenants/acme`), and the template
 * must hold the pattern (`/tenants/:tid`), at every level of nesting.
 */
function buildMountApp(express: Express, vigil: Vigil, major: number) {
  const ok = (_req: Express, res: Express) => res.send('ok');
  const app = express();
  // Built before the middleware exists: a router with a mount on a pattern of its own.
  const notes = express.Router();
  notes.get('/notes/:note', ok);
  const library = express.Router();
  library.use('/books/:book', notes);
  app.use(vigilExpress(vigil));
  app.use('/library', library);

  const tenant = express.Router();
  tenant.get('/users/items/:item', ok);
  tenant.get(['/invites/:invite', '/joins/:invite'], ok);
  tenant.get('/boom', () => {
    throw new SecretError('tenant failed');
  });
  app.use('/tenants/:tid', tenant);

  const project = express.Router();
  project.get('/tasks/:task', ok);
  const org = express.Router();
  org.use('/projects/:project', project);
  app.use('/orgs/:org', org);

  // Static mounts inside and around a mount on a pattern.
  const audit = express.Router();
  audit.get('/audit/:entry', ok);
  const tenantAdmin = express.Router();
  tenantAdmin.use('/admin', audit);
  const v1 = express.Router();
  v1.use('/tenants/:tid', tenantAdmin);
  v1.get('/health/:probe', ok);
  app.use('/v1', v1);

  const shop = express.Router();
  shop.get('/items/:item', ok);
  app.use(['/shops/:shop', '/stores/:store'], shop);

  // Wildcards: Express 4 writes `*`, Express 5 (path-to-regexp 8) a named `*rest`. The second is under a static mount.
  const files = express.Router();
  files.get('/', ok);
  app.use(major >= 5 ? '/files/*rest' : '/files/*', files);
  const page = express.Router();
  page.get('/', ok);
  const docs = express.Router();
  docs.use(major >= 5 ? '/*path' : '/*', page);
  app.use('/docs', docs);

  const version = express.Router();
  version.get('/status', ok);
  app.use(/^\/v(\d+)/, version);
  const build = express.Router();
  build.get('/status', ok);
  app.use(/^\/b\d+/, build);

  const invoices = express.Router({ mergeParams: true });
  invoices.get('/invoices/:invoice', (req: Express, res: Express) => res.json(req.params));
  app.use('/accounts/:account', invoices);

  // A sub-app mounted on a pattern, with a mount on a pattern of its own.
  const reports = express.Router();
  reports.get('/reports/:report', ok);
  const regional = express();
  regional.use('/regions/:region', reports);
  app.use('/companies/:company', regional);

  // A param callback that waits, for one value: another request matches the same mount meanwhile.
  const pages = express.Router();
  pages.get('/pages/:page', async (_req: Express, res: Express) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    res.send('page');
  });
  const sites = express.Router();
  sites.param('site', (_req: Express, _res: Express, next: () => void, site: string) => {
    setTimeout(next, site === 'slow-site' ? 60 : 1);
  });
  sites.use('/sites/:site', pages);
  app.use(sites);

  // An error handler mounted on the pattern of the router the error came from.
  app.use('/tenants/:tid', (_error: unknown, _req: Express, res: Express, _next: unknown) => {
    res.status(500).send('failed');
  });
  return app;
}

for (const [version, major, load] of [
  ['express 5', 5, async () => (await import('express')).default],
  [
    'express 4',
    4,
    async () => {
      const name = 'express4';
      return (await import(name)).default;
    },
  ],
] as const) {
  describe(`${version}: routers mounted on patterns`, () => {
    let express: Express;
    let expressApp: Express;
    let app: TestApp;
    let counter = 0;

    before(async () => {
      express = await load();
      app = await startTestApp({ accessParams: true }, (vigil) => {
        expressApp = buildMountApp(express, vigil, major);
        return createServer(expressApp);
      });
    });

    after(() => app.close());

    /** The events of one request to the app. */
    async function call(path: string) {
      const events = await app.receiver.call(app.url, path, `mount-${major}-${++counter}`);
      return { events, request: events.find((e) => e.type === 'http_request')! };
    }

    const routeOf = async (path: string) => (await call(path)).request['http.route'];

    test('a router mounted on a parameter: the parameter’s pattern, not its value', async () => {
      const { request } = await call('/tenants/acme/users/items/42');
      assert.equal(request['http.route'], '/tenants/:tid/users/items/:item');
      assert.equal(request['url.path'], '/tenants/acme/users/items/42');
      assert.equal(await routeOf('/tenants/globex/users/items/7'), '/tenants/:tid/users/items/:item');
    });

    test('nested routers with parameters at two levels', async () => {
      assert.equal(await routeOf('/orgs/o-1/projects/p-2/tasks/3'), '/orgs/:org/projects/:project/tasks/:task');
    });

    test('static mounts keep their path, inside and around a mount on a pattern', async () => {
      assert.equal(await routeOf('/v1/tenants/acme/admin/audit/9'), '/v1/tenants/:tid/admin/audit/:entry');
      assert.equal(await routeOf('/v1/health/db'), '/v1/health/:probe');
    });

    test('a router mounted on an array of paths: the path that matched', async () => {
      assert.equal(await routeOf('/shops/s-1/items/5'), '/shops/:shop/items/:item');
      assert.equal(await routeOf('/stores/s-2/items/6'), '/stores/:store/items/:item');
    });

    test('a route on an array of paths in a router mounted on a pattern: the mount’s pattern and the path matched', async () => {
      assert.equal(await routeOf('/tenants/acme/joins/9'), '/tenants/:tid/joins/:invite');
    });

    test('a router mounted on a wildcard, at the top and under a static mount', async () => {
      const files = major >= 5 ? '/files/*rest' : '/files/*';
      assert.equal(await routeOf('/files/a/b.txt'), files);
      assert.equal(await routeOf('/files/c'), files);
      assert.equal(await routeOf('/docs/guide/intro'), major >= 5 ? '/docs/*path' : '/docs/*');
    });

    test('a router mounted on a regular expression: its text with groups as `*`, else the expression', async () => {
      assert.equal(await routeOf('/v2/status'), '/v*/status');
      assert.equal(await routeOf('/v17/status'), '/v*/status');
      assert.equal(await routeOf('/b123/status'), '/^\\/b\\d+//status');
    });

    test('mergeParams: the template names the merged parameter, so object_access gets its type', async () => {
      const { events, request } = await call('/accounts/acme/invoices/7');
      assert.equal(request['http.route'], '/accounts/:account/invoices/:invoice');
      assert.deepEqual(
        events
          .filter((e) => e.type === 'object_access')
          .map((e) => [e['vigil.object.type'], e['vigil.object.id']])
          .sort(),
        [
          ['accounts', 'acme'],
          ['invoices', '7'],
        ],
      );
    });

    test('a sub-app mounted on a parameter, with a mount on a parameter inside', async () => {
      assert.equal(
        await routeOf('/companies/c-9/regions/eu/reports/r-1'),
        '/companies/:company/regions/:region/reports/:report',
      );
    });

    test('routers built before the middleware was created', async () => {
      assert.equal(await routeOf('/library/books/b-7/notes/3'), '/library/books/:book/notes/:note');
    });

    test('a router mounted after the app served requests', async () => {
      await call('/tenants/acme/users/items/1');
      const late = express.Router();
      late.get('/entries/:entry', (_req: Express, res: Express) => res.send('late'));
      expressApp.use('/journals/:journal', late);
      assert.equal(await routeOf('/journals/j-1/entries/2'), '/journals/:journal/entries/:entry');
    });

    test('an error handler mounted on the pattern: the route with the pattern', async () => {
      const { request } = await call('/tenants/acme/boom');
      assert.equal(request['http.response.status_code'], 500);
      assert.equal(request['http.route'], '/tenants/:tid/boom');
    });

    test('two concurrent requests for different values get the same template', async () => {
      // The slow one waits in its param callback while the other matches the same mount and answers.
      const slow = call('/sites/slow-site/pages/1');
      await new Promise((resolve) => setTimeout(resolve, 15));
      const fast = call('/sites/s2/pages/2');
      const [a, b] = await Promise.all([slow, fast]);
      assert.equal(a.request['url.path'], '/sites/slow-site/pages/1');
      assert.equal(a.request['http.route'], '/sites/:site/pages/:page');
      assert.equal(b.request['http.route'], '/sites/:site/pages/:page');
    });
  });
}
