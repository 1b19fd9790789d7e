import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectHttp2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify5, { type FastifyInstance } from 'fastify';
import Fastify4 from 'fastify4';
import { createVigil, type Vigil } from '../index.js';
import { Receiver, TEST_TOKEN } from '../testing/receiver.js';
import { vigilFastify } from './fastify.js';

class PaymentGatewayError extends Error {}

// The same suite runs against Fastify 5 and Fastify 4 (the `fastify4` alias).
for (const [version, Fastify] of [
  ['5', Fastify5],
  ['4', Fastify4 as unknown as typeof Fastify5],
] as const) {
  describe(`fastify ${version} adapter`, () => {
    let receiver: Receiver;
    let vigil: Vigil;
    let app: FastifyInstance;
    let url: string;

    before(async () => {
      receiver = await Receiver.start();
      vigil = createVigil({
        endpoint: receiver.url,
        token: TEST_TOKEN,
        service: 'fastify-test',
        flushIntervalMillis: 5,
        flushOnExit: false,
      });
      app = Fastify();
      await app.register(vigilFastify(vigil));
      app.addHook('preHandler', async (request) => {
        const user = request.headers['x-test-user'];
        if (typeof user === 'string') (request as unknown as { user: unknown }).user = { sub: user, role: 'admin' };
      });
      app.get('/accounts/:id', async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        vigil.sensitive.read(undefined, (request.params as { id: string }).id);
        return { ok: true };
      });
      app.get('/pay', async () => {
        throw new PaymentGatewayError('gateway said card 4111111111111111 declined');
      });
      const page = { querystring: { type: 'object', properties: { page: { type: 'integer', minimum: 1 } } } };
      app.get('/list', { schema: page }, async () => ({ items: [] }));
      app.post('/orders', async () => ({ ok: true }));
      // attachValidation: the route is handed the error and answers itself; with or without the helper, one event.
      app.get('/list-attached', { schema: page, attachValidation: true }, async (request, reply) => {
        if (!request.validationError) return { items: [] };
        if (request.headers['x-helper']) vigil.input.fromError(request.validationError);
        return reply.code(400).send({ error: 'bad page' });
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });

    after(async () => {
      await app.close();
      await vigil.close();
      await receiver.close();
    });

    const call = (path: string, requestId: string, headers: Record<string, string> = {}) =>
      receiver.call(url, path, requestId, { headers });

    test('a path Fastify refuses before any hook (a malformed escape: FST_ERR_BAD_URL) is recorded', async () => {
      const response = await fetch(`${url}/accounts/%zz`, { headers: { 'x-request-id': `bad-url-${version}` } });
      assert.equal(response.status, 400);
      await receiver.waitFor(() => receiver.events.some((e) => e['http.request.id'] === `bad-url-${version}`));
      const request = receiver.events.find((e) => e['http.request.id'] === `bad-url-${version}`)!;
      assert.equal(request.type, 'http_request');
      assert.equal(request['http.response.status_code'], 400);
      assert.equal(request['url.path'], '/accounts/%zz');
      assert.equal('http.route' in request, false);
      // Every other request is recorded once, by the hooks.
      await call('/accounts/9', `once-${version}`);
      await vigil.flush();
      assert.equal(receiver.events.filter((e) => e['http.request.id'] === `once-${version}`).length, 2);
    });

    test('registered twice (at the root and in a child plugin): each request is recorded once', async () => {
      const twice = Fastify();
      await twice.register(vigilFastify(vigil));
      await twice.register(async (child) => {
        await child.register(vigilFastify(vigil));
        child.get('/twice/:id', async () => ({ ok: true }));
      });
      await twice.listen({ port: 0, host: '127.0.0.1' });
      try {
        const base = `http://127.0.0.1:${(twice.server.address() as AddressInfo).port}`;
        await receiver.call(base, '/twice/1', `twice-${version}`);
        await vigil.flush();
        const requests = receiver.events.filter(
          (e) => e.type === 'http_request' && e['http.request.id'] === `twice-${version}`,
        );
        assert.equal(requests.length, 1);
        assert.equal(requests[0]!['http.route'], '/twice/:id');
      } finally {
        await twice.close();
      }
    });

    test('route template from routeOptions.url, principal from request.user, context in async handlers', async () => {
      const events = await call('/accounts/77', 'fastify-1', { 'x-test-user': 'u5' });
      const request = events.find((e) => e.type === 'http_request')!;
      assert.equal(request['http.route'], '/accounts/:id');
      assert.equal(request['http.response.status_code'], 200);
      assert.equal(request['user.id'], 'u5');
      assert.deepEqual(request['user.roles'], ['admin']);
      const read = events.find((e) => e.type === 'sensitive_read')!;
      assert.equal(read['vigil.object.id'], '77');
      assert.equal(read['user.id'], 'u5');
      assert.equal(read['http.route'], '/accounts/:id');
    });

    test('an error thrown by a route records app_error with its class, never its message', async () => {
      const events = await call('/pay', 'fastify-2');
      const error = events.find((e) => e.type === 'app_error')!;
      assert.equal(error['error.type'], 'PaymentGatewayError');
      assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 500);
      assert.ok(!receiver.allText.includes('4111111111111111'));
      assert.ok(!receiver.allText.includes('declined'));
    });

    test('a schema error records input_validation_fail naming the input and rule, not app_error', async () => {
      for (const [path, id, headers] of [
        ['/list?page=0', 'fastify-4', {}],
        ['/list-attached?page=0', 'fastify-5', {}],
        ['/list-attached?page=0', 'fastify-6', { 'x-helper': '1' }],
      ] as const) {
        const events = await call(path, id, headers);
        assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 400, id);
        const others = events.filter((e) => e.type !== 'http_request');
        assert.deepEqual(
          others.map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name'], e['vigil.validation.rules']]),
          [['input_validation_fail', 'fastify', 'query.page', ['minimum']]],
          id,
        );
      }
    });

    test('a JSON body that does not parse: 400 and input_validation_fail for the body, never its text', async () => {
      const events = await receiver.call(url, '/orders', 'fastify-7', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"card": "4111111111111111", oops',
      });
      assert.equal(events.find((e) => e.type === 'http_request')!['http.response.status_code'], 400);
      const others = events.filter((e) => e.type !== 'http_request');
      // Fastify 5 names the error (FST_ERR_CTP_INVALID_JSON_BODY); Fastify 4 passes on the parser's SyntaxError.
      const named = version === '5' ? ['fastify', ['json']] : ['json', ['parse']];
      assert.deepEqual(
        others.map((e) => [e.type, e['vigil.validation.name'], e['vigil.input.name'], e['vigil.validation.rules']]),
        [['input_validation_fail', named[0], 'body', named[1]]],
      );
      assert.ok(!receiver.allText.includes('4111111111111111'));
    });

    test('a 404 has no route template, and reading it raises no deprecation warning', async () => {
      const warnings: string[] = [];
      const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? warning.name);
      process.on('warning', onWarning);
      try {
        const events = await call('/missing', 'fastify-3');
        const request = events.find((e) => e.type === 'http_request')!;
        assert.equal(request['http.response.status_code'], 404);
        assert.equal('http.route' in request, false);
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(warnings, []);
      } finally {
        process.off('warning', onWarning);
      }
    });

    test('with http2: true, the route, the status and a body size counted once', async () => {
      const h2 = Fastify({ http2: true });
      await h2.register(vigilFastify(vigil));
      h2.get('/items/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      await h2.listen({ port: 0, host: '127.0.0.1' });
      const session = connectHttp2(`http://127.0.0.1:${(h2.server.address() as AddressInfo).port}`);
      try {
        const stream = session.request({ ':path': '/items/42', 'x-request-id': `fastify-h2-${version}` });
        stream.resume();
        stream.end();
        await once(stream, 'end');
        await receiver.waitFor(() => receiver.events.some((e) => e['http.request.id'] === `fastify-h2-${version}`));
        const request = receiver.events.find((e) => e['http.request.id'] === `fastify-h2-${version}`)!;
        assert.equal(request['http.route'], '/items/:id');
        assert.equal(request['http.response.status_code'], 200);
        assert.equal(request['http.response.body.size'], '{"id":"42"}'.length);
      } finally {
        session.close();
        await h2.close();
      }
    });
  });
}
